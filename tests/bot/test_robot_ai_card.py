"""AI-card mode (``cardMode: "ai"``) through the fake: one card instance per answer, created in
the thinking state, streamed with full content under the throttle, closed exactly once
(finished, or failed with the notice), retried and fallen back like interactive cards, and
finished by a robot that takes the message over."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.core.ai_cards import AI_CARD_TEMPLATE
from bot.scenario_adapter import BotHarness, open_harness
from fakeding.core.cards import Card
from fakeding.core.recorder import Record
from fakeding.core.settings import DEFAULT_CLIENT_ID, Settings
from tests.bot.robot_kit import (
    AGENT_ERROR,
    QPS_CODE,
    SEND_ROUTE,
    THINKING,
    UPDATE_ROUTE,
    agent_timeout_notice,
    api_calls,
    events,
    only_card,
    records,
    restart_robot,
    stop_robot,
    violations,
)

CREATE_ROUTE = "POST /v1.0/card/instances/createAndDeliver"
STREAM_ROUTE = "PUT /v1.0/card/streaming"
AI = {"cardMode": "ai"}
QUESTION = "Tell me everything"
EMPTY = "⚠️ Sorry, the assistant returned an empty answer. Please rephrase your question or try again."


def pieces(n: int) -> list[str]:
    return [f"w{i} " for i in range(1, n + 1)]


def streams(h: BotHarness, status: int | None = 200) -> list[dict[str, Any]]:
    """Request bodies of the streaming calls the platform answered with ``status``."""
    return [r.fields["request"] for r in api_calls(h, STREAM_ROUTE, status=status)]


def closing(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bodies if b["isFinalize"] or b["isError"]]


def no_interactive_calls(h: BotHarness) -> bool:
    return api_calls(h, SEND_ROUTE) == [] and api_calls(h, UPDATE_ROUTE) == []


@pytest.mark.fakeding_virtual
async def test_group_answer_is_created_thinking_streamed_in_full_and_finalized_once() -> None:
    chunks = pieces(12)

    async with open_harness(agent=ScriptedAgent([{"chunks": chunks, "delay": 0.1}]), robot=AI) as h:
        sent = h.fake.send_message(QUESTION, conversation_id="cidGroup==", staff_id="alice", nick="Alice")
        await h.settle()
        card = only_card(h)
        [create] = api_calls(h, CREATE_ROUTE, status=200)
        request = create.fields["request"]
        assert request["cardTemplateId"] == AI_CARD_TEMPLATE
        assert request["outTrackId"] == card.id and request["callbackType"] == "STREAM"
        assert request["openSpaceId"] == "dtv1.card//IM_GROUP.cidGroup=="
        assert request["imGroupOpenDeliverModel"] == {
            "robotCode": DEFAULT_CLIENT_ID,
            "atUserIds": {"alice": "Alice"},
        }
        thinking = card.versions[0].card_data
        assert thinking["flowStatus"] == "1" and thinking["content"] == ""
        assert thinking["thinking"] == THINKING["en"] and thinking["msgId"] == sent.msg_id
        assert thinking["feedback_helpful"] == "😊 Helpful" and thinking["title"] == QUESTION
        assert (card.kind, card.conversation_id, card.callback_type) == ("instance", "cidGroup==", "STREAM")
        bodies = streams(h)
        assert [b["content"] for b in bodies] == [
            "".join(chunks[:5]),
            "".join(chunks[:10]),
            "".join(chunks).rstrip(),
        ]
        assert all(b["isFull"] is True and b["key"] == "content" for b in bodies)
        assert [b["isFinalize"] for b in bodies] == [False, False, True]
        assert not any(b["isError"] for b in bodies)
        assert len({b["guid"] for b in bodies}) == 3
        assert (card.current["flowStatus"], card.finalized, card.failed) == ("3", True, False)
        assert card.current["content"] == "".join(chunks).rstrip()
        assert [e.fields["state"] for e in events(h, "card.closed")] == ["finished"]
        assert no_interactive_calls(h) and violations(h) == []


@pytest.mark.fakeding_virtual
async def test_one_to_one_answer_goes_to_the_robot_chat_space() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": ["Hello ", "there."]}]), robot=AI) as h:
        h.fake.send_message(
            QUESTION, conversation_id="cidDirect==", conversation_type="single", staff_id="bob"
        )
        await h.settle()
        card = only_card(h)
        [create] = api_calls(h, CREATE_ROUTE, status=200)
        request = create.fields["request"]
        assert request["openSpaceId"] == "dtv1.card//IM_ROBOT.bob"
        assert request["imRobotOpenDeliverModel"] == {"spaceType": "IM_ROBOT"}
        assert "imGroupOpenDeliverModel" not in request
        assert card.single_user == "bob" and card.finalized
        assert card.current["content"] == "Hello there."
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_two_hundred_chunks_make_exactly_twenty_streaming_calls_the_last_one_closing() -> None:
    chunks = pieces(200)

    async with open_harness(agent=ScriptedAgent([{"chunks": chunks, "delay": 0.01}]), robot=AI) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        bodies = streams(h)
        assert len(bodies) == 20, "19 streaming updates and the closing one"
        assert [b["isFinalize"] for b in bodies] == [False] * 19 + [True]
        texts = [b["content"] for b in bodies]
        assert all(len(a) < len(b) for a, b in zip(texts, texts[1:], strict=False))
        assert all("".join(chunks).startswith(t) for t in texts)
        assert sum(1 for v in card.versions if v.source == "stream") == 20
        assert card.current["content"] == "".join(chunks).rstrip() and card.finalized
        assert any(not r.fields["update"] and r.fields["reason"] == "cap" for r in events(h, "throttle"))
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_custom_template_id_from_config_is_used() -> None:
    async with open_harness(
        agent=ScriptedAgent([{"chunks": ["ok"]}]), robot={**AI, "aiCardTemplateId": "acme-answer.schema"}
    ) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        assert only_card(h).template_id == "acme-answer.schema"


@pytest.mark.fakeding_virtual
async def test_agent_error_mid_stream_ends_in_the_failed_state_with_the_partial_answer_and_notice() -> None:
    chunks = pieces(7)

    async with open_harness(
        agent=ScriptedAgent([{"chunks": chunks, "delay": 0.1, "error": "boom"}]), robot=AI
    ) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        [close] = closing(streams(h))
        assert close["isError"] is True and close["isFinalize"] is False
        assert close["content"] == "".join(chunks).rstrip() + "\n\n" + AGENT_ERROR
        assert (card.current["flowStatus"], card.failed, card.finalized) == ("5", True, False)
        assert [e.fields["state"] for e in events(h, "card.closed")] == ["failed"]
        assert len(events(h, "agent.error")) == 1 and violations(h) == []


@pytest.mark.fakeding_virtual
async def test_an_agent_that_hangs_is_cut_at_the_timeout_and_the_card_fails_with_the_notice() -> None:
    async with open_harness(
        agent=ScriptedAgent([{"chunks": ["Half ", "an "], "delay": 0.5, "hang": True}]),
        robot={**AI, "agentTimeout": 5},
    ) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        [close] = closing(streams(h))
        assert close["isError"] is True
        assert close["content"] == "Half an\n\n" + agent_timeout_notice("5")
        [timeout] = events(h, "agent.timeout")
        assert timeout.t == 5.0
        assert card.failed and card.current["flowStatus"] == "5"
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_an_empty_answer_is_finished_with_the_notice_not_failed() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": []}]), robot=AI) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        [close] = closing(streams(h))
        assert close["isFinalize"] is True and close["content"] == EMPTY
        assert card.finalized and not card.failed
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_qps_refusal_of_the_closing_call_is_retried_with_backoff_and_the_card_finishes() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": ["Short ", "answer."]}]), robot=AI) as h:
        h.fake.fault({"kind": "api", "route": STREAM_ROUTE, "status": 403, "code": QPS_CODE, "count": 2})
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        refused = api_calls(h, STREAM_ROUTE, status=403)
        assert len(refused) == 2
        [ok] = streams(h)
        assert ok["isFinalize"] is True and ok["content"] == "Short answer."
        assert [v.source for v in card.versions] == ["create", "deliver", "stream"]
        retries = events(h, "api.retry")
        assert [r.fields["code"] for r in retries] == [QPS_CODE, QPS_CODE]
        assert all(r.fields["backoff"] >= 1.0 for r in retries), "QPS refusals wait the window"
        assert card.finalized and events(h, "card.final.failed") == []
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_refused_streaming_update_is_skipped_not_retried_and_the_answer_still_closes() -> None:
    chunks = pieces(12)

    async with open_harness(agent=ScriptedAgent([{"chunks": chunks, "delay": 0.1}]), robot=AI) as h:
        h.fake.fault({"kind": "api", "route": STREAM_ROUTE, "status": 403, "code": QPS_CODE, "count": 1})
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        assert len(api_calls(h, STREAM_ROUTE, status=403)) == 1
        assert [e.fields["error"] for e in events(h, "card.stream.failed")] == [QPS_CODE]
        assert [b["isFinalize"] for b in streams(h)] == [False, True]
        assert card.finalized and card.current["content"] == "".join(chunks).rstrip()


@pytest.mark.fakeding_virtual
async def test_thirty_answers_at_once_keep_each_api_under_its_own_twenty_qps_budget() -> None:
    turn = {"chunks": pieces(40), "delay": 0.05}
    async with open_harness(agent=ScriptedAgent([turn] * 30), robot=AI, settings=Settings(qps_limit=20)) as h:
        for i in range(30):
            h.fake.send_message(f"Question {i}?", conversation_id=f"cid{i}==", staff_id=f"u{i}")
        await h.settle()
        cards = h.fake.platform.cards.all()
        assert len(cards) == 30 and all(c.finalized for c in cards)
        per_second: Counter[tuple[str, int]] = Counter(
            (r.fields["route"], int(r.t))
            for r in records(h, "api")
            if r.fields["route"] in (CREATE_ROUTE, STREAM_ROUTE)
        )
        assert max(per_second.values()) <= 20
        assert {route for route, _ in per_second} == {CREATE_ROUTE, STREAM_ROUTE}
        assert api_calls(h, STREAM_ROUTE, status=403) == []
        assert api_calls(h, CREATE_ROUTE, status=403) == []
        assert all(sum(1 for v in c.versions if v.source == "stream") <= 20 for c in cards)
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_closing_call_that_keeps_failing_falls_back_to_the_webhook_then_repairs_the_card() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": ["Short ", "answer."]}]), robot=AI) as h:
        h.fake.fault(
            {"kind": "api", "route": STREAM_ROUTE, "status": 500, "code": "unknownError", "count": 5}
        )
        h.fake.send_message(QUESTION, conversation_id="cidG==", staff_id="alice")
        await h.settle()
        card = only_card(h)
        assert len(events(h, "card.final.failed")) == 1
        assert len(events(h, "reply.fallback")) == 1
        [hook] = records(h, "webhook")
        assert "Short answer." in str(hook.fields)
        [repaired] = events(h, "card.repaired")
        assert repaired.fields["attempt"] == 1
        assert card.finalized and card.current["content"] == "Short answer."
        assert len(closing(streams(h))) == 1


@pytest.mark.fakeding_virtual
async def test_a_card_that_cannot_be_created_is_answered_by_webhook() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": ["Short ", "answer."]}]), robot=AI) as h:
        h.fake.fault(
            {"kind": "api", "route": CREATE_ROUTE, "status": 500, "code": "unknownError", "count": 20}
        )
        h.fake.send_message(QUESTION, conversation_id="cidG==", staff_id="alice")
        await h.settle()
        assert h.fake.platform.cards.all() == []
        assert streams(h, None) == []
        assert len(events(h, "card.thinking.failed")) == 1
        assert len(events(h, "reply.fallback")) == 1


@pytest.mark.fakeding_virtual
async def test_a_robot_that_takes_over_an_answered_message_closes_the_ai_card(tmp_path: Path) -> None:
    """The first robot kept the answer but could not close the card (the streaming API failed)
    and stopped before its repair; the next robot finds the message in the store and closes
    the same card with the kept answer."""

    async with open_harness(
        agent=ScriptedAgent([{"chunks": ["Kept ", "answer."]}]), robot=AI, store_dir=tmp_path
    ) as h:
        h.fake.fault(
            {"kind": "api", "route": STREAM_ROUTE, "status": 500, "code": "unknownError", "count": 5}
        )
        h.fake.send_message(QUESTION, conversation_id="cidG==", staff_id="alice")
        await h.sleep_until(10.0)
        card = only_card(h)
        assert not card.finalized and card.current["flowStatus"] == "1"
        robot, task = await restart_robot(h, ScriptedAgent([]))
        try:
            await h.fake.wait_until(lambda: card.finalized, timeout=60, what="the card closed")
            recovered = [r for r in records(h, "bot.recovery") if r.fields.get("robot") == "restarted"]
            assert [r.fields["state"] for r in recovered] == ["answered"]
            assert card.finalized and card.current["content"] == "Kept answer."
            assert len(h.fake.platform.cards.all()) == 1
            assert len(closing(streams(h))) == 1
        finally:
            await stop_robot(robot, task)


def _vote(card: Card, user: str) -> str | None:
    return card.private_data.get(user, {}).get("vote")


def click(h: BotHarness, card: Card, user: str, rating: str) -> None:
    """A click as the template's button sends it: its id and its callback params."""
    h.fake.click(
        card.id,
        staff_id=user,
        button_id=f"feedback_{rating}",
        params={"action": "feedback", "rating": rating, "msgId": card.current["msgId"]},
    )


def acks(h: BotHarness) -> list[Record]:
    return [r for r in records(h, "ack") if "card" in str(r.fields.get("topic"))]


@pytest.mark.fakeding_virtual
async def test_in_a_group_each_user_sees_their_own_vote_and_everyone_the_tally() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": ["Within ", "14 days."]}]), robot=AI) as h:
        sent = h.fake.send_message(QUESTION, conversation_id="cidGroup==", staff_id="alice")
        await h.settle()
        card = only_card(h)
        await h.sleep_until(30.0)
        click(h, card, "alice", "helpful")
        click(h, card, "bob", "not_helpful")
        await h.settle()
        assert _vote(card, "alice") == "You rated: 😊 Helpful"
        assert _vote(card, "bob") == "You rated: 😅 Not Helpful"
        assert "vote" not in card.current, "a user's vote is never in the shared data"
        assert card.current["tally"] == "Feedback so far: 😊 Helpful 1 · 😅 Not Helpful 1"
        assert card.current["flowStatus"] == "3" and card.finalized
        assert all(r.fields["after"] < 2.0 for r in acks(h)) and len(acks(h)) == 2
        click(h, card, "alice", "very_helpful")
        await h.settle()
        assert _vote(card, "alice") == "You rated: 😄 Very Helpful"
        assert _vote(card, "bob") == "You rated: 😅 Not Helpful"
        assert card.current["tally"] == "Feedback so far: 😄 Very Helpful 1 · 😅 Not Helpful 1"
        assert h.robot.store is not None
        votes = {(v.user_id, v.rating, v.msg_id) for v in h.robot.store.feedback()}
        assert votes == {("alice", "very_helpful", sent.msg_id), ("bob", "not_helpful", sent.msg_id)}
        assert [e.fields["changed"] for e in events(h, "feedback")] == [False, False, True]
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_in_a_one_to_one_chat_the_vote_is_private_and_no_tally_is_written() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": ["ok"]}]), robot=AI) as h:
        h.fake.send_message(
            QUESTION, conversation_id="cidDirect==", conversation_type="single", staff_id="bob"
        )
        await h.settle()
        card = only_card(h)
        click(h, card, "bob", "somewhat_helpful")
        await h.settle()
        assert _vote(card, "bob") == "You rated: 🙂 Somewhat Helpful"
        assert card.current["tally"] == ""
        assert api_calls(h, "PUT /v1.0/card/instances") == []
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_click_naming_only_its_button_still_counts_and_shows_in_chinese() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": ["好的"]}]), robot={**AI, "locale": "zh"}) as h:
        h.fake.send_message(QUESTION, conversation_id="cidGroup==", staff_id="alice")
        await h.settle()
        card = only_card(h)
        h.fake.click(card.id, staff_id="carol", button_id="feedback_not_helpful")
        await h.settle()
        assert _vote(card, "carol") == "您的评价：😅 没帮助"
        assert card.current["tally"] == "目前的反馈：😅 没帮助 1"
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_click_that_is_not_feedback_is_acked_without_changes() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": ["ok"]}]), robot=AI) as h:
        h.fake.send_message(QUESTION, conversation_id="cidGroup==", staff_id="alice")
        await h.settle()
        card = only_card(h)
        versions = len(card.versions)
        h.fake.click(card.id, staff_id="carol", button_id="something_else", params={"action": "like"})
        await h.settle()
        assert len(card.versions) == versions and card.private_data == {}
        assert len(acks(h)) == 1 and events(h, "feedback") == []
