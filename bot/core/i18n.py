"""Every sentence the robot says to users, in English and Chinese, kept in one place.

``text(locale, key, **fmt)`` looks a sentence up and fills its ``{placeholders}``. Both
locales define the same keys with the same placeholders (the tests check it).
"""

from __future__ import annotations

import string

LOCALES = ("en", "zh")

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "thinking": "[Thinking] Analyzing your question, please wait...",
        "untitled": "Your question",
        "title_notice": "Customer service",
        "interrupted": (
            "⚠️ The assistant was restarted while answering. Any partial answer above is kept; "
            "please send your question again."
        ),
        "empty_answer": "⚠️ Sorry, the assistant returned an empty answer. Please rephrase "
        "your question or try again.",
        "very_helpful": "😄 Very Helpful",
        "helpful": "😊 Helpful",
        "somewhat_helpful": "🙂 Somewhat Helpful",
        "not_helpful": "😅 Not Helpful",
        "voted": "You rated: {label}",
        "tally": "Feedback so far: {counts}",
        "agent_error": (
            "⚠️ Sorry, the assistant ran into an error. Any partial answer above is kept; "
            "please send your question again in a moment."
        ),
        "agent_timeout": (
            "⚠️ Sorry, the assistant took longer than {seconds} s to answer. Any partial "
            "answer above is kept; please send your question again in a moment."
        ),
        "empty_question": "Please type your question and I will do my best to answer it.",
        "question_too_long": (
            "Your message is {length} characters long, but the limit is {limit}. "
            "Please shorten it and send it again."
        ),
        "unsupported_picture": ("I can't read pictures yet. Please describe your question in text."),
        "unsupported_richtext": (
            "I can only read plain text for now. Please send your question as a text message."
        ),
        "unsupported_audio": ("I can't listen to voice messages yet. Please type your question."),
        "audio_heard": ('I heard: "{recognition}". If that is your question, please send it as text.'),
        "unsupported_file": ("I can't open files yet. Please paste the relevant part as text."),
        "unsupported_video": ("I can't watch videos yet. Please describe your question in text."),
        "unsupported_other": ("I can't handle this kind of message yet. Please send your question as text."),
        "no_match": (
            "Sorry, I couldn't find a good answer to that in our FAQ. "
            "You could ask me about:\n\n{suggestions}\n\n"
            "or rephrase your question."
        ),
        "answer_truncated": ("The answer is too long for one card; the rest follows as a separate message."),
        "card_fallback_notice": (
            "(Interactive cards are unavailable right now, so this answer is sent as plain text.)"
        ),
    },
    "zh": {
        "thinking": "[思考]正在分析您的问题，请稍候...",
        "untitled": "您的问题",
        "title_notice": "智能客服",
        "interrupted": "⚠️ 回答过程中助手重启了。上方已生成的部分回答会保留，请重新发送您的问题。",
        "empty_answer": "⚠️ 抱歉，助手返回了空的回答。请换个说法或稍后再试。",
        "very_helpful": "😄 非常有帮助",
        "helpful": "😊 有帮助",
        "somewhat_helpful": "🙂 帮助不大",
        "not_helpful": "😅 没帮助",
        "voted": "您的评价：{label}",
        "tally": "目前的反馈：{counts}",
        "agent_error": "⚠️ 抱歉，助手出错了。上方已生成的部分回答会保留，请稍后重新发送您的问题。",
        "agent_timeout": (
            "⚠️ 抱歉，助手超过 {seconds} 秒仍未完成回答。上方已生成的部分回答会保留，请稍后重新发送您的问题。"
        ),
        "empty_question": "请输入您的问题，我会尽力为您解答。",
        "question_too_long": ("您的消息有 {length} 个字符，超过了 {limit} 个字符的上限，请精简后重新发送。"),
        "unsupported_picture": "暂时还看不懂图片，请用文字描述您的问题。",
        "unsupported_richtext": "目前只能读取纯文本，请以文字消息发送您的问题。",
        "unsupported_audio": "暂时还听不了语音，请输入文字提问。",
        "audio_heard": "我听到的是：“{recognition}”。如果这就是您的问题，请以文字形式发送。",
        "unsupported_file": "暂时还打不开文件，请把相关内容以文字形式粘贴过来。",
        "unsupported_video": "暂时还看不了视频，请用文字描述您的问题。",
        "unsupported_other": "暂时无法处理这类消息，请以文字形式发送您的问题。",
        "no_match": (
            "抱歉，常见问题里没有找到合适的答案。您可以试着问我：\n\n{suggestions}\n\n或者换个说法再问一次。"
        ),
        "answer_truncated": "回答较长，卡片里放不下，剩余内容将以单独的消息发送。",
        "card_fallback_notice": "（互动卡片暂时无法使用，本次回答以纯文本形式发送。）",
    },
}

KEYS = tuple(_TEXTS["en"])


def placeholders(template: str) -> frozenset[str]:
    """Names of the ``{placeholders}`` in a template."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def template(locale: str, key: str) -> str:
    """The unfilled sentence for ``key`` in ``locale``; ValueError names what is known."""
    table = _TEXTS.get(locale)
    if table is None:
        raise ValueError(f"unknown locale {locale!r}: expected one of {', '.join(LOCALES)}")
    found = table.get(key)
    if found is None:
        raise ValueError(f"unknown text key {key!r} for locale {locale!r}: expected one of {', '.join(KEYS)}")
    return found


def text(locale: str, key: str, **fmt: object) -> str:
    """The sentence for ``key`` in ``locale`` with ``{placeholders}`` filled from ``fmt``."""
    raw = template(locale, key)
    missing = placeholders(raw) - fmt.keys()
    if missing:
        raise ValueError(
            f"text {key!r} needs {', '.join(sorted(missing))}: found only "
            f"{', '.join(sorted(fmt)) or 'no values'}; pass them as keyword arguments"
        )
    return raw.format(**fmt)
