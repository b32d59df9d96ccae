"""Tier presets for the limits that cost money (``tier: NAME``): the QPS per app and API, a
paid tier's per-route QPS, the monthly quota; a per-route limit refuses in DingTalk's shape;
the load report projects the month against the tier's quota; an unknown tier is named with
the known ones. Runs in virtual time (the QPS window is one virtual second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fakeding.core.control_settings import check_changes
from fakeding.core.exceptions import ConfigError, ControlError, OpenApiError
from fakeding.core.platform import App, Platform
from fakeding.core.settings import Settings
from fakeding.core.tiers import STREAMING, TIERS, tier_settings, with_tier

ROBOTS = Path(__file__).resolve().parent / "load_robots"
ROOT = Path(__file__).resolve().parents[2]
SEND = "POST /v1.0/robot/groupMessages/send"


def test_each_tier_sets_the_qps_limits_and_the_quota_with_a_source() -> None:
    assert tier_settings("standard") == {"qps_limit": 20, "qps_routes": {}, "monthly_quota": 10_000}
    assert tier_settings("professional")["qps_routes"] == {STREAMING: 40}
    assert tier_settings("exclusive")["qps_limit"] == 120
    assert all("kb 1433" in TIERS["standard"].source or t.source for t in TIERS.values())
    # settings given beside the tier win
    assert with_tier({"tier": "standard", "monthly_quota": 5}) == {
        "qps_limit": 20,
        "qps_routes": {},
        "monthly_quota": 5,
    }


def test_an_unknown_tier_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        tier_settings("gold")
    assert (
        str(info.value) == "tier: expected one of standard, professional, enterprise, exclusive, found 'gold'"
    )


def test_qps_routes_are_checked_naming_the_route() -> None:
    assert check_changes({"qps_routes": {SEND: 2, STREAMING: None}}) == {
        "qps_routes": {SEND: 2, STREAMING: None}
    }
    with pytest.raises(ControlError, match=r"qps_routes.send: expected a route"):
        check_changes({"qps_routes": {"send": 2}})
    with pytest.raises(ControlError, match=r"expected a whole number >= 0 or null, found 'many'"):
        check_changes({"qps_routes": {SEND: "many"}})


def test_settings_built_in_python_check_qps_routes_too() -> None:
    """Not only the control edge: ``Settings(...)`` from a user's conftest names the route."""
    with pytest.raises(ConfigError, match=r"setting qps_routes.send: expected a route"):
        Settings(qps_routes={"send": 2})
    with pytest.raises(ConfigError, match=r"expected a whole number >= 0 or null, found -1"):
        Settings(qps_routes={SEND: -1})
    with pytest.raises(ConfigError, match=r"expected an object like"):
        Settings(qps_routes="fast")
    assert Settings(qps_routes={STREAMING: 40}).qps_routes == {STREAMING: 40}


def plan(tmp_path: Path, platform: str) -> Path:
    path = tmp_path / "tier.yaml"
    path.write_text(
        f"""
name: tiers
robot: {{handler: "robots:Metered", path: ["{ROBOTS}"]}}
platform: {platform}
load: {{users: 6, duration: 60, burst: {{count: 6, within: 0.01}}, groups: 1, group_count: 1,
        words: [3, 3], seed: 1}}
thresholds: {{lost: 6}}  # answers through the group API are not matched to their questions
""",
        encoding="utf-8",
    )
    return path


def platform_with(**settings: object) -> tuple[Platform, App]:
    platform = Platform(Settings().replace(**settings))
    return platform, platform.add_app("app", "secret")


def calls_at_once(platform: Platform, app: App, route: str, n: int) -> list[str]:
    """``n`` calls of ``route`` at one instant: "ok" or the refusal's code and message."""
    method, _, path = route.partition(" ")
    out = []
    for _ in range(n):
        try:
            platform.check_qps(0.5, app, method, path)
            out.append("ok")
        except OpenApiError as exc:
            out.append(f"{exc.status} {exc.code}: {exc.message}")
    return out


def test_a_per_route_limit_refuses_the_calls_over_it_in_one_second() -> None:
    platform, app = platform_with(qps_limit=20, qps_routes={STREAMING: 2})
    streamed = calls_at_once(platform, app, STREAMING, 3)
    assert streamed[:2] == ["ok", "ok"]
    assert streamed[2].startswith("403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
    assert "more than 2 calls per second to PUT /v1.0/card/streaming" in streamed[2]
    assert calls_at_once(platform, app, SEND, 20) == ["ok"] * 20  # other routes: qps_limit


def test_a_tier_raises_the_streaming_route_and_a_settings_change_takes_effect() -> None:
    platform, app = platform_with(**tier_settings("standard"))
    assert calls_at_once(platform, app, STREAMING, 21).count("ok") == 20
    platform.use_settings(platform.settings.replace(**tier_settings("professional")))
    assert calls_at_once(platform, app, STREAMING, 41).count("ok") == 40
    assert calls_at_once(platform, app, SEND, 21).count("ok") == 20


def test_the_report_projects_the_month_against_the_tiers_quota(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fakeding.cli", "load", str(plan(tmp_path, "{tier: standard}"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # 6 calls in 60 s is 63,360 in 176 business hours: over the standard edition's 10,000
    assert "the month's projection is 63360 calls, 634% of the quota of 10000 calls" in done.stdout
    assert "used up after about 27.8 of the month's 176 business hours" in done.stdout


def test_a_plan_with_an_unknown_tier_is_refused_before_running(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fakeding.cli", "load", str(plan(tmp_path, "{tier: gold}"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "platform.tier: expected one of standard, professional, enterprise, exclusive" in done.stderr
    assert "Traceback" not in done.stderr
