"""``fakeding probe`` recovers a fake's non-default profile (webhook lifetime, redelivery delay,
connection rule, pings, token lifetime, QPS) and ``--profile`` applies what it wrote."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from fakeding.core.profiles import load_profile, profile_toml
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings
from fakeding.testing.probe.findings import connection_rule, ping_interval, qps_from_burst
from fakeding.testing.probe.run import Options, ProbeError, probe
from fakeding.threaded import ThreadedFakeDing
from tests.fakeding.test_cli import serve

ROOT = Path(__file__).resolve().parents[2]
NON_DEFAULT = {
    "webhook_ttl": 120.0,
    "redelivery_delay": 2.0,
    "second_connection": "kick",
    "system_ping_interval": 1.0,
    "token_ttl": 600.0,
    "qps_limit": 8,
}


def test_probe_recovers_a_non_default_profile_and_serve_applies_it(tmp_path: Path) -> None:
    given = tmp_path / "tenant.toml"
    given.write_text(profile_toml(NON_DEFAULT, {}), encoding="utf-8")
    out = tmp_path / "measured.toml"
    with serve("--profile", str(given)) as fake:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "fakeding.cli",
                "probe",
                "--upstream",
                fake.url,
                "--app",
                f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}",
                "--out",
                str(out),
                "--message-via",
                fake.url,
                "--wait",
                "20",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    assert load_profile(str(out)) == NON_DEFAULT
    assert f"wrote {out}" in run.stdout
    assert DEFAULT_CLIENT_SECRET not in out.read_text()
    with serve("--profile", str(out)) as fake:
        got = requests.get(fake.url + "/_fakeding/settings", timeout=10).json()
    assert {k: got[k] for k in NON_DEFAULT} == NON_DEFAULT


def test_probe_sees_a_refused_second_connection_and_another_lifetime() -> None:
    settings = Settings(
        second_connection="refuse",
        webhook_ttl=45.0,
        redelivery_delay=1.0,
        system_ping_interval=0.5,
        qps_limit=None,
    )
    with ThreadedFakeDing(settings) as fake:
        options = Options(
            fake.http_url,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            wait=15,
            max_qps=10,
            message_via=fake.http_url,
        )
        found = asyncio.run(probe(options))
    assert found.settings["second_connection"] == "refuse"
    assert "HTTP 403" in found.sources["second_connection"]
    assert found.settings["webhook_ttl"] == 45
    assert found.settings["redelivery_delay"] == 1
    assert found.settings["system_ping_interval"] == 0.5
    assert "qps_limit" not in found.settings  # no refusal up to 10 a second: not guessed
    assert any("no QPS refusal up to 10" in n for n in found.notes)
    assert found.calls <= 25  # bounded: 2 token, 2 gateway, 1 message, 1 reply, 5 + 10 bursts


def test_probe_confirms_a_short_webhook_lifetime_by_a_refused_reply() -> None:
    settings = Settings(webhook_ttl=2.0, redelivery_delay=1.0, system_ping_interval=0.5, qps_limit=None)
    with ThreadedFakeDing(settings) as fake:
        options = Options(
            fake.http_url,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            wait=15,
            max_qps=5,
            message_via=fake.http_url,
            settle=0.5,
        )
        found = asyncio.run(probe(options))
        replies = fake.call(lambda: [e.text for e in fake.fake.platform.transcript if e.who == "bot"])
    assert found.settings["webhook_ttl"] == 2
    assert (
        "confirmed: a reply 1 s after it was refused (HTTP 200, errcode 300001)"
        in found.sources["webhook_ttl"]
    )
    assert replies == ["fakeding probe: message received"]  # the late one never reached anyone


def test_probe_with_refused_credentials_is_a_clear_error(tmp_path: Path) -> None:
    with ThreadedFakeDing() as fake:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "fakeding.cli",
                "probe",
                "--upstream",
                fake.http_url,
                "--app",
                f"{DEFAULT_CLIENT_ID}:wrong",
                "--out",
                str(tmp_path / "p.toml"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 2
    assert "refused the app 'fakeding-client': HTTP 400" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "p.toml").exists()


def test_probe_of_an_unreachable_upstream_names_it() -> None:
    with pytest.raises(ProbeError, match=r"cannot reach http://127.0.0.1:9/v1.0/oauth2"):
        asyncio.run(probe(Options("http://127.0.0.1:9", "a", "b", wait=1)))


def test_findings_helpers() -> None:
    assert ping_interval([0.0, 1.02, 1.98, 3.0]) == 1.0
    assert ping_interval([5.0]) is None
    assert qps_from_burst(["InvalidParameter"] * 10) is None
    assert qps_from_burst(["x"] * 8 + ["Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"] * 2) == 8
    assert connection_rule(403, False) == "refuse"
    assert connection_rule(None, True) == "kick"
    assert connection_rule(None, False) == "balance"
