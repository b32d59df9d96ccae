"""Every setting from any language: reading and changing ``Settings`` by name, with JSON values.

Why: a Node or Go robot's test cannot call Python to shorten the redelivery delay or lift a
limit. The same checks serve ``GET/PATCH /_fakeding/settings``, ``fakeding serve --set`` and
``--config``, and the apps a config file registers; errors name the setting and say what was
expected and what was found. The types come from the ``Settings`` dataclass itself, so a new
field is a new knob everywhere at once.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from . import jsonsafe
from .exceptions import ControlError
from .settings import Settings

FIXED = ("host",)  # bound when the servers start: a flag of `serve`, not a run-time knob
CHOICES: dict[str, tuple[str, ...]] = {"second_connection": ("balance", "kick", "refuse")}


@dataclasses.dataclass(frozen=True)
class Knob:
    name: str
    kind: str  # "number" | "integer" | "boolean" | "string" | "object"
    nullable: bool
    default: Any

    def schema(self) -> dict[str, Any]:
        base: dict[str, Any] = {"type": self.kind}
        if self.kind in ("number", "integer"):
            base["minimum"] = 0
        if self.nullable:
            return {"anyOf": [base, {"type": "null"}], "default": self.default}
        return {**base, "default": self.default}


def _kind(annotation: str) -> tuple[str, bool]:
    parts = [p.strip() for p in annotation.split("|")]
    nullable = "None" in parts
    (base,) = [p for p in parts if p != "None"]
    kinds = {"float": "number", "int": "integer", "bool": "boolean", "str": "string"}
    return kinds.get(base, "object" if base.startswith("dict") else base), nullable


def knobs() -> dict[str, Knob]:
    """Every setting by name, in declaration order."""
    out: dict[str, Knob] = {}
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        kind, nullable = _kind(str(f.type))
        out[f.name] = Knob(f.name, kind, nullable, getattr(defaults, f.name))
    return out


def check_value(knob: Knob, value: Any) -> Any:
    """``value`` as the setting takes it; ``ControlError`` naming the setting otherwise."""
    if value is None:
        if knob.nullable:
            return None
        raise ControlError(knob.name, f"expected a {knob.kind}, found null (this rule cannot "
                                      "be switched off)")
    if knob.kind == "boolean":
        if isinstance(value, bool):
            return value
        raise ControlError(knob.name, f"expected true or false, found {value!r}")
    if knob.kind in ("number", "integer"):
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if (isinstance(value, bool) or not isinstance(value, int | float) or value < 0
                or (knob.kind == "integer" and not whole)):
            want = "a whole number >= 0" if knob.kind == "integer" else "a number >= 0"
            raise ControlError(knob.name, f"expected {want}{' or null' if knob.nullable else ''}, "
                                          f"found {value!r}")
        return int(value) if knob.kind == "integer" else float(value)
    if knob.kind == "string":
        choices = CHOICES.get(knob.name)
        if isinstance(value, str) and (choices is None or value in choices):
            return value
        if choices is not None:
            raise ControlError(knob.name, f"expected one of {', '.join(choices)}, found {value!r}")
        raise ControlError(knob.name, f"expected a string, found {value!r}")
    if isinstance(value, dict):
        return value
    raise ControlError(knob.name, f"expected an object, found {value!r}")


def check_changes(changes: dict[str, Any], *, allow_fixed: bool = False) -> dict[str, Any]:
    """Validate a ``{name: value}`` mapping of setting changes."""
    table = knobs()
    out: dict[str, Any] = {}
    for name, value in changes.items():
        knob = table.get(name)
        if knob is None or (name in FIXED and not allow_fixed):
            known = ", ".join(k for k in table if allow_fixed or k not in FIXED)
            raise ControlError(name, f"no such setting; expected one of {known}")
        out[name] = check_value(knob, value)
    return out


def view(settings: Settings) -> dict[str, Any]:
    """The settings as JSON: every knob by name."""
    return {name: getattr(settings, name) for name in knobs()}


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` from ``--set``: the value is JSON when it parses (``30``, ``null``,
    ``true``, ``{"a": 1}``), else the text itself."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise ControlError("--set", f"expected KEY=VALUE, found {text!r}")
    try:  # strict: ``x=NaN`` stays the text "NaN", which the setting's check then names
        value: Any = jsonsafe.loads(raw, what=name)
    except jsonsafe.BadJson:
        value = raw
    return name.strip(), value


def load_config(path: Path) -> dict[str, Any]:
    """A ``.toml`` or ``.json`` file of settings (top-level keys) and optional ``apps``."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ControlError("--config", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text.decode())
        elif path.suffix == ".json":
            data = jsonsafe.loads(text, what=str(path))
        else:
            raise ControlError("--config", f"expected a .toml or .json file, found {path.name!r}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ControlError("--config", f"{path} does not parse: {exc}") from None
    if not isinstance(data, dict):
        raise ControlError("--config", f"{path}: expected a table/object at the top, "
                                       f"found {type(data).__name__}")
    return data


def check_app(spec: Any, where: str = "") -> dict[str, Any]:
    """An app registration ``{clientId, clientSecret, scopes?, robotCode?, callbackUrl?}`` as
    keyword arguments of ``add_app``."""
    if not isinstance(spec, dict):
        raise ControlError(where or "body", f"expected an object {{clientId, clientSecret, ...}}, "
                                            f"found {spec!r}")
    known = {"clientId", "clientSecret", "scopes", "robotCode", "callbackUrl"}
    extra = sorted(set(spec) - known)
    if extra:
        raise ControlError(f"{where}{extra[0]}", f"unknown key; expected {', '.join(sorted(known))}")
    out: dict[str, Any] = {}
    for key in ("clientId", "clientSecret"):
        value = spec.get(key)
        if not isinstance(value, str) or not value:
            raise ControlError(f"{where}{key}", f"expected a non-empty string, found {value!r}")
        out[key] = value
    scopes = spec.get("scopes")
    if scopes is not None and (not isinstance(scopes, list)
                               or not all(isinstance(s, str) for s in scopes)):
        raise ControlError(f"{where}scopes", f"expected a list of scope names, found {scopes!r}")
    for key in ("robotCode", "callbackUrl"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise ControlError(f"{where}{key}", f"expected a non-empty string, found {value!r}")
    return {"client_id": out["clientId"], "client_secret": out["clientSecret"], "scopes": scopes,
            "robot_code": spec.get("robotCode"), "callback_url": spec.get("callbackUrl")}
