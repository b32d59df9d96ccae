"""The control table's request schemas are what the fake enforces (``fakeding.core.json_check``):
for many bodies built from each route's example, our checker and the reference JSON Schema
validator (``jsonschema``, Draft 2020-12, over the served OpenAPI document's schema) agree on
accept or refuse, and every refusal names a field of the body and says what was expected."""

from __future__ import annotations

import copy
import random
from typing import Any

import jsonschema
import pytest

from fakeding.core import json_check
from fakeding.core.control_spec import ROUTES, document
from fakeding.core.exceptions import ControlError

BODY_ROUTES = [r for r in ROUTES if r.body is not None]
IDS = [f"{r.method} {r.path}" for r in BODY_ROUTES]
# JSON values of every type and the edges the table's schemas draw (empty, whole floats, bounds)
POOL: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    7,
    2.0,
    1.5,
    "",
    "x",
    "group",
    "CALLBACK",
    "a" * 300,
    [],
    ["alice"],
    [""],
    [1],
    {},
    {"id": "c", "type": "single"},
    {"staffId": "bob"},
    {"k": 1},
]


def _documented(method: str, path: str) -> dict[str, Any]:
    op = document()["paths"][path][method.lower()]
    schema: dict[str, Any] = op["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _paths(schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every property path the schema names (``conversation``, ``conversation.id``, ...)."""
    out = []
    for name, sub in schema.get("properties", {}).items():
        out.append((*prefix, name))
        out += _paths(sub, (*prefix, name))
    return out


def _mutate(body: dict[str, Any], paths: list[tuple[str, ...]], rng: random.Random) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(paths)
        *parents, leaf = path
        node: Any = body
        for p in parents:
            if not isinstance(node, dict):
                break
            node = node.setdefault(p, {})
        if not isinstance(node, dict):
            continue
        move = rng.random()
        if move < 0.2:
            node.pop(leaf, None)
        elif move < 0.3:
            node["unknownKey"] = rng.choice(POOL)
        else:
            node[leaf] = copy.deepcopy(rng.choice(POOL))
    return body


@pytest.mark.parametrize("route", BODY_ROUTES, ids=IDS)
def test_every_keyword_of_a_request_schema_is_enforced(route: Any) -> None:
    assert json_check.unsupported(route.body) == []


@pytest.mark.parametrize("route", BODY_ROUTES, ids=IDS)
def test_the_checker_agrees_with_json_schema_on_the_documented_schema(route: Any) -> None:
    schema = _documented(route.method, route.path)
    assert schema == route.body  # what is documented is what the server checks
    reference = jsonschema.Draft202012Validator(schema)
    paths = _paths(schema)
    rng = random.Random(f"{route.method} {route.path}")
    bodies = [route.example or {}, route.bad or {}, {}] + [
        _mutate(route.example or {}, paths, rng) for _ in range(400)
    ]
    verdicts = {True: 0, False: 0}
    for body in bodies:
        valid = reference.is_valid(body)
        try:
            json_check.check(schema, body)
        except ControlError as exc:
            assert not valid, f"refused what the schema accepts: {body!r}: {exc}"
            top = exc.field.split(".")[0].split("[")[0]
            assert top in body or top in schema.get("required", []), (exc.field, body)
            assert "expected" in str(exc) and str(exc).startswith(f"{exc.field}: "), str(exc)
        else:
            assert valid, f"accepted what the schema refuses: {body!r}: {reference.iter_errors(body)}"
        verdicts[valid] += 1
    assert verdicts[True] and verdicts[False], verdicts  # both sides were exercised


@pytest.mark.parametrize(
    ("schema", "value", "field", "message"),
    [
        (
            {
                "type": "object",
                "required": ["conversation"],
                "properties": {
                    "conversation": {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "string"}, "title": {}},
                    }
                },
            },
            {},
            "conversation",
            "expected an object {id, title?}, found nothing (it is required)",
        ),
        (
            {
                "type": "object",
                "properties": {"atUsers": {"type": "array", "items": {"type": "string", "minLength": 1}}},
            },
            {"atUsers": ["a", ""]},
            "atUsers[1]",
            "expected a non-empty string, found ''",
        ),
        (
            {
                "type": "object",
                "properties": {"n": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]}},
            },
            {"n": "many"},
            "n",
            "expected a whole number >= 0 or null, found 'many'",
        ),
        (
            {
                "type": "object",
                "x-key-noun": "setting",
                "additionalProperties": False,
                "properties": {"a": {"type": "number"}, "b": {"type": "boolean"}},
            },
            {"c": 1},
            "c",
            "no such setting; expected one of a, b",
        ),
        (
            {
                "type": "object",
                "x-key-noun": "setting",
                "properties": {"a": {"type": "number", "minimum": 0}},
            },
            {"a": None},
            "a",
            "expected a number >= 0, found null (this setting cannot be switched off)",
        ),
        ({"enum": ["group", "single"]}, "channel", "body", "expected one of group, single, found 'channel'"),
        ({"type": "boolean"}, 1, "body", "expected true or false, found 1"),
    ],
)
def test_errors_name_the_field_and_say_expected_and_found(
    schema: dict[str, Any], value: Any, field: str, message: str
) -> None:
    with pytest.raises(ControlError) as caught:
        json_check.check(schema, value)
    assert (caught.value.field, str(caught.value)) == (field, f"{field}: {message}")


def test_a_whole_float_is_an_integer_and_true_is_not_one() -> None:
    json_check.check({"type": "integer"}, 2.0)
    for value in (True, 2.5, "2"):
        with pytest.raises(ControlError):
            json_check.check({"type": "integer"}, value)
    with pytest.raises(ControlError):
        json_check.check({"enum": [1]}, True)


def test_a_keyword_the_checker_does_not_know_is_reported() -> None:
    assert json_check.unsupported({"type": "object", "properties": {"a": {"pattern": "x"}}}) == [
        "$.properties.a.pattern"
    ]


def _passes(schema: dict[str, Any], value: Any) -> bool:
    try:
        json_check.check(schema, value)
    except ControlError:
        return False
    return True


def _subschemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    out = [schema]
    subs = [*schema.get("properties", {}).values(), *schema.get("anyOf", [])]
    subs += [schema[k] for k in ("items", "additionalProperties") if isinstance(schema.get(k), dict)]
    for sub in subs:
        out += _subschemas(sub)
    return out


EDGE_SCHEMAS: list[dict[str, Any]] = [
    {"type": "integer"},
    {"type": ["integer", "null"], "minimum": 0},
    {"enum": [1, True]},
    {"enum": ["a", "b"], "type": "string", "maxLength": 1},
    {"const": False},
    {"type": "array", "items": {"type": "string", "minLength": 1}},
    {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}], "properties": {"a": {"type": "null"}}},
    {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "number"}}},
    {"type": "object", "additionalProperties": {"type": "boolean"}, "required": ["z"]},
]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=IDS)
def test_accepts_passes_exactly_what_check_passes(route: Any) -> None:
    paths = _paths(route.body)
    rng = random.Random(f"accepts {route.method} {route.path}")
    bodies = [route.example or {}, route.bad or {}, {}, *POOL]
    bodies += [_mutate(route.example or {}, paths, rng) for _ in range(400)]
    passes = json_check.accepts(route.body)
    assert any(map(passes, bodies)) and not all(map(passes, bodies))
    for body in bodies:
        assert passes(body) == _passes(route.body, body), body
    for sub in _subschemas(route.body):
        for value in POOL:
            assert json_check.accepts(sub)(value) == _passes(sub, value), (sub, value)


@pytest.mark.parametrize("schema", EDGE_SCHEMAS, ids=range(len(EDGE_SCHEMAS)))
def test_accepts_agrees_with_check_on_the_edges(schema: dict[str, Any]) -> None:
    values = [*POOL, 1, 0.0, -0.5, "a", "b", "ab", {"a": None}, {"z": True}, {"z": 1}, {"a": 1, "z": False}]
    for value in values:
        assert json_check.accepts(schema)(value) == _passes(schema, value), value
