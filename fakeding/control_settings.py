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


# What each setting does, in a line: the emulator's settings form shows it.
HELP = {
    "host": "where the servers bind (serve --host; not changeable at run time)",
    "seed": "seed of every generated id (reset may pass another)",
    "corp_id": "the organisation's corpId in payloads",
    "ticket_ttl": "seconds a Stream ticket stays valid",
    "redelivery_delay": "seconds before an un-acked callback is pushed again; null: never",
    "max_redeliveries": "how many times it is pushed again",
    "redelivery_new_message_id": "a redelivery carries a new headers.messageId",
    "system_ping_interval": "seconds between SYSTEM pings; null: none (scenarios default to none)",
    "ws_ping_interval": "seconds between websocket pings to each connection; null: none "
    "(scenarios default to none)",
    "ws_ping_timeout": "a connection that answers nothing this long after a websocket ping is "
    "cut, its un-acked messages redelivered elsewhere",
    "stream_send_buffer_bytes": "bytes that may wait to be sent to one connection; a client "
    "that lets more pile up is cut off with a violation; null: no "
    "limit",
    "disconnect_close_after": "seconds from a SYSTEM disconnect to the socket's close",
    "max_connections_per_app": "live Stream connections an app may hold before a violation "
    "names them (a leaked socket per reconnect); null: no limit",
    "card_callback_timeout": "seconds a card callback may take (Stream or HTTP)",
    "http_callback_timeout": "seconds an HTTP-mode robot may take to answer a message",
    "token_ttl": "access-token lifetime",
    "qps_limit": "calls per second per app per API; null: unlimited",
    "qps_routes": 'calls per second per app for one route, over qps_limit: {"PUT /v1.0/card/streaming": 40}',
    "webhook_ttl": "session-webhook lifetime",
    "webhook_per_minute": "webhook messages per minute per robot; null: unlimited",
    "enforce_scopes": "check each app's permission scopes",
    "card_param_value_max_bytes": "cardParamMap value size; null: unlimited",
    "interactive_card_max_bytes": "ordinary card cardData size; null: unlimited",
    "stream_content_max_bytes": "streaming content per call; null: unlimited",
    "batch_send_max_users": "userIds per batchSend",
    "media_max_bytes": "legacy /media/upload file size; null: unlimited",
    "recorder_limit": "keep only the newest N records (applies from the next reset)",
    "history_limit": "keep only the newest N cards, transcript lines, sessions",
    "extra": "switches without a field of their own, e.g. deliver_group_messages_without_at",
}


@dataclasses.dataclass(frozen=True)
class Knob:
    name: str
    kind: str  # "number" | "integer" | "boolean" | "string" | "object"
    nullable: bool
    default: Any
    help: str = ""

    def view(self) -> dict[str, Any]:
        """The knob for the emulator's settings form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "nullable": self.nullable,
            "default": self.default,
            "help": self.help,
            "fixed": self.name in FIXED,
        }

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
        out[f.name] = Knob(f.name, kind, nullable, getattr(defaults, f.name), HELP.get(f.name, ""))
    return out


def check_value(knob: Knob, value: Any) -> Any:
    """``value`` as the setting takes it; ``ControlError`` naming the setting otherwise."""
    if value is None:
        if knob.nullable:
            return None
        raise ControlError(
            knob.name, f"expected a {knob.kind}, found null (this rule cannot be switched off)"
        )
    if knob.kind == "boolean":
        if isinstance(value, bool):
            return value
        raise ControlError(knob.name, f"expected true or false, found {value!r}")
    if knob.kind in ("number", "integer"):
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < 0
            or (knob.kind == "integer" and not whole)
        ):
            want = "a whole number >= 0" if knob.kind == "integer" else "a number >= 0"
            raise ControlError(
                knob.name, f"expected {want}{' or null' if knob.nullable else ''}, found {value!r}"
            )
        return int(value) if knob.kind == "integer" else float(value)
    if knob.kind == "string":
        choices = CHOICES.get(knob.name)
        if isinstance(value, str) and (choices is None or value in choices):
            return value
        if choices is not None:
            raise ControlError(knob.name, f"expected one of {', '.join(choices)}, found {value!r}")
        raise ControlError(knob.name, f"expected a string, found {value!r}")
    if knob.name == "qps_routes":
        return _qps_routes(value)
    if isinstance(value, dict):
        return value
    raise ControlError(knob.name, f"expected an object, found {value!r}")


def _qps_routes(value: Any) -> dict[str, int | None]:
    """``{"METHOD /path": calls a second or null}``, each route as the timeline names it."""
    if not isinstance(value, dict):
        raise ControlError(
            "qps_routes", f'expected an object like {{"PUT /v1.0/card/streaming": 40}}, found {value!r}'
        )
    for route, limit in value.items():
        method, _, path = str(route).partition(" ")
        if not method.isupper() or not path.startswith("/"):
            raise ControlError(
                f"qps_routes.{route}", 'expected a route "METHOD /path" as the timeline names it'
            )
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise ControlError(
                f"qps_routes.{route}", f"expected a whole number >= 0 or null, found {limit!r}"
            )
    return dict(value)


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


def check_app(spec: Any, where: str = "") -> dict[str, Any]:
    """An app registration ``{clientId, clientSecret, scopes?, robotCode?, callbackUrl?}`` as
    keyword arguments of ``add_app``."""
    if not isinstance(spec, dict):
        raise ControlError(
            where or "body", f"expected an object {{clientId, clientSecret, ...}}, found {spec!r}"
        )
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
    if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
        raise ControlError(f"{where}scopes", f"expected a list of scope names, found {scopes!r}")
    for key in ("robotCode", "callbackUrl"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise ControlError(f"{where}{key}", f"expected a non-empty string, found {value!r}")
    return {
        "client_id": out["clientId"],
        "client_secret": out["clientSecret"],
        "scopes": scopes,
        "robot_code": spec.get("robotCode"),
        "callback_url": spec.get("callbackUrl"),
    }
