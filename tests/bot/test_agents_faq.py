"""The FAQ agent: parsing, ranking (English and Chinese), streaming, follow-ups, no match."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.agents import build_agent
from bot.agents.base import Chunk, Turn
from bot.agents.faq import FaqAgent, parse_faq, pieces, tokenize
from bot.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "bot/elements/imRobots.dingTalkDemo/faq.md"


def ask(agent: FaqAgent, question: str, history: list[Turn] | None = None) -> tuple[str, list[str]]:
    received: list[str] = []

    async def on_chunk(item: Chunk) -> None:
        received.append(item["data"]["content"])

    async def run() -> str:
        return await agent.answer(question, chat_id="c1", history=history or [], on_chunk=on_chunk)

    return asyncio.run(run()), received


@pytest.fixture(scope="module")
def agent() -> FaqAgent:
    return FaqAgent(SHIPPED)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "faq.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_faq_has_english_and_chinese_entries(agent: FaqAgent) -> None:
    questions = [e.question for e in agent.entries]
    assert 14 <= len(questions) <= 20
    assert {"如何重置密码？", "如何申请退款？", "如何联系人工客服？"} <= set(questions)
    assert all(e.answer for e in agent.entries)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How do I reset my password?", "How do I reset my password?"),
        ("I forgot my password", "How do I reset my password?"),
        ("I want my money back", "Can I get a refund?"),
        ("where are the invoices?", "Where can I download my invoices?"),
        ("How much does it cost?", "What plans do you offer and how much do they cost?"),
        ("what are the rate limits of the API", "What are the API rate limits?"),
        ("Do you have SAML SSO?", "Do you support single sign-on (SSO)?"),
        ("how to export all my data", "How can I export my data?"),
        ("忘记密码怎么办？", "如何重置密码？"),
        ("我想退款", "如何申请退款？"),
        ("怎么联系客服", "如何联系人工客服？"),
    ],
)
def test_questions_find_their_entry(agent: FaqAgent, question: str, expected: str) -> None:
    best = agent.best(question)
    assert best is not None and best.question == expected


def test_answer_is_streamed_in_word_chunks_that_join_exactly(agent: FaqAgent) -> None:
    answer, received = ask(agent, "How do I reset my password?")
    entry = agent.best("How do I reset my password?")
    assert entry is not None
    assert answer == entry.answer
    assert "".join(received) == answer
    assert len(received) > 5
    assert all(len(piece.split()) <= 4 for piece in received)


def test_chinese_answer_streams_four_characters_at_a_time(agent: FaqAgent) -> None:
    answer, received = ask(agent, "如何申请退款？")
    assert answer.startswith("年付套餐")
    assert "".join(received) == answer
    assert received[0] == "年付套餐"


def test_pieces_keep_every_character() -> None:
    text = "  Hello,\n\n world  重置密码 ok\t"
    for size in (1, 2, 4, 100):
        assert "".join(pieces(text, size)) == text
    assert pieces("a b c d e", 2) == ["a b ", "c d ", "e"]


def test_unrelated_question_gets_no_match_with_suggestions(agent: FaqAgent) -> None:
    answer, received = ask(agent, "What is the weather like on Mars?")
    assert answer.startswith("Sorry, I couldn't find a good answer")
    assert answer.count("\n- ") == 3
    assert "".join(received) == answer


@pytest.mark.parametrize(
    "question",
    [
        "how do I cook pasta with my acme account",
        "my cloud storage is full",
        "do you have an android app",
    ],
)
def test_questions_sharing_only_common_words_do_not_match(agent: FaqAgent, question: str) -> None:
    assert agent.ranked(question), "the question shares some words with the FAQ"
    assert agent.best(question) is None
    assert agent.reply(question).startswith("Sorry")


def test_a_one_entry_faq_still_matches(tmp_path: Path) -> None:
    only = FaqAgent(write(tmp_path, "## How do I log in?\n\nUse your email.\n"))
    assert only.reply("log in") == "Use your email."
    assert only.reply("weather") != "Use your email."


def test_chinese_no_match_suggests_chinese_questions(agent: FaqAgent) -> None:
    assert agent.best("今天天气怎么样") is None  # shares only lone characters like 天
    assert agent.suggestions("今天天气怎么样")[0].startswith("如何")


def test_zh_locale_no_match_is_in_chinese() -> None:
    answer, _ = ask(FaqAgent(SHIPPED, locale="zh"), "tell me a joke")
    assert answer.startswith("抱歉")


def test_short_follow_up_uses_the_previous_question(agent: FaqAgent) -> None:
    history = [Turn("user", "How much does it cost?"), Turn("assistant", "...")]
    with_context = agent.best("and for teams?", history)
    alone = agent.best("and for teams?")
    assert with_context is not None
    assert with_context.question.startswith("What plans do you offer")
    assert alone is None or alone != with_context


def test_long_question_ignores_history(agent: FaqAgent) -> None:
    history = [Turn("user", "How do I reset my password?")]
    best = agent.best("How can I export all of my project data?", history)
    assert best is not None and best.question == "How can I export my data?"


def test_top_entries_for_grounding(agent: FaqAgent) -> None:
    top = agent.top_entries("refund for my yearly plan", 3)
    assert 1 <= len(top) <= 3
    assert top[0][0] == "Can I get a refund?"
    assert agent.top_entries("zzzz qqqq", 3) == []


def test_answers_are_deterministic(agent: FaqAgent) -> None:
    first = [agent.reply(q) for q in ("billing", "security", "account", "xyz")]
    again = FaqAgent(SHIPPED)
    assert [again.reply(q) for q in ("billing", "security", "account", "xyz")] == first


def test_delay_sleeps_between_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "## Q one\n\none two three four five six seven\n")
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    answer, received = ask(FaqAgent(path, words_per_chunk=2, delay=0.25), "q one")
    assert received == ["one two ", "three four ", "five six ", "seven"]
    assert slept == [0.25, 0.25, 0.25]
    assert answer == "one two three four five six seven"


def test_parsing_ignores_preamble_and_fenced_headings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# Title\n\nIntro text.\n\n## First?\n\nAnswer one.\n\n### Detail\n\nMore.\n"
        "\n```\n## not a heading\n```\n\n## Second? ##\nAnswer two.\n",
    )
    entries = parse_faq(path)
    assert [e.question for e in entries] == ["First?", "Second?"]
    assert entries[0].answer.startswith("Answer one.") and "## not a heading" in entries[0].answer
    assert entries[0].line == 5
    assert entries[1].answer == "Answer two."


def test_missing_file_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.md"
    with pytest.raises(ConfigError, match="nope.md does not exist"):
        FaqAgent(path)


@pytest.mark.parametrize("content", ["", "# Only a title\n\nno entries\n"])
def test_empty_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ConfigError, match="has no entries") as info:
        FaqAgent(path)
    assert str(path) in str(info.value)


def test_entry_without_answer_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "## One\nA.\n\n## Two\n\n## Three\nC.\n")
    with pytest.raises(ConfigError, match="'Two' at line 4"):
        FaqAgent(path)


def test_tokenize_folds_plurals_drops_function_words_and_splits_chinese() -> None:
    assert tokenize("How do I add Seats and invoices?") == ["add", "seat", "invoice"]
    assert tokenize("重置密码") == ["重", "置", "密", "码", "重置", "置密", "密码"]


@pytest.mark.parametrize(
    "kwargs",
    [{"words_per_chunk": 0}, {"delay": -1.0}, {"min_score": -0.5}, {"locale": "fr"}],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FaqAgent(SHIPPED, **kwargs)  # type: ignore[arg-type]


def test_build_agent_faq_defaults_to_faq_md_in_base_dir() -> None:
    agent = build_agent("faq", base_dir=SHIPPED.parent, locale="zh")
    assert isinstance(agent, FaqAgent)
    assert agent.path == SHIPPED
    assert agent.locale == "zh"


def test_build_agent_faq_options(tmp_path: Path) -> None:
    write(tmp_path, "## Q\n\nA a a.\n")
    (tmp_path / "other.md").write_text("## Other?\n\nYes.\n", encoding="utf-8")
    spec = {"name": "faq", "faq": "other.md", "delay": 0.5, "words_per_chunk": 2}
    agent = build_agent(spec, base_dir=tmp_path)
    assert isinstance(agent, FaqAgent)
    assert (agent.path.name, agent.delay, agent.words_per_chunk) == ("other.md", 0.5, 2)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "faq", "faq": "missing.md"}, "missing.md does not exist"),
        ({"name": "faq", "delay": "slow"}, "option 'delay' must be int or float, found str"),
        ({"name": "faq", "words_per_chunk": 0}, "agent 'faq': words_per_chunk must be >= 1"),
        ({"name": "faq", "dealy": 1}, r"unknown option\(s\) dealy; expected delay, faq"),
    ],
)
def test_build_agent_faq_errors(tmp_path: Path, spec: dict[str, object], message: str) -> None:
    write(tmp_path, "## Q\n\nA.\n")
    with pytest.raises(ConfigError, match=message):
        build_agent(spec, base_dir=tmp_path)
