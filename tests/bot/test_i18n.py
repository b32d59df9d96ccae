"""The robot's texts: both locales complete and consistent, lookups fail clearly."""

from __future__ import annotations

import pytest

from bot.core import i18n
from bot.core.i18n import KEYS, LOCALES, placeholders, template, text

REQUIRED = {
    "thinking", "very_helpful", "helpful", "somewhat_helpful", "not_helpful", "voted",
    "agent_error", "agent_timeout", "empty_question", "question_too_long",
    "unsupported_picture", "unsupported_richtext", "unsupported_audio", "audio_heard",
    "unsupported_file", "unsupported_video", "unsupported_other", "no_match",
    "answer_truncated", "card_fallback_notice",
}  # fmt: skip


def test_every_required_key_exists_in_every_locale() -> None:
    for locale in LOCALES:
        for key in REQUIRED:
            assert template(locale, key).strip(), (locale, key)


def test_locales_have_the_same_keys_and_placeholders() -> None:
    tables = i18n._TEXTS
    assert set(tables) == set(LOCALES)
    for locale in LOCALES:
        assert set(tables[locale]) == set(KEYS), locale
        for key in KEYS:
            assert placeholders(tables[locale][key]) == placeholders(tables["en"][key]), key


def test_chinese_texts_are_chinese() -> None:
    for key in KEYS:
        if key in {"very_helpful", "helpful", "somewhat_helpful", "not_helpful"}:
            continue
        assert any("\u4e00" <= ch <= "\u9fff" for ch in template("zh", key)), key


def test_exact_reference_texts() -> None:
    assert text("en", "thinking") == "[Thinking] Analyzing your question, please wait..."
    assert text("zh", "thinking") == "[思考]正在分析您的问题，请稍候..."
    assert [text("en", r) for r in ("very_helpful", "helpful", "somewhat_helpful")] == [
        "😄 Very Helpful",
        "😊 Helpful",
        "🙂 Somewhat Helpful",
    ]
    assert text("en", "not_helpful") == "😅 Not Helpful"
    assert [text("zh", r) for r in ("very_helpful", "helpful", "somewhat_helpful")] == [
        "😄 非常有帮助",
        "😊 有帮助",
        "🙂 帮助不大",
    ]
    assert text("zh", "not_helpful") == "😅 没帮助"


def test_placeholders_are_filled() -> None:
    assert text("en", "voted", label="😊 Helpful") == "You rated: 😊 Helpful"
    assert "30 s" in text("en", "agent_timeout", seconds=30)
    too_long = text("zh", "question_too_long", length=5000, limit=2000)
    assert "5000" in too_long and "2000" in too_long
    assert "hello there" in text("en", "audio_heard", recognition="hello there")
    assert "- A?\n- B?" in text("en", "no_match", suggestions="- A?\n- B?")


def test_unknown_locale_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown locale 'fr'.*en, zh"):
        text("fr", "thinking")


def test_unknown_key_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown text key 'nope'.*thinking"):
        text("en", "nope")


def test_missing_placeholder_value_is_named() -> None:
    with pytest.raises(ValueError, match="needs label"):
        text("en", "voted")
