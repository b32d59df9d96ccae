"""Platform profiles: the disputed facts about DingTalk, each a setting with a source per claim.

Why: a fake is only as right as its numbers, and for some the community disagrees (how long a
session webhook lives, what a second Stream connection does, when an un-acked message comes
again, the QPS ceiling, how big a card may be). ``documented`` is what the docs (or, where they
are silent, the best-sourced report) say, and is the fake's default; ``observed`` is what field
reports measured. A TOML file (``[settings]`` and optional ``[sources]``, as ``fakeding probe``
writes) is a profile too. ``--profile NAME|FILE`` picks one on ``serve``, ``record``, in a
scenario's ``platform: {profile: ...}`` and for the pytest fixture; docs/PARITY.md lists them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakeding.core.exceptions import ConfigError


@dataclass(frozen=True)
class Claim:
    value: Any
    source: str


# setting -> what it decides (the facts profiles disagree on)
DISPUTED: dict[str, str] = {
    "webhook_ttl": "how long a message's sessionWebhook accepts replies (s)",
    "second_connection": "what a second Stream connection of one app does: balance (each push "
    "to one of them), kick (the newer one replaces the older), refuse",
    "redelivery_delay": "when an un-acked robot message is pushed again (s)",
    "qps_limit": "OpenAPI calls per second per app and API",
    "interactive_card_max_bytes": "the largest interactive card the platform takes (bytes)",
    "card_param_value_max_bytes": "the largest cardParamMap value (bytes)",
    "system_ping_interval": "the server's SYSTEM ping cadence (s)",
}

PROFILES: dict[str, dict[str, Claim]] = {
    "documented": {
        "webhook_ttl": Claim(
            5400.0, "docs' samples: sessionWebhookExpiredTime - createAt = 5,400 s (protocol reference C)"
        ),
        "second_connection": Claim(
            "balance",
            "developerpedia stream FAQ: several connections per app, each push to one picked at random",
        ),
        "redelivery_delay": Claim(
            60.0,
            "docs: robot messages are not redelivered; reports "
            "(koishi#1429, openclaw-connector#26) and the Node "
            "SDK's doc comment: again ~60 s later",
        ),
        "qps_limit": Claim(
            20, "kb 1433 'how to process API throttling': 20/s per app per API (standard edition)"
        ),
        "interactive_card_max_bytes": Claim(15_000, "modelling choice: no published limit"),
        "card_param_value_max_bytes": Claim(1024, "kb 0782/0783: cardParamMap values <= 1 KB"),
        "system_ping_interval": Claim(
            30.0, "undocumented; a third-party PR reports keepalive traffic every 20-30 s"
        ),
    },
    "observed": {
        "webhook_ttl": Claim(5400.0, "log in openclaw-connector#26: expiry - createAt = 5,400 s"),
        "second_connection": Claim(
            "kick", "soimy PR #380: 'newer connection kicks the older one' (unverified)"
        ),
        "redelivery_delay": Claim(16.0, "soimy #390: the second delivery came after 16 s"),
        "qps_limit": Claim(40, "openclaw-connector code comment: AI card streaming ~40/s"),
        "interactive_card_max_bytes": Claim(30_000, "botmux PR #1441: cards have a 30 KB limit"),
        "card_param_value_max_bytes": Claim(
            1024, "soimy #292: long values fail in streaming mode (no other number reported)"
        ),
        "system_ping_interval": Claim(
            30.0, "openclaw-connector#584: ~30 s load-balancing reconnects and keepalives"
        ),
    },
}


def load_profile(spec: str, *, base: Path | None = None) -> dict[str, Any]:
    """The settings of profile ``spec``: a built-in name or a TOML file (relative to ``base``).

    Errors name the profile and what was expected."""
    if spec in PROFILES:
        return {name: claim.value for name, claim in PROFILES[spec].items()}
    path = Path(spec).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if path.suffix != ".toml":
        raise ConfigError(f"profile {spec!r}: expected one of {', '.join(PROFILES)} or a .toml file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"profile {spec!r}: cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"profile {path}: not valid TOML ({exc})") from None
    settings = data.get("settings")
    if not isinstance(settings, dict):
        raise ConfigError(
            f"profile {path}: expected a [settings] table (setting = value), "
            f"found {sorted(data) or 'nothing'}"
        )
    from fakeding.core import control_settings
    from fakeding.core.exceptions import ControlError

    try:
        return control_settings.check_changes(dict(settings))
    except ControlError as exc:
        raise ConfigError(f"profile {path}: [settings] {exc}") from None


def profile_toml(settings: dict[str, Any], sources: dict[str, str], *, comment: str = "") -> str:
    """A profile file ``load_profile`` reads: ``[settings]`` and ``[sources]``."""
    lines = [f"# {line}" for line in comment.splitlines()]
    for table, values in (("settings", settings), ("sources", sources)):
        lines += ["", f"[{table}]"]
        lines += [f"{key} = {_toml(value)}" for key, value in values.items() if value is not None]
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def parity_lines() -> list[str]:
    """The PARITY section: each disputed fact, each profile's claim and its source."""
    lines = [
        "## Platform profiles",
        "",
        "Disputed facts, each a setting; `--profile NAME|FILE` picks a bundle "
        "(`documented` is the default; `fakeding probe` writes a file from measurements).",
        "",
        "| setting | what it decides | " + " | ".join(f"`{name}`" for name in PROFILES) + " |",
        "|---|---|" + "---|" * len(PROFILES),
    ]
    for setting, what in DISPUTED.items():
        cells = [f"{PROFILES[p][setting].value} ({PROFILES[p][setting].source})" for p in PROFILES]
        lines.append(f"| `{setting}` | {what} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def with_profile(changes: dict[str, Any], *, base: Path | None = None) -> dict[str, Any]:
    """Setting changes with a ``profile`` key expanded: the profile's settings, then the rest
    (which win)."""
    rest = dict(changes)
    spec = rest.pop("profile", None)
    if spec is None:
        return rest
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"profile: expected a name ({', '.join(PROFILES)}) or a .toml file, found {spec!r}")
    return {**load_profile(spec, base=base), **rest}
