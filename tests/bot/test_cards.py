"""Card builders: StandardCard shape, unique ids, feedback buttons, splitting long answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core.cards import (
    RATINGS,
    feedback_from_params,
    final_card,
    fit_answer,
    render_text,
    streaming_card,
    thinking_card,
    title_for,
)


def ids(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "id" in node:
            yield node["id"]
        for value in node.values():
            yield from ids(value)
    elif isinstance(node, list):
        for item in node:
            yield from ids(item)


def all_cards() -> list[dict[str, Any]]:
    return [
        thinking_card("How?", "en"),
        streaming_card("How?", "Partial", "en"),
        final_card("How?", "Answer", "m1", "en"),
        final_card("How?", "Answer", "m1", "zh", notice="Oops", vote="helpful"),
        final_card("How?", "", "m1", "en", notice="Oops"),
        final_card("How?", "Answer", "m1", "en", tally={"helpful": 2, "not_helpful": 1}),
    ]


def test_thinking_card_has_the_standard_shape() -> None:
    card = thinking_card("  How do I\nreset my password? ", "en")
    assert card == {
        "config": {"autoLayout": True, "enableForward": True},
        "header": {"title": {"type": "text", "text": "How do I reset my password?"}},
        "contents": [
            {
                "type": "markdown",
                "text": "[Thinking] Analyzing your question, please wait...",
                "id": "thinking",
            }
        ],
    }


def test_every_card_is_json_and_has_unique_element_ids() -> None:
    for card in all_cards():
        assert json.loads(json.dumps(card, ensure_ascii=False)) == card
        found = list(ids(card))
        assert len(found) == len(set(found)), found


def test_final_card_has_four_request_buttons_carrying_the_msg_id() -> None:
    card = final_card("Q", "**Answer**", "msg-42", "en")
    kinds = [element["type"] for element in card["contents"]]
    assert kinds == ["markdown", "divider", "action"]
    row = card["contents"][-1]
    assert row["id"] == "feedback"
    buttons = row["actions"]
    assert [b["id"] for b in buttons] == [f"feedback_{r}" for r in RATINGS]
    for button, rating in zip(buttons, RATINGS, strict=True):
        assert button["type"] == "button"
        assert button["actionType"] == "request"
        assert button["status"] == "normal"
        assert button["label"]["id"] == f"feedback_{rating}_label"
        assert button["value"] == {"action": "feedback", "rating": rating, "msgId": "msg-42"}
        assert feedback_from_params(button["value"]) == (rating, "msg-42")


def test_final_card_reads_like_a_person_sees_it() -> None:
    card = final_card("Refunds?", "Within 14 days.", "m", "en", notice="Note", vote="helpful")
    assert render_text(card) == "\n".join(
        [
            "Refunds?",
            "Within 14 days.",
            "Note",
            "---",
            "You rated: 😊 Helpful",
            "[ 😄 Very Helpful ] [ 😊 Helpful ] [ 🙂 Somewhat Helpful ] [ 😅 Not Helpful ]",
        ]
    )


def test_chinese_final_card_uses_chinese_labels() -> None:
    text = render_text(final_card("退款？", "14 天内", "m", "zh", vote="not_helpful"))
    assert "您的评价：😅 没帮助" in text
    assert "[ 😄 非常有帮助 ] [ 😊 有帮助 ] [ 🙂 帮助不大 ] [ 😅 没帮助 ]" in text


def test_blank_answer_with_a_notice_shows_only_the_notice() -> None:
    card = final_card("Q", "  ", "m", "en", notice="The assistant hit an error")
    assert [e["id"] for e in card["contents"]] == ["notice", "divider", "feedback"]


def test_unknown_vote_is_rejected() -> None:
    with pytest.raises(ValueError, match="'great'"):
        final_card("Q", "A", "m", "en", vote="great")


def test_streaming_card_shows_thinking_until_text_arrives() -> None:
    assert "[Thinking]" in render_text(streaming_card("Q", "", "en"))
    assert render_text(streaming_card("Q", "Hello wor", "en")) == "Q\nHello wor"


def test_a_blank_question_gets_a_fallback_title() -> None:
    assert render_text(thinking_card("   ", "zh")).splitlines()[0] == "您的问题"


def test_a_tally_counts_each_rating_in_button_order() -> None:
    card = final_card("Q", "A", "m1", "en", tally={"not_helpful": 1, "helpful": 2})
    assert "Feedback so far: 😊 Helpful 2 · 😅 Not Helpful 1" in render_text(card)


def test_title_is_one_line_and_cut_with_an_ellipsis() -> None:
    assert title_for(" a\n\tb  c ") == "a b c"
    assert title_for("x" * 60) == "x" * 60
    cut = title_for("word " * 30, limit=20)
    assert len(cut) <= 20 and cut.endswith("…")
    assert cut == "word word word word…"
    with pytest.raises(ValueError, match="limit"):
        title_for("q", limit=0)


def test_fit_answer_keeps_short_answers_whole() -> None:
    assert fit_answer("short", 10) == ("short", "")
    assert fit_answer("x" * 10, 10) == ("x" * 10, "")


def test_fit_answer_prefers_a_paragraph_break() -> None:
    answer = "First paragraph here.\n\nSecond one is long enough to overflow."
    shown, rest = fit_answer(answer, 40)
    assert shown == "First paragraph here."
    assert rest == "Second one is long enough to overflow."


def test_fit_answer_falls_back_to_line_then_space_then_hard_cut() -> None:
    shown, rest = fit_answer("line one is here\nline two goes on and on", 25)
    assert (shown, rest) == ("line one is here", "line two goes on and on")
    shown, rest = fit_answer("alpha beta gamma delta", 12)
    assert (shown, rest) == ("alpha beta", "gamma delta")
    assert fit_answer("abcdefghij", 4) == ("abcd", "efghij")


def test_fit_answer_never_exceeds_the_limit_and_loses_only_whitespace() -> None:
    answer = "\n\n".join(f"Paragraph {i}: " + "word " * (i * 7) for i in range(12))
    for limit in (1, 7, 50, 99, 333):
        shown, rest = fit_answer(answer, limit)
        assert 0 < len(shown) <= limit
        assert "".join((shown + rest).split()) == "".join(answer.split())


def test_fit_answer_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError, match="found 0"):
        fit_answer("abc", 0)


@pytest.mark.parametrize(
    "params",
    [
        None,
        "feedback",
        {},
        {"action": "other", "rating": "helpful", "msgId": "m"},
        {"action": "feedback", "rating": "great", "msgId": "m"},
        {"action": "feedback", "rating": "helpful"},
        {"action": "feedback", "rating": "helpful", "msgId": ""},
        {"action": "feedback", "rating": "helpful", "msgId": 7},
        {"action": "feedback", "rating": ["helpful"], "msgId": "m"},
        {"action": "feedback", "rating": "helpful", "msgId": "m" * 1000},
    ],
)
def test_feedback_from_params_rejects_anything_else(params: object) -> None:
    assert feedback_from_params(params) is None


def test_feedback_from_params_accepts_extra_keys() -> None:
    params = {"action": "feedback", "rating": "not_helpful", "msgId": "abc", "x": 1}
    assert feedback_from_params(params) == ("not_helpful", "abc")


def test_render_text_tolerates_unknown_elements() -> None:
    card = {"header": {"title": {"text": "T"}}, "contents": [{"type": "image", "id": "i"}]}
    assert render_text(card) == "T\n<image>"
