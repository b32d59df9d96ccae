"""DingTalk editions ("tiers") as presets of the limits that cost money: the QPS per app and
API, per-route QPS where a paid tier is reported to raise one, and the monthly quota of
metered calls. ``tier: NAME`` in a scenario's or load plan's ``platform:`` and ``fakeding
serve --tier NAME`` set them (settings given beside it win). Each figure names its source;
those not published by DingTalk are reports (see /docs/PARITY.md and the field notes:
"Per app, per API QPS", "Monthly quota", "AI card streaming, reported")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakeding.core.exceptions import ConfigError

STREAMING = "PUT /v1.0/card/streaming"


@dataclass(frozen=True)
class Tier:
    qps_limit: int
    qps_routes: dict[str, int]
    monthly_quota: int | None
    source: str

    def settings(self) -> dict[str, Any]:
        return {
            "qps_limit": self.qps_limit,
            "qps_routes": dict(self.qps_routes),
            "monthly_quota": self.monthly_quota,
        }


TIERS: dict[str, Tier] = {
    "standard": Tier(
        20,
        {},
        10_000,
        "DingTalk kb 1433 'how to process API throttling': 20 calls/s per app per API and "
        "10,000 metered calls a month for the standard edition (标准版)",
    ),
    "professional": Tier(
        20,
        {STREAMING: 40},
        500_000,
        "the per-app-per-API rule (20/s) stands; AI card streaming ~40/s on a paid tier "
        "(openclaw-connector code comment and #444); 500,000 calls a month (third-party help "
        "page jijyun.cn/help/detail/378, not DingTalk's own)",
    ),
    "enterprise": Tier(
        60,
        {STREAMING: 60},
        None,
        "'企业版 9800×2 … 60 qps max' (openclaw-connector#450, a user's report); no monthly "
        "figure published: set monthly_quota yourself",
    ),
    "exclusive": Tier(
        120,
        {STREAMING: 120},
        None,
        "'专属版 up to 120 QPS' (openclaw-connector#461, a user's report); no monthly figure "
        "published: set monthly_quota yourself",
    ),
}


def tier_settings(name: Any) -> dict[str, Any]:
    """The settings of tier ``name``; an unknown one is a ``ConfigError`` listing the known."""
    tier = TIERS.get(name) if isinstance(name, str) else None
    if tier is None:
        raise ConfigError(f"tier: expected one of {', '.join(TIERS)}, found {name!r}")
    return tier.settings()


def with_tier(changes: dict[str, Any]) -> dict[str, Any]:
    """Setting changes with a ``tier`` key expanded: the tier's limits, then the rest (which
    win)."""
    rest = dict(changes)
    if "tier" not in rest:
        return rest
    return {**tier_settings(rest.pop("tier")), **rest}
