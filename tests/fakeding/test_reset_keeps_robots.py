"""One robot process serves many tests: reset forgets what happened, not who is connected."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dingtalk_stream import ChatbotMessage

from fakeding import ThreadedFakeDing
from tests.fakeding.sdk import RecordingHandler, SdkRobot


def _echo(handler: RecordingHandler, msg: ChatbotMessage) -> None:
    handler.reply_text("you said " + msg.text.content.strip(), msg)


@pytest.fixture(scope="module")
def echo_robot(fakeding_server: ThreadedFakeDing) -> Iterator[SdkRobot]:
    with SdkRobot().on_messages(RecordingHandler(_echo)) as robot:
        fakeding_server.wait_until(
            lambda: fakeding_server.fake.stream.live_connections(), what="the module's robot to connect"
        )
        yield robot


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_module_scoped_robot_answers_in_every_test(
    fakeding: ThreadedFakeDing, echo_robot: SdkRobot, n: int
) -> None:
    assert fakeding.timeline(["connect"]) == [], "reset forgot the connect record ..."
    assert fakeding.fake.stream.live_connections(), "... but not the connection"
    fakeding.send_message(f"question {n}", conversation_id="cidReset", staff_id="alice")
    fakeding.wait_for("webhook")
    assert fakeding.transcript("cidReset")[-1]["text"] == f"you said question {n}"
    [api] = fakeding.timeline(["webhook"])
    assert api["errcode"] == 0


def test_reset_with_sessions_closes_connections_and_the_robot_comes_back(
    fakeding: ThreadedFakeDing, echo_robot: SdkRobot
) -> None:
    fakeding.reset(sessions=True)
    fakeding.wait_for("connect", timeout=20)  # the SDK reconnects after the close
    fakeding.send_message("still there?", conversation_id="cidReset", staff_id="alice")
    fakeding.wait_for("webhook")
    assert fakeding.transcript("cidReset")[-1]["text"] == "you said still there?"
