"""A check of a JSON value against the small subset of JSON Schema the control table uses.

Why: the control routes' request schemas (``fakeding.core.control_spec.ROUTES``) are documented
in the OpenAPI document; checking bodies against those same schemas makes the document the
validation, so the two cannot drift. The core may not import ``jsonschema``, and its messages
would not be ours: each error here names the field (``conversation.id``, ``atUsers[2]``), says
what was expected in words (a schema's ``title`` when it has one) and what was found.

Supported keywords: ``type`` (one or a list), ``enum``, ``const``, ``anyOf``, ``properties``,
``required``, ``additionalProperties`` (false or a schema), ``items``, ``minimum``, ``maximum``,
``minLength``, ``maxLength``; annotations (``title``, ``description``, ``default``) and
``x-key-noun`` (what an object's keys are called in messages: "no such setting"). A schema with
any other keyword is refused by ``unsupported``, which a test runs over the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fakeding.core.exceptions import ControlError
from fakeding.core.jsonsafe import echo

Schema = dict[str, Any]

CHECKED = frozenset(
    {
        "type",
        "enum",
        "const",
        "anyOf",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
    }
)
ANNOTATIONS = frozenset({"title", "description", "default", "x-key-noun"})


def unsupported(schema: Any, where: str = "$") -> list[str]:
    """Every keyword in ``schema`` (and its sub-schemas) this checker does not enforce."""
    if not isinstance(schema, dict):
        return [f"{where}: not a schema"]
    out = [f"{where}.{k}" for k in schema if k not in CHECKED | ANNOTATIONS]
    for name, sub in schema.get("properties", {}).items():
        out += unsupported(sub, f"{where}.properties.{name}")
    for i, sub in enumerate(schema.get("anyOf", [])):
        out += unsupported(sub, f"{where}.anyOf[{i}]")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out += unsupported(schema[key], f"{where}.{key}")
    return out


def check(schema: Schema, value: Any, field: str = "body") -> None:
    """Raise ``ControlError(field, "expected …, found …")`` for the first place ``value``
    breaks ``schema``; properties are checked in the schema's order, then unknown keys."""
    problem = _problem(schema, value, field, "")
    if problem is not None:
        raise ControlError(*problem)


def accepts(schema: Schema) -> Callable[[Any], bool]:
    """A predicate true exactly where ``check(schema, value)`` passes, with the schema's
    keywords looked up once: a control route checks every body against the same schema, and
    only a refusal needs ``check``'s words. ``schema`` must not change afterwards."""
    shallow = _shallow(schema)
    if "anyOf" in schema:  # as ``_problem``: one branch must pass; other keywords' insides are not walked
        branches = tuple(accepts(s) for s in schema["anyOf"])
        return lambda value: shallow(value) and any(b(value) for b in branches)
    items = schema.get("items")
    each = accepts(items) if isinstance(items, dict) else None
    fields = _object(schema) if "properties" in schema or "additionalProperties" in schema else None

    def accept(value: Any) -> bool:
        if not shallow(value):
            return False
        if fields is not None and isinstance(value, dict):
            return fields(value)
        if each is not None and isinstance(value, list):
            return all(map(each, value))
        return True

    return accept


def _object(schema: Schema) -> Callable[[dict[str, Any]], bool]:
    """``_object_problem(...) is None`` as a predicate."""
    props = {name: accepts(sub) for name, sub in schema.get("properties", {}).items()}
    required = set(schema.get("required", []))
    extra = schema.get("additionalProperties", True)
    other = accepts(extra) if isinstance(extra, dict) else None

    def accept(value: dict[str, Any]) -> bool:
        if not value.keys() >= required:
            return False
        for name, item in value.items():
            test = props.get(name)
            if test is None:
                if extra is False or (other is not None and not other(item)):
                    return False
            elif not test(item):
                return False
        return True

    return accept


_PLAIN_TYPES: dict[str, type] = {
    "null": type(None),
    "boolean": bool,
    "string": str,
    "object": dict,
    "array": list,
}


def _shallow(schema: Schema) -> Callable[[Any], bool]:
    """``_matches_shallow`` of ``schema`` without its ``anyOf``, as a predicate: types, string
    enums and lengths are decided here, anything else (numbers, ``const``) as ``_matches_shallow``."""
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    enum = schema.get("enum")
    general = "const" in schema or "minimum" in schema or "maximum" in schema
    if general or (kinds is not None and not set(kinds) <= _PLAIN_TYPES.keys()):
        return lambda value: _matches_shallow(rest, value)
    if enum is not None and not all(type(e) is str for e in enum):
        return lambda value: _matches_shallow(rest, value)
    plain = None if kinds is None else tuple(_PLAIN_TYPES[k] for k in kinds)
    members = None if enum is None else frozenset(enum)
    low, high = schema.get("minLength", 0), schema.get("maxLength")

    def shallow(value: Any) -> bool:
        if members is not None:
            if type(value) is not str:  # equal to a string member only in odd cases: the full rule
                return _matches_shallow(rest, value)
            if value not in members:
                return False
        if plain is not None and not isinstance(value, plain):
            return False
        if isinstance(value, str):
            return len(value) >= low and (high is None or len(value) <= high)
        return True

    return shallow


def _problem(schema: Schema, value: Any, field: str, noun: str) -> tuple[str, str] | None:
    if not _matches_shallow(schema, value):
        found = "null" if value is None else echo(value)
        tail = f" (this {noun} cannot be switched off)" if value is None and noun else ""
        return field, f"expected {expected(schema)}, found {found}{tail}"
    if "anyOf" in schema:
        branches = [s for s in schema["anyOf"] if _matches_shallow(s, value)]
        inner = [_problem(s, value, field, noun) for s in branches]
        if any(p is None for p in inner):
            return None
        return inner[0]
    if isinstance(value, dict) and ("properties" in schema or "additionalProperties" in schema):
        return _object_problem(schema, value, field)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problem = _problem(schema["items"], item, f"{field}[{i}]", "")
            if problem is not None:
                return problem
    return None


def _object_problem(schema: Schema, value: dict[str, Any], field: str) -> tuple[str, str] | None:
    props: dict[str, Schema] = schema.get("properties", {})
    required = set(schema.get("required", []))
    noun = schema.get("x-key-noun", "field")
    prefix = "" if field == "body" else f"{field}."
    for name, sub in props.items():
        if name not in value:
            if name in required:
                return f"{prefix}{name}", f"expected {expected(sub)}, found nothing (it is required)"
            continue
        problem = _problem(sub, value[name], f"{prefix}{name}", noun if "x-key-noun" in schema else "")
        if problem is not None:
            return problem
    for name in required - set(props):
        if name not in value:
            return f"{prefix}{name}", "expected a value, found nothing (it is required)"
    extra = schema.get("additionalProperties", True)
    for name in value:
        if name in props:
            continue
        if extra is False:
            return f"{prefix}{name}", f"no such {noun}; expected one of {', '.join(props)}"
        if isinstance(extra, dict):
            problem = _problem(extra, value[name], f"{prefix}{name}", "")
            if problem is not None:
                return problem
    return None


def _is_type(kind: str, value: Any) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if kind == "integer":  # as JSON Schema counts: 2.0 is an integer
        return isinstance(value, int) or (math.isfinite(value) and value.is_integer())
    return kind == "number"


def _matches_shallow(schema: Schema, value: Any) -> bool:
    """Everything but what lies inside objects and lists (and inside ``anyOf`` branches)."""
    if "anyOf" in schema and not any(_matches_shallow(s, value) for s in schema["anyOf"]):
        return False
    kinds = schema.get("type")
    if kinds is not None and not any(
        _is_type(k, value) for k in ([kinds] if isinstance(kinds, str) else kinds)
    ):
        return False
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        return False
    if "const" in schema and not _same(value, schema["const"]):
        return False
    if _is_type("number", value):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return False
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _shown(value: Any) -> str:
    return "null" if value is None else str(value)


def expected(schema: Schema) -> str:
    """What ``schema`` accepts, in words: its ``title``, else built from its keywords."""
    if "title" in schema:
        return str(schema["title"])
    if "anyOf" in schema:
        return " or ".join(expected(s) for s in schema["anyOf"])
    if "const" in schema:
        return _shown(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(_shown(e) for e in schema["enum"])
    kinds = schema.get("type")
    if kinds is None:
        return "any JSON value"
    return " or ".join(_type_words(k, schema) for k in ([kinds] if isinstance(kinds, str) else kinds))


def _bounds(schema: Schema) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f" >= {low:g}"
    if high is not None:
        return f" <= {high:g}"
    return ""


def _type_words(kind: str, schema: Schema) -> str:
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if high is not None:
            return f"a string of {low}-{high} characters"
        return "a non-empty string" if low >= 1 else "a string"
    if kind == "integer":
        return "a whole number" + _bounds(schema)
    if kind == "number":
        return "a number" + _bounds(schema)
    if kind == "boolean":
        return "true or false"
    if kind == "null":
        return "null"
    if kind == "object":
        props = schema.get("properties", {})
        if not props:
            return "an object"
        required = set(schema.get("required", []))
        keys = [k if k in required else f"{k}?" for k in props]
        return "an object {" + ", ".join(keys) + "}"
    items = schema.get("items")
    if not isinstance(items, dict):
        return "a list"
    one = expected(items)
    for article in ("a ", "an "):
        if one.startswith(article) and one.endswith(("string", "object", "number")) and " or " not in one:
            return f"a list of {one[len(article) :]}s"
    return f"a list of values, each {one}"
