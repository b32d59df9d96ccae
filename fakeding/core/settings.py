"""Every knob of the fake platform, with the real platform's numbers as defaults: the one table.

Each field of ``Settings`` is a row: its name, type (the annotation), default, help, whether
``None`` switches the rule off (nullable), its choices and when a change applies ("now", "start":
a flag of ``serve``, "reset": from the next reset). ``knobs()`` reads the rows; validation, ``serve
--set``/``--config``, the control API, the emulator's settings pane, "Save as scenario" and the
reference page all derive from it, so a new field is a new knob everywhere at once. The defaults
are what DingTalk documents (see docs/explanation/platform-limits.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fakeding.core.exceptions import ConfigError, ControlError

DEFAULT_CLIENT_ID = "fakeding-client"
DEFAULT_CLIENT_SECRET = "fakeding-secret"

ALL_SCOPES = frozenset(
    {
        "Card.Instance.Write",
        "Card.Streaming.Write",
        "qyapi_robot_sendmsg",
        "Robot.Message.Send",
    }
)

Applies = Literal["now", "start", "reset"]


def setting(
    default: Any,
    help: str,  # noqa: A002 - the table's column
    *,
    applies: Applies = "now",
    choices: tuple[str, ...] | None = None,
    factory: Callable[[], Any] | None = None,
    check: Callable[[Any], Any] | None = None,
) -> Any:
    """One row of the table: a dataclass field carrying its help, when it applies, choices and,
    for an object whose shape matters, its own ``check`` (after the null rule)."""
    meta = {"help": help, "applies": applies, "choices": choices, "check": check}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def check_qps_routes(value: Any) -> dict[str, int | None]:
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


@dataclass
class Settings:
    host: str = setting(
        "127.0.0.1", "where the servers bind (serve --host; not changeable at run time)", applies="start"
    )
    seed: int = setting(0, "seed of every generated id (reset may pass another)")
    corp_id: str = setting("dingcorp0001", "the organisation's corpId in payloads")
    # Stream
    ticket_ttl: float = setting(90.0, "seconds a Stream ticket stays valid")
    redelivery_delay: float | None = setting(
        60.0, "seconds before an un-acked callback is pushed again; null: never"
    )
    max_redeliveries: int = setting(1, "how many times it is pushed again")
    redelivery_new_message_id: bool = setting(False, "a redelivery carries a new headers.messageId")
    system_ping_interval: float | None = setting(
        30.0, "seconds between SYSTEM pings; null: none (scenarios default to none)"
    )
    ws_ping_interval: float | None = setting(
        30.0, "seconds between websocket pings to each connection; null: none (scenarios default to none)"
    )
    ws_ping_timeout: float = setting(
        20.0,
        "a connection that answers nothing this long after a websocket ping is cut, its un-acked messages "
        "redelivered elsewhere",
    )
    stream_send_buffer_bytes: int | None = setting(
        4 << 20,
        "bytes that may wait to be sent to one connection; a client that lets more pile up is cut off "
        "with a violation; null: no limit",
    )
    disconnect_close_after: float = setting(10.0, "seconds from a SYSTEM disconnect to the socket's close")
    # More live connections than this for one app is a leak (a reconnect that never closed the
    # old socket); a violation names them. DingTalk's own limit is undocumented: modelling choice.
    max_connections_per_app: int | None = setting(
        10,
        "live Stream connections an app may hold before a violation names them (a leaked socket per "
        "reconnect); null: no limit",
    )
    # What a second Stream connection of one app does: "balance" (each push to one of them, as
    # the FAQ says), "kick" (the newer one replaces the older), "refuse". See fakeding.core.profiles.
    second_connection: str = setting(
        "balance",
        "what a second Stream connection of one app does: balance (each push to one of them), kick (the "
        "newer replaces the older), refuse",
        choices=("balance", "kick", "refuse"),
    )
    card_callback_timeout: float = setting(2.0, "seconds a card callback may take (Stream or HTTP)")
    http_callback_timeout: float = setting(
        5.0, "seconds an HTTP-mode robot may take to answer a message (modelling choice: undocumented)"
    )
    # OpenAPI
    token_ttl: float = setting(7200.0, "access-token lifetime")
    qps_limit: int | None = setting(20, "calls per second per app per API; null: unlimited")
    # per-route QPS per app overriding qps_limit ("PUT /v1.0/card/streaming": 40), as paid
    # tiers are reported to raise some (fakeding.core.tiers); null for a route: unlimited
    qps_routes: dict[str, Any] = setting(
        None,
        'calls per second per app for one route, over qps_limit: {"PUT /v1.0/card/streaming": 40}',
        factory=dict,
        check=check_qps_routes,
    )
    webhook_ttl: float = setting(5400.0, "session-webhook lifetime")
    webhook_per_minute: int | None = setting(20, "webhook messages per minute per robot; null: unlimited")
    enforce_scopes: bool = setting(True, "check each app's permission scopes")
    card_param_value_max_bytes: int | None = setting(
        1024, "cardParamMap value size (a warning over it; refused with strict_limits); null: unlimited"
    )
    interactive_card_max_bytes: int | None = setting(15_000, "ordinary card cardData size; null: unlimited")
    stream_content_max_bytes: int | None = setting(
        3072,
        "streamed text (a warning when a key's text grows over it; one call over it refused with "
        "strict_limits); null: unlimited",
    )
    # documented limits DingTalk's own examples break (1 KB value, 3 KB stream, an empty
    # streaming update) are warnings; True refuses them as the docs say
    strict_limits: bool = setting(
        False, "refuse (instead of warn about) documented limits DingTalk's own examples break"
    )
    batch_send_max_users: int = setting(20, "userIds per batchSend")
    # Metered OpenAPI calls the organisation may make in a month (the standard edition's is
    # 10,000; tokens, the gateway and session-webhook replies are not metered). None: no quota.
    monthly_quota: int | None = setting(
        None,
        "metered OpenAPI calls the organisation may make in a month (the standard edition's is 10,000; "
        "tokens, the gateway and session-webhook replies are free); past it 403 "
        "Forbidden.AccessDenied.ApiCountLimitForOrg; null: no quota",
    )
    # The paid "AI card streaming" permission: without it PUT /v1.0/card/streaming is refused.
    ai_card_streaming: bool = setting(
        True, "the paid AI-card streaming permission: without it PUT /v1.0/card/streaming is refused"
    )
    media_max_bytes: int | None = setting(20 * 1024 * 1024, "legacy /media/upload file size; null: unlimited")
    # Retention (None keeps everything, as tests want; long runs set limits)
    recorder_limit: int | None = setting(
        None, "keep only the newest N records (applies from the next reset)", applies="reset"
    )
    history_limit: int | None = setting(
        None, "keep only the newest N cards, transcript lines, sessions, acked deliveries"
    )
    extra: dict[str, Any] = setting(
        None, "switches without a field of their own, e.g. deliver_group_messages_without_at", factory=dict
    )

    def __post_init__(self) -> None:
        """A wrong value names the setting, what it expected and what it found."""
        table = knobs()
        for name, knob in table.items():
            try:
                check_value(knob, getattr(self, name))
            except ControlError as exc:
                raise ConfigError(f"setting {exc}") from None

    def replace(self, **changes: Any) -> Settings:
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(unknown)}; expected one of {', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Knob:
    """A setting as every surface shows it (``kind`` is its JSON type)."""

    name: str
    kind: str  # "number" | "integer" | "boolean" | "string" | "object"
    nullable: bool
    default: Any
    help: str = ""
    applies: Applies = "now"
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], Any] | None = None  # an object's own shape rule

    @property
    def fixed(self) -> bool:
        """Bound when the servers start: a flag of ``serve``, not a run-time knob."""
        return self.applies == "start"

    def view(self) -> dict[str, Any]:
        """The knob for the emulator's settings pane (served as JSON)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "nullable": self.nullable,
            "default": self.default,
            "help": self.help,
            "fixed": self.fixed,
            "applies": self.applies,
            "choices": list(self.choices) if self.choices else None,
        }

    def schema(self) -> dict[str, Any]:
        base: dict[str, Any] = {"type": self.kind}
        if self.kind in ("number", "integer"):
            base["minimum"] = 0
        if self.choices:
            base["enum"] = list(self.choices)
        if self.nullable:
            return {"anyOf": [base, {"type": "null"}], "default": self.default}
        return {**base, "default": self.default}


_JSON_TYPES = {"float": "number", "int": "integer", "bool": "boolean", "str": "string"}
_KNOBS: dict[str, Knob] = {}


def _kind(annotation: str) -> tuple[str, bool]:
    parts = [p.strip() for p in annotation.split("|")]
    nullable = "None" in parts
    (base,) = [p for p in parts if p != "None"]
    return _JSON_TYPES.get(base, "object" if base.startswith("dict") else base), nullable


def knobs() -> dict[str, Knob]:
    """Every setting by name, in declaration order (built once from the fields)."""
    if not _KNOBS:
        for f in dataclasses.fields(Settings):
            kind, nullable = _kind(str(f.type))
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            meta = f.metadata
            _KNOBS[f.name] = Knob(
                f.name, kind, nullable, default, meta["help"], meta["applies"], meta["choices"], meta["check"]
            )
    return dict(_KNOBS)


def check_value(knob: Knob, value: Any) -> Any:
    """``value`` as the setting takes it; ``ControlError`` naming the setting otherwise."""
    if value is None:
        if knob.nullable:
            return None
        raise ControlError(
            knob.name,
            f"expected {'an' if knob.kind[0] in 'aeiou' else 'a'} {knob.kind}, found null "
            "(this rule cannot be switched off)",
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
        if isinstance(value, str) and (knob.choices is None or value in knob.choices):
            return value
        if knob.choices is not None:
            raise ControlError(knob.name, f"expected one of {', '.join(knob.choices)}, found {value!r}")
        raise ControlError(knob.name, f"expected a string, found {value!r}")
    if knob.check is not None:
        return knob.check(value)
    if isinstance(value, dict):
        return value
    raise ControlError(knob.name, f"expected an object, found {value!r}")


def changed_settings(settings: Settings) -> dict[str, Any]:
    """Every setting that differs from its default, by name ("Save as scenario" keeps these)."""
    defaults = Settings()
    return {
        name: getattr(settings, name)
        for name in knobs()
        if name != "host" and getattr(settings, name) != getattr(defaults, name)
    }
