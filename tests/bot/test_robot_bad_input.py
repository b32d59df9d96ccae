"""Messages the robot cannot answer get a clear webhook reply; nothing crashes."""

from __future__ import annotations

from typing import Any

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import BotHarness, open_harness
from fakeding.core.settings import Settings
from tests.bot.robot_kit import (
    cards,
    events,
    is_final,
    markdown,
    only_card,
    records,
    violations,
    webhook_texts,
)

EMPTY = "Please type your question and I will do my best to answer it."
NOTICES = {
    "picture": "I can't read pictures yet. Please describe your question in text.",
    "richText": "I can only read plain text for now. Please send your question as a text message.",
    "audio": "I can't listen to voice messages yet. Please type your question.",
    "file": "I can't open files yet. Please paste the relevant part as text.",
    "video": "I can't watch videos yet. Please describe your question in text.",
}


def assert_healthy(h: BotHarness) -> None:
    assert violations(h) == []
    assert events(h, "agent.crash") == [] and events(h, "reply.lost") == []
    assert h.robot_task is not None and not h.robot_task.done(), "the robot is still running"


async def notice_only(send: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Send one message; return the webhook texts and the notice keys, checking no card."""
    agent = ScriptedAgent([{"chunks": ["should not be asked"]}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message(conversation_id="cidG", staff_id="alice", **send)
        await h.settle()
        assert cards(h) == [], "a notice, not a card"
        assert agent.calls == []
        hooks = records(h, "webhook")
        assert [(r.fields["msgtype"], r.fields["errcode"]) for r in hooks] == [("markdown", 0)]
        assert hooks[0].fields["request"]["at"] == {"atUserIds": ["alice"]}
        assert_healthy(h)
        return webhook_texts(h, "cidG"), [r.fields["notice"] for r in events(h, "reply.notice")]


@pytest.mark.parametrize("text", ["", "   \n\t  "], ids=["empty", "whitespace"])
@pytest.mark.fakeding_virtual
async def test_an_empty_question_asks_the_user_to_type_one(text: str) -> None:
    texts, notices = await notice_only({"text": text})
    assert texts == [EMPTY]
    assert notices == ["empty_question"]


@pytest.mark.fakeding_virtual
async def test_a_ten_thousand_character_question_is_refused_with_the_numbers() -> None:
    texts, notices = await notice_only({"text": "x" * 10_000})
    assert texts == [
        "Your message is 10000 characters long, but the limit is 4000. Please shorten it and send it again."
    ]
    assert notices == ["question_too_long"]


@pytest.mark.parametrize("msgtype", ["picture", "file", "video"])
@pytest.mark.fakeding_virtual
async def test_media_the_robot_cannot_read_get_a_notice(msgtype: str) -> None:
    texts, _ = await notice_only({"msgtype": msgtype})
    assert texts == [NOTICES[msgtype]]


@pytest.mark.fakeding_virtual
async def test_rich_text_without_text_parts_gets_a_notice() -> None:
    picture_only = {"richText": [{"pictureDownloadCode": "dl1", "downloadCode": "dl1", "type": "picture"}]}
    texts, _ = await notice_only({"msgtype": "richText", "content": picture_only})
    assert texts == [NOTICES["richText"]]


@pytest.mark.fakeding_virtual
async def test_audio_without_recognition_gets_a_notice() -> None:
    silent = {"downloadCode": "dl1", "recognition": "", "duration": 3000}
    texts, _ = await notice_only({"msgtype": "audio", "content": silent})
    assert texts == [NOTICES["audio"]]


@pytest.mark.parametrize(
    ("send", "question"),
    [
        (
            {
                "msgtype": "richText",
                "content": {
                    "richText": [
                        {"text": "How do I "},
                        {"pictureDownloadCode": "dl1", "type": "picture"},
                        {"text": " reset my password?"},
                    ]
                },
            },
            "How do I reset my password?",
        ),
        (
            {
                "msgtype": "audio",
                "content": {
                    "downloadCode": "dl1",
                    "duration": 2000,
                    "recognition": "How do I reset my password?",
                },
            },
            "How do I reset my password?",
        ),
    ],
    ids=["richText", "audio"],
)
@pytest.mark.fakeding_virtual
async def test_rich_text_and_recognised_audio_are_answered(send: dict[str, Any], question: str) -> None:
    agent = ScriptedAgent([{"chunks": ["Use the sign-in page."]}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message(conversation_id="cidG", staff_id="alice", **send)
        await h.settle()
        data = only_card(h).current
        assert is_final(data) and markdown(data, "answer") == "Use the sign-in page."
        assert webhook_texts(h, "cidG") == []
        assert_healthy(h)

    assert agent.calls == [(question, "alice")]


@pytest.mark.fakeding_virtual
async def test_a_group_message_without_at_is_not_delivered_and_gets_nothing() -> None:
    agent = ScriptedAgent([{"chunks": ["should not be asked"]}])

    async with open_harness(agent=agent) as h:
        sent = h.fake.send_message("Just chatting", conversation_id="cidG", staff_id="alice", at_bot=False)
        await h.settle()
        assert sent.delivered is False
        assert cards(h) == [] and records(h, "webhook") == [] and events(h, "message") == []
        assert_healthy(h)

    assert agent.calls == []


@pytest.mark.fakeding_virtual
async def test_a_group_message_without_at_that_reaches_the_robot_is_acked_and_ignored() -> None:
    agent = ScriptedAgent([{"chunks": ["should not be asked"]}])
    settings = Settings(extra={"deliver_group_messages_without_at": True})

    async with open_harness(agent=agent, settings=settings) as h:
        sent = h.fake.send_message("Just chatting", conversation_id="cidG", staff_id="alice", at_bot=False)
        await h.settle()
        assert sent.delivered is True
        assert [r.fields["key"] for r in records(h, "ack")] == [sent.msg_id]
        assert cards(h) == [] and records(h, "webhook") == []
        assert [e.fields["plan"] for e in events(h, "message")] == ["ignore"]
        assert_healthy(h)

    assert agent.calls == []


@pytest.mark.fakeding_virtual
async def test_a_stream_of_bad_input_leaves_the_robot_answering() -> None:
    agent = ScriptedAgent([{"chunks": ["Here you go."]}])

    async with open_harness(agent=agent) as h:
        fake = h.fake
        fake.send_message("", conversation_id="cidG", staff_id="alice")
        fake.send_message("y" * 10_000, conversation_id="cidG", staff_id="alice")
        for msgtype in ("picture", "file", "video", "audio", "richText"):
            fake.send_message(msgtype=msgtype, conversation_id="cidG", staff_id="alice", content={})
        fake.send_message("A real question?", conversation_id="cidG", staff_id="alice")
        await h.settle()
        assert len(webhook_texts(h, "cidG")) == 7
        assert markdown(only_card(h).current, "answer") == "Here you go."
        assert_healthy(h)


@pytest.mark.fakeding_virtual
async def test_notices_beyond_the_webhook_limit_of_20_a_minute_still_arrive() -> None:
    async with open_harness(agent=ScriptedAgent([])) as h:
        for n in range(25):
            h.fake.send_message(msgtype="picture", conversation_id="cidG", staff_id=f"u{n}")
        await h.settle()
        texts = webhook_texts(h, "cidG")
        assert texts == [NOTICES["picture"]] * 25
        refused = [r for r in records(h, "webhook") if r.fields["errcode"] == 130101]
        assert len(refused) == 5
        assert [r.fields["backoff"] for r in events(h, "webhook.retry")] == [60.0] * 5
        assert_healthy(h)


@pytest.mark.fakeding_virtual
async def test_a_question_of_exactly_max_question_chars_is_answered() -> None:
    agent = ScriptedAgent([{"chunks": ["Long indeed."]}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message("q" * 4000, conversation_id="cidG", staff_id="alice")
        h.fake.send_message("q" * 4001, conversation_id="cidG", staff_id="alice")
        await h.settle()
        assert markdown(only_card(h).current, "answer") == "Long indeed."
        assert webhook_texts(h, "cidG") == [
            "Your message is 4001 characters long, but the limit is 4000. "
            "Please shorten it and send it again."
        ]
        assert_healthy(h)


@pytest.mark.fakeding_virtual
async def test_notices_follow_the_robot_locale() -> None:
    async with open_harness(agent=ScriptedAgent([]), robot={"locale": "zh"}) as h:
        h.fake.send_message("  ", conversation_id="cidG", staff_id="alice")
        h.fake.send_message(msgtype="video", conversation_id="cidG", staff_id="alice")
        await h.settle()
        assert sorted(webhook_texts(h, "cidG")) == sorted(
            ["请输入您的问题，我会尽力为您解答。", "暂时还看不了视频，请用文字描述您的问题。"]
        )
        assert_healthy(h)
