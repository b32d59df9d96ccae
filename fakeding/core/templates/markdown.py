"""DingTalk's markdown subset, per surface, and the quirks that change what users see.

Why: DingTalk draws only part of markdown (headings, bold/italic, links, images, lists, ``>``
quotes, ``<font color>``); tables and code fences stay literal, and AI-card content ignores a
single newline. A report or emulator that draws full markdown shows the author a card their
users never see. Pure: text in, HTML (escaped, safe to insert) or quirk messages out.

Surfaces: ``ai`` (AI-card markdown variables), ``card`` (interactive-card markdown),
``robot`` (``sampleMarkdown`` messages).
"""

from __future__ import annotations

import html
import re

SURFACES = ("ai", "card", "robot")

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_LIST = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+(.*)$")
_QUOTE = re.compile(r"^>\s?(.*)$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_FONT = re.compile(
    r"&lt;font\s+color\s*=\s*(?:&quot;|&#x27;)?(#?[0-9A-Za-z]+)"
    r"(?:&quot;|&#x27;)?\s*&gt;(.*?)&lt;/font&gt;",
    re.S,
)
_BR = re.compile(r"&lt;br\s*/?&gt;", re.I)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^>]*>")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_SAFE_URL = re.compile(r"^https?://", re.I)


def to_html(text: str, surface: str = "card") -> str:
    """``text`` as the DingTalk client draws it on ``surface``, as safe HTML."""
    blocks: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            joiner = " " if surface == "ai" else "<br>"
            blocks.append("<p>" + joiner.join(_inline(p) for p in paragraph) + "</p>")
            paragraph.clear()

    in_fence = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        if in_fence or _FENCE.match(line) or _TABLE_ROW.match(line):
            flush()  # shown literally, as the client does
            blocks.append(f'<p class="literal">{html.escape(line)}</p>')
            continue
        if not line.strip():
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            continue
        item = _LIST.match(line)
        if item:
            flush()
            blocks.append(f"<li>{_inline(item.group(1))}</li>")
            continue
        quote = _QUOTE.match(line)
        if quote:
            flush()
            blocks.append(f"<blockquote>{_inline(quote.group(1))}</blockquote>")
            continue
        paragraph.append(line)
    flush()
    return "".join(blocks)


def _inline(line: str) -> str:
    out = html.escape(line)
    out = _IMAGE.sub(
        lambda m: (
            f'<img alt="{m.group(1)}" src="{m.group(2)}">'
            if _SAFE_URL.match(html.unescape(m.group(2)))
            else f"[image {m.group(2)}]"
        ),
        out,
    )
    out = _LINK.sub(
        lambda m: (
            f'<a href="{m.group(2)}" target="_blank" rel="noopener">{m.group(1)}</a>'
            if _SAFE_URL.match(html.unescape(m.group(2)))
            else m.group(0)
        ),
        out,
    )
    out = _BOLD.sub(r"<b>\1</b>", out)
    out = _ITALIC.sub(r"<i>\1</i>", out)
    out = _FONT.sub(r'<span style="color:\1">\2</span>', out)
    out = _BR.sub("<br>", out)
    return out


def markdown_quirks(text: str, surface: str = "card") -> list[str]:
    """What in ``text`` users will see differently from what its author probably meant."""
    quirks: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        if _TABLE_ROW.match(line) and i > 0 and lines[i - 1].strip() and not _TABLE_ROW.match(lines[i - 1]):
            quirks.append(
                f"line {i + 1}: a table without a blank line before it is drawn as "
                "text; put an empty line before the table"
            )
            break
    tags = sorted({m.group(2).lower() for m in _TAG.finditer(text)} - {"font", "br"})
    if tags:
        quirks.append(
            f"HTML tags {', '.join('<' + t + '>' for t in tags)} are shown as text "
            "(only <font color> and <br> are drawn)"
        )
    for m in _IMAGE.finditer(text):
        if not _SAFE_URL.match(m.group(2)):
            quirks.append(
                f"image {m.group(2)[:40]!r} is not an http(s) URL (a mediaId is not "
                "an image URL in markdown); upload the image and use its URL"
            )
    if surface == "ai" and re.search(r"[^\n]\n(?!\n)[^\n]", text):
        quirks.append(
            "a single newline is ignored in AI-card content (the lines run "
            "together); use a blank line for a new paragraph"
        )
    return quirks
