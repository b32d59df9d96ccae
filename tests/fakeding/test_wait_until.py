"""``wait_until`` on the threaded fake: a predicate may call the fake's own methods (it runs on
the fake's loop, which must not wait for itself), and a timeout says what was awaited."""

from __future__ import annotations

import threading

import pytest
import requests

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.core.exceptions import UnmetExpectation, WaitTimeout

from .card_helpers import send_body


def _send_card_later(fake: ThreadedFakeDing, delay: float) -> threading.Thread:
    """A robot stand-in: after ``delay`` s, one interactive card over real HTTP."""

    def send() -> None:
        token = requests.post(
            fake.http_url + "/v1.0/oauth2/accessToken",
            json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
            timeout=10,
        )
        r = requests.post(
            fake.http_url + "/v1.0/im/v1.0/robot/interactiveCards/send",
            json=send_body(robotCode=DEFAULT_CLIENT_ID),
            timeout=10,
            headers={"x-acs-dingtalk-access-token": token.json()["accessToken"]},
        )
        assert r.status_code == 200, r.text

    timer = threading.Timer(delay, send)
    timer.start()
    return timer


def test_a_predicate_calling_the_fixture_sees_the_card_without_deadlock(fakeding: ThreadedFakeDing) -> None:
    sender = _send_card_later(fakeding, 0.2)
    cards = fakeding.wait_until(lambda: fakeding.cards(), timeout=5)
    sender.join(5)
    assert [c["cardBizId"] for c in cards] == ["biz-1"]


def test_the_timeout_names_the_predicate_its_last_value_and_the_timeout(fakeding: ThreadedFakeDing) -> None:
    with pytest.raises(WaitTimeout) as info:
        fakeding.wait_until(lambda: len(fakeding.cards()) >= 3, timeout=0.2)
    message = str(info.value)
    assert "lambda: len(fakeding.cards()) >= 3" in message
    assert "last value was False" in message
    assert "0.2 s" in message
    # still the errors callers catch today
    assert isinstance(info.value, UnmetExpectation) and isinstance(info.value, TimeoutError)


def test_a_named_function_and_an_explicit_what_are_shown(fakeding: ThreadedFakeDing) -> None:
    def two_webhook_replies() -> list[dict[str, object]]:
        return fakeding.timeline(["webhook"])[:2] if len(fakeding.timeline(["webhook"])) > 1 else []

    with pytest.raises(WaitTimeout, match=r"two_webhook_replies\(\).*last value was \[\]"):
        fakeding.wait_until(two_webhook_replies, timeout=0.1)
    with pytest.raises(WaitTimeout, match="for alice's answer"):
        fakeding.wait_until(lambda: None, timeout=0.1, what="alice's answer")


def test_the_fake_keeps_serving_while_a_caller_waits(fakeding: ThreadedFakeDing) -> None:
    """Between polls the loop is free: a card arrives over HTTP during the wait."""
    sender = _send_card_later(fakeding, 0.1)
    found = fakeding.wait_until(lambda: fakeding.fake.cards(), timeout=5, what="a card")
    sender.join(5)
    assert len(found) == 1
