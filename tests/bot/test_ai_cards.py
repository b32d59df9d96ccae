"""AI-card mode's pure parts: card variables, byte-bounded content, failure notices, clicks,
the vote answer, the config keys, and how the scenario adapter describes AI cards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core import ai_cards
from bot.core.i18n import text
from bot.errors import ConfigError
from bot.im_robots.dingtalk_stream.config import load_config
from bot.testing.report import card_state

ENV = {"DINGTALK_CLIENT_ID": "ding-app-42", "DINGTALK_CLIENT_SECRET": "s3cr3t"}


def config(tmp_path: Path, **more: object) -> Path:
    values = {"clientId": "{{DINGTALK_CLIENT_ID}}", "clientSecret": "{{DINGTALK_CLIENT_SECRET}}", **more}
    (tmp_path / "config.json").write_text(json.dumps(values), encoding="utf-8")
    return tmp_path


def test_card_mode_defaults_to_interactive_with_the_built_in_template(tmp_path: Path) -> None:
    cfg = load_config(config(tmp_path), env=ENV)
    assert (cfg.card_mode, cfg.ai_card_template_id) == ("interactive", ai_cards.AI_CARD_TEMPLATE)
    cfg = load_config(config(tmp_path, cardMode="ai", aiCardTemplateId="t.schema"), env=ENV)
    assert (cfg.card_mode, cfg.ai_card_template_id) == ("ai", "t.schema")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cardMode", "AI", "cardMode must be one of 'interactive', 'ai', found 'AI' (str)"),
        ("cardMode", 1, "cardMode must be one of 'interactive', 'ai', found 1 (int)"),
        ("aiCardTemplateId", 7, "aiCardTemplateId must be a string, found 7 (int)"),
        ("aiCardTemplateId", " ", "aiCardTemplateId must be a card template id, found ' ' (str)"),
    ],
)
def test_a_bad_card_mode_or_template_names_the_key(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(config(tmp_path, **{key: value}), env=ENV)
    assert str(err.value) == f"{tmp_path / 'config.json'}: {message}"


def test_the_thinking_card_holds_every_variable_as_a_string() -> None:
    params = ai_cards.thinking_params("  How do I\nreset my password? ", "msg1", "zh")
    assert params == {
        "title": "How do I reset my password?",
        "thinking": text("zh", "thinking"),
        "content": "",
        "flowStatus": "1",
        "msgId": "msg1",
        "tally": "",
        "feedback_very_helpful": "😄 非常有帮助",
        "feedback_helpful": "😊 有帮助",
        "feedback_somewhat_helpful": "🙂 帮助不大",
        "feedback_not_helpful": "😅 没帮助",
    }
    assert ai_cards.thinking_params("", "m", "en")["title"] == "Your question"


def test_final_content_joins_the_answer_and_the_notice() -> None:
    assert ai_cards.final_content("Answer. \n", None) == "Answer."
    assert ai_cards.final_content("Answer.", "Notice") == "Answer.\n\nNotice"
    assert ai_cards.final_content("  ", "Notice") == "Notice"


def test_fit_bytes_keeps_the_shown_part_within_the_byte_budget() -> None:
    chinese = "汉字" * 2000  # 4,000 characters, 12,000 bytes
    shown, rest = ai_cards.fit_bytes(chinese, 3000, 2400)
    assert len(shown.encode()) <= 2400 and shown + rest == chinese
    assert len(shown.encode()) > 2300, "the budget is used, not halved"
    assert ai_cards.fit_bytes("short", 3000) == ("short", "")
    words = "word " * 1000
    shown, rest = ai_cards.fit_bytes(words, 100, 3000)
    assert len(shown) <= 100 and shown.endswith("word")
    with pytest.raises(ValueError, match="max_bytes must be >= 1, found 0"):
        ai_cards.fit_bytes("x", 10, 0)


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_failure_notices_are_told_from_other_notices(locale: str) -> None:
    assert ai_cards.is_failure(text(locale, "agent_error"), locale)
    assert ai_cards.is_failure(text(locale, "agent_timeout", seconds="5"), locale)
    assert ai_cards.is_failure(text(locale, "interrupted") + "\n\nmore", locale)
    assert not ai_cards.is_failure(text(locale, "empty_answer"), locale)
    assert not ai_cards.is_failure(text(locale, "answer_truncated"), locale)
    assert not ai_cards.is_failure("", locale) and not ai_cards.is_failure(None, locale)


def test_the_vote_answer_is_private_to_the_clicking_user() -> None:
    assert ai_cards.vote_response("helpful", "en") == {
        "userPrivateData": {"cardParamMap": {"vote": "You rated: 😊 Helpful"}},
        "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
    }
    with pytest.raises(ValueError, match="found 'great'"):
        ai_cards.vote_response("great", "en")


def test_the_tally_counts_votes_in_the_fixed_order() -> None:
    assert ai_cards.tally_params({"not_helpful": 2, "helpful": 1}, "en") == {
        "tally": "Feedback so far: 😊 Helpful 1 · 😅 Not Helpful 2"
    }
    assert ai_cards.tally_params({}, "en") == {"tally": ""}


def test_a_click_is_read_from_its_params_or_else_from_its_button_id() -> None:
    params = ai_cards.click_params("helpful", "msg1")
    assert ai_cards.feedback_of({"actionIds": ["x"], "params": params}) == ("helpful", "msg1")
    assert ai_cards.feedback_of({"actionIds": ["feedback_not_helpful"], "params": {}}) == ("not_helpful", "")
    assert ai_cards.feedback_of({"actionIds": ["feedback_great"]}) is None
    assert ai_cards.feedback_of({"actionIds": [], "params": {"action": "like"}}) is None
    assert ai_cards.feedback_of("nonsense") is None


def test_the_scenario_adapter_describes_ai_card_states() -> None:
    thinking = ai_cards.thinking_params("Q?", "m", "en")
    assert card_state(thinking) == "thinking"
    assert card_state({**thinking, "content": "abc"}) == "streaming content=3 chars"
    assert card_state({**thinking, "content": "abcd", "flowStatus": "3"}) == "final content=4 chars"
    assert (
        card_state({**thinking, "content": "ab", "flowStatus": "5", "tally": "x"})
        == "failed content=2 chars tally"
    )
