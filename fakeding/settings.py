"""Every knob of the fake platform, with the real platform's numbers as defaults.

Each platform rule can be switched off (``None`` or ``False``) for tests that want a laxer
world; the defaults are what DingTalk documents (see README, "Platform rules").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .exceptions import ConfigError

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


@dataclass
class Settings:
    host: str = "127.0.0.1"
    seed: int = 0
    corp_id: str = "dingcorp0001"
    # Stream
    ticket_ttl: float = 90.0
    redelivery_delay: float | None = 60.0
    max_redeliveries: int = 1
    redelivery_new_message_id: bool = False
    system_ping_interval: float | None = 30.0  # SYSTEM ping frames to every connection
    ws_ping_interval: float | None = 30.0  # websocket pings to every connection...
    ws_ping_timeout: float = 20.0  # ...which is dead when nothing came back within this
    stream_send_buffer_bytes: int | None = 4 << 20  # a client that lets more pile up is cut off
    disconnect_close_after: float = 10.0
    # More live connections than this for one app is a leak (a reconnect that never closed the
    # old socket); a violation names them. DingTalk's own limit is undocumented: modelling choice.
    max_connections_per_app: int | None = 10
    # What a second Stream connection of one app does: "balance" (each push to one of them, as
    # the FAQ says), "kick" (the newer one replaces the older), "refuse". See fakeding.profiles.
    second_connection: str = "balance"
    card_callback_timeout: float = 2.0
    http_callback_timeout: float = 5.0  # HTTP-mode robots (modelling choice: undocumented)
    # OpenAPI
    token_ttl: float = 7200.0
    qps_limit: int | None = 20
    # per-route QPS per app overriding qps_limit ("PUT /v1.0/card/streaming": 40), as paid
    # tiers are reported to raise some (fakeding.tiers); null for a route: unlimited
    qps_routes: dict[str, Any] = field(default_factory=dict)
    webhook_ttl: float = 5400.0
    webhook_per_minute: int | None = 20
    enforce_scopes: bool = True
    card_param_value_max_bytes: int | None = 1024
    interactive_card_max_bytes: int | None = 15_000
    stream_content_max_bytes: int | None = 3072
    # documented limits DingTalk's own examples break (1 KB value, 3 KB stream, an empty
    # streaming update) are warnings; True refuses them as the docs say
    strict_limits: bool = False
    batch_send_max_users: int = 20
    # Metered OpenAPI calls the organisation may make in a month (the standard edition's is
    # 10,000; tokens, the gateway and session-webhook replies are not metered). None: no quota.
    monthly_quota: int | None = None
    # The paid "AI card streaming" permission: without it PUT /v1.0/card/streaming is refused.
    ai_card_streaming: bool = True
    media_max_bytes: int | None = 20 * 1024 * 1024  # legacy /media/upload
    # Retention (None keeps everything, as tests want; long runs set limits)
    recorder_limit: int | None = None
    history_limit: int | None = None  # cards, transcript lines, sessions, acked deliveries
    extra: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Settings:
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(unknown)}; expected one of {', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **changes)
