"""An instance's ``config.json``: ``{{NAME}}`` placeholders filled from the environment, then
validated into ``RobotConfig``. A missing variable is an error naming the variable and the
file, never a silent empty string.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.ai_cards import AI_CARD_TEMPLATE
from bot.core.i18n import LOCALES
from bot.elements import read_json_object
from bot.errors import ConfigError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
LIVE_ENDPOINT = "https://api.dingtalk.com"
PLACEHOLDER_VALUES = {
    "",
    "your-client-id",
    "your-client-secret",
    "changeme",
    "xxx",
    "dingxxxxxxxx",
    "<clientId>",
    "<clientSecret>",
}


@dataclass
class RobotConfig:
    client_id: str
    client_secret: str = field(repr=False)
    agent: str | dict[str, Any] = "faq"
    locale: str = "en"
    endpoint: str = LIVE_ENDPOINT
    store: str = "bot-data/robot.sqlite3"
    # the reference throttle: at most 20 updates; update on 2 s or 5 pending chunks
    max_updates: int = 20
    update_interval: float = 2.0
    update_batch: int = 5
    qps: float = 18.0
    # 1: one call per 1/qps; N > 1: at most N calls in any N/qps seconds (the platform's window)
    qps_burst: int = 1
    agent_timeout: float = 120.0
    max_question_chars: int = 4000
    max_card_chars: int = 3000
    memory_ttl: float = 1800.0
    memory_turns: int = 10
    retry_attempts: int = 5
    stream_idle_timeout: float | None = None
    shutdown_deadline: float = 3.0
    owner_lease: float = 20.0
    auth_attempts: int = 5
    # "interactive": robot interactive cards; "ai": one AI card instance per answer (streaming)
    card_mode: str = "interactive"
    ai_card_template_id: str = AI_CARD_TEMPLATE
    # deployment (bot/im_robots/dingtalk_stream/http_mode.py, bot/metrics.py)
    mode: str = "stream"  # "http": the platform POSTs messages to us (serverless)
    listen_host: str = "127.0.0.1"
    http_port: int = 8080  # 0: any free port
    http_path: str = "/"
    # mode "http": the URL the platform POSTs card clicks to (None: this robot's own address)
    card_callback_url: str | None = None
    metrics_port: int | None = None  # /healthz and /metrics when set (0: any free port)
    base_dir: Path = Path(".")

    @property
    def is_live(self) -> bool:
        return self.endpoint.rstrip("/") == LIVE_ENDPOINT

    @property
    def card_path(self) -> str:
        """The path card clicks are served on in ``mode: "http"``: ``httpPath`` + ``card``."""
        return self.http_path.rstrip("/") + "/card"

    @property
    def store_scheme(self) -> str:
        """``redis`` for ``redis://`` (or ``rediss://``) URLs, ``sqlite`` for a file path."""
        return "redis" if self.store.startswith(("redis://", "rediss://")) else "sqlite"

    def store_path(self) -> Path:
        """A relative ``store`` is relative to the working directory, never to the instance
        folder (which may sit inside the installed, read-only package)."""
        path = self.store.removeprefix("sqlite://") if self.store.startswith("sqlite://") else self.store
        if path == ":memory:":  # SQLite's own name for a store kept in memory, not a file
            return Path(path)
        return Path(path).expanduser().absolute()


KEYS = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "agent": "agent",
    "locale": "locale",
    "endpoint": "endpoint",
    "store": "store",
    "maxUpdates": "max_updates",
    "updateInterval": "update_interval",
    "updateBatch": "update_batch",
    "qps": "qps",
    "qpsBurst": "qps_burst",
    "agentTimeout": "agent_timeout",
    "maxQuestionChars": "max_question_chars",
    "maxCardChars": "max_card_chars",
    "memoryTtl": "memory_ttl",
    "memoryTurns": "memory_turns",
    "retryAttempts": "retry_attempts",
    "streamIdleTimeout": "stream_idle_timeout",
    "shutdownDeadline": "shutdown_deadline",
    "ownerLease": "owner_lease",
    "authAttempts": "auth_attempts",
    "cardMode": "card_mode",
    "aiCardTemplateId": "ai_card_template_id",
    "mode": "mode",
    "listenHost": "listen_host",
    "httpPort": "http_port",
    "httpPath": "http_path",
    "cardCallbackUrl": "card_callback_url",
    "metricsPort": "metrics_port",
}
CARD_MODES = ("interactive", "ai")


def substitute(value: Any, env: Mapping[str, str], where: Path) -> Any:
    """Replace ``{{NAME}}`` in every string of a JSON value."""
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                raise ConfigError(
                    f"{where}: environment variable {name} is not set "
                    f"(used as {{{{{name}}}}}); export it or edit the file"
                )
            return env[name]

        return PLACEHOLDER.sub(repl, value)
    if isinstance(value, list):
        return [substitute(v, env, where) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, env, where) for k, v in value.items()}
    return value


def load_config(instance_dir: Path, *, env: Mapping[str, str] | None = None, **overrides: Any) -> RobotConfig:
    env = dict(os.environ) if env is None else dict(env)
    path = instance_dir / "config.json"
    raw = read_json_object(path, f"{instance_dir}: expected a config.json beside e.json")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(sorted(KEYS))}"
        )
    values = substitute(raw, env, path)
    kwargs: dict[str, Any] = {KEYS[k]: v for k, v in values.items()}
    if "endpoint" not in kwargs and env.get("DINGTALK_OPENAPI_ENDPOINT"):
        kwargs["endpoint"] = env["DINGTALK_OPENAPI_ENDPOINT"]
    kwargs.update(overrides)
    kwargs["base_dir"] = kwargs.get("base_dir", instance_dir)
    for name in ("client_id", "client_secret"):
        if name not in kwargs:
            raise ConfigError(f"{path}: {name.replace('_i', 'I').replace('_s', 'S')} is required")
    return validate(RobotConfig(**kwargs), path)


_NAMES = {field: key for key, field in KEYS.items()}  # field -> the key written in config.json


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate(cfg: RobotConfig, where: Path) -> RobotConfig:
    """Check every value; errors name the file and the key as written in config.json."""

    def fail(name: str, expected: str, value: Any) -> ConfigError:
        shown = "***" if name == "client_secret" else repr(value)
        return ConfigError(
            f"{where}: {_NAMES.get(name, name)} must be {expected}, found {shown} ({type(value).__name__})"
        )

    for name in ("client_id", "client_secret", "locale", "endpoint", "store", "ai_card_template_id"):
        if not isinstance(getattr(cfg, name), str):
            raise fail(name, "a string", getattr(cfg, name))
    for name in (
        "max_updates",
        "update_batch",
        "max_question_chars",
        "max_card_chars",
        "memory_turns",
        "retry_attempts",
        "auth_attempts",
        "qps_burst",
    ):
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise fail(name, "an integer >= 1", value)
    for name in ("update_interval", "qps", "agent_timeout", "memory_ttl", "shutdown_deadline", "owner_lease"):
        value = getattr(cfg, name)
        if not _number(value) or value <= 0:
            raise fail(name, "a number > 0", value)
    idle = cfg.stream_idle_timeout
    if idle is not None and (not _number(idle) or idle <= 0):
        raise fail("stream_idle_timeout", "a number of seconds > 0 (or absent)", idle)
    scheme = cfg.store.partition("://")[0] if "://" in cfg.store else ""
    if scheme and scheme not in ("redis", "rediss", "sqlite"):
        raise fail(
            "store",
            "a file path for SQLite, sqlite:///path or redis://host:port/db "
            "(supported schemes: sqlite, redis, rediss)",
            cfg.store,
        )
    if cfg.card_mode not in CARD_MODES:
        raise fail("card_mode", f"one of {', '.join(map(repr, CARD_MODES))}", cfg.card_mode)
    if not cfg.ai_card_template_id.strip():
        raise fail("ai_card_template_id", "a card template id", cfg.ai_card_template_id)
    check_deployment(cfg, fail)
    if cfg.locale not in LOCALES:
        raise fail("locale", f"one of {', '.join(LOCALES)}", cfg.locale)
    if not isinstance(cfg.agent, (str, dict)):
        raise fail("agent", "a name, a dotted path or an object", cfg.agent)
    if not cfg.endpoint.startswith(("http://", "https://")):
        raise fail("endpoint", "an http:// or https:// URL", cfg.endpoint)
    return cfg


MODES = ("stream", "http")


def check_deployment(cfg: RobotConfig, fail: Callable[[str, str, Any], ConfigError]) -> None:
    """``mode``, the listening address and the ports."""
    if cfg.mode not in MODES:
        raise fail("mode", f"one of {', '.join(map(repr, MODES))}", cfg.mode)
    if not isinstance(cfg.listen_host, str) or not cfg.listen_host:
        raise fail("listen_host", "a host name or address to listen on", cfg.listen_host)
    if not isinstance(cfg.http_path, str) or not cfg.http_path.startswith("/"):
        raise fail("http_path", "a URL path starting with /", cfg.http_path)
    url = cfg.card_callback_url
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise fail(
            "card_callback_url",
            "an http:// or https:// URL the platform can reach (or absent: this robot's own address)",
            url,
        )
    for name in ("http_port", "metrics_port"):
        value = getattr(cfg, name)
        if value is None and name == "metrics_port":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
            raise fail(name, "a port number 0..65535 (0: any free port)", value)


def check_live_credentials(cfg: RobotConfig) -> None:
    """Live mode refuses placeholder credentials; the message names the field, not the value."""
    problems = []
    for label, value in (("clientId", cfg.client_id), ("clientSecret", cfg.client_secret)):
        if value.strip() in PLACEHOLDER_VALUES or PLACEHOLDER.search(value):
            problems.append(label)
    if problems:
        raise ConfigError(
            f"live mode (endpoint {cfg.endpoint}) needs real credentials; "
            f"{' and '.join(problems)} look missing or like placeholders. Set "
            "DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET, or point "
            "DINGTALK_OPENAPI_ENDPOINT at a fakeding server"
        )
