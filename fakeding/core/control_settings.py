"""Every setting from any language: reading and changing ``Settings`` by name, with JSON values.

Why: a Node or Go robot's test cannot call Python to shorten the redelivery delay or lift a
limit. The same checks serve ``GET/PATCH /_fakeding/settings``, the emulator's pane, ``fakeding
serve --set`` and ``--config``, and the apps a config file registers; errors name the setting and
say what was expected and what was found. The table itself is ``fakeding.core.settings`` (``knobs()``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from fakeding.core import json_check, jsonsafe
from fakeding.core.control_spec import APP_IN
from fakeding.core.exceptions import ControlError
from fakeding.core.settings import Knob, Settings, check_value, knobs

__all__ = ["Knob", "check_value", "knobs"]

# The table lives in ``fakeding.core.settings``; these names are kept for the modules that read them.
FIXED = tuple(k.name for k in knobs().values() if k.fixed)
CHOICES: dict[str, tuple[str, ...]] = {k.name: k.choices for k in knobs().values() if k.choices}


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
        raise ControlError(
            "--config", f"{path}: expected a table/object at the top, found {type(data).__name__}"
        )
    return data


def check_app(spec: Any, field: str = "body") -> dict[str, Any]:
    """An app registration ``{clientId, clientSecret, scopes?, robotCode?, callbackUrl?}`` as
    keyword arguments of ``add_app``, checked against the schema ``POST /_fakeding/apps``
    enforces (``control_spec.APP_IN``): a config file's ``[[apps]]`` and the route say the same."""
    json_check.check(APP_IN, spec, field)
    return {
        "client_id": spec["clientId"],
        "client_secret": spec["clientSecret"],
        "scopes": spec.get("scopes"),
        "robot_code": spec.get("robotCode"),
        "callback_url": spec.get("callbackUrl"),
    }
