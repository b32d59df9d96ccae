"""A failure inside the fake is answered in the caller's shape, recorded, and fails check()."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing, UnmetExpectation
from fakeding.core.record_kinds import RecordKind


def _boom(*_: Any, **__: Any) -> Any:
    raise RuntimeError("injected failure")


def test_a_platform_route_that_fails_answers_dingtalks_shape_and_fails_check(
    fakeding: ThreadedFakeDing, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(fakeding.fake.platform, "issue_token", _boom)
    with caplog.at_level(logging.ERROR, logger="fakeding"):
        r = requests.post(
            f"{fakeding.http_url}/v1.0/oauth2/accessToken",
            timeout=5,
            json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
        )
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["code"] == "fakeding.InternalError"
    assert "RuntimeError: injected failure" in body["message"] and body["requestid"]
    assert "injected failure" in caplog.text  # the traceback is logged, not printed
    assert fakeding.violations == []  # the robot did nothing wrong
    [error] = fakeding.fake_errors
    assert error.kind == RecordKind.FAKE_ERROR == "fake_error"
    assert error.fields["where"] == "POST /v1.0/oauth2/accessToken"
    assert error.fields["problem"] == "RuntimeError: injected failure"
    with pytest.raises(UnmetExpectation, match="fakeding itself failed 1 time") as failed:
        fakeding.check()
    assert "not in your robot" in str(failed.value) and "file an issue" in str(failed.value)
    assert "fakeding failed on POST /v1.0/oauth2/accessToken" in str(failed.value)
    monkeypatch.undo()
    fakeding.reset()  # the violation was the point of this test
    r = requests.post(
        f"{fakeding.http_url}/v1.0/oauth2/accessToken",
        timeout=5,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    )
    assert r.status_code == 200  # nothing stays broken


def test_a_control_route_that_fails_answers_error_and_field(
    fakeding: ThreadedFakeDing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fakeding.fake, "cards", _boom)
    r = requests.get(f"{fakeding.http_url}/_fakeding/cards", timeout=5)
    assert r.status_code == 500
    assert r.json() == {
        "error": "fakeding failed on GET /_fakeding/cards: RuntimeError: injected failure",
        "field": None,
    }
    assert [e.fields["where"] for e in fakeding.fake_errors] == ["GET /_fakeding/cards"]
    assert fakeding.violations == []
    fakeding.reset()


def test_a_body_over_the_size_limit_is_answered_in_shape_and_recorded(fakeding: ThreadedFakeDing) -> None:
    big = b'{"x": "' + b"a" * (2 << 20) + b'"}'
    token = requests.post(
        f"{fakeding.http_url}/v1.0/oauth2/accessToken",
        timeout=5,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    r = requests.post(
        f"{fakeding.http_url}/v1.0/card/instances",
        data=big,
        timeout=10,
        headers={"Content-Type": "application/json", "x-acs-dingtalk-access-token": token},
    )
    assert r.status_code == 413 and r.json()["code"] == "InvalidRequest"
    assert "bodies are limited to" in r.json()["message"]
    [v] = fakeding.violations
    assert v.fields["reason"].startswith("POST /v1.0/card/instances: 413")
    r = requests.post(
        f"{fakeding.http_url}/_fakeding/messages",
        data=big,
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["field"] == "body"
    fakeding.reset()
    assert requests.get(f"{fakeding.http_url}/_fakeding/health", timeout=5).json() == {"status": "ok"}
