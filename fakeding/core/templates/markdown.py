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
_LIST = re.compile(r"^\s*([-*+]|\d+\.)\s+(.*)$")
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
    lists: list[str] = []  # the list open now ("ul" or "ol"): items go inside one

    def end_list() -> None:
        if lists:
            blocks.append(f"</{lists.pop()}>")

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
            end_list()
            blocks.append(f'<p class="literal">{html.escape(line)}</p>')
            continue
        if not line.strip():
            flush()
            end_list()
            continue
        item = _LIST.match(line)
        if item:
            flush()
            kind = "ol" if item.group(1)[0].isdigit() else "ul"
            if lists != [kind]:
                end_list()
                blocks.append(f"<{kind}>")
                lists.append(kind)
            blocks.append(f"<li>{_inline(item.group(2))}</li>")
            continue
        end_list()
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            continue
        quote = _QUOTE.match(line)
        if quote:
            flush()
            blocks.append(f"<blockquote>{_inline(quote.group(1))}</blockquote>")
            continue
        paragraph.append(line)
    flush()
    end_list()
    return "".join(blocks)


_RAW_FONT = re.compile(r"<font\s+color\s*=\s*[\"']?#?[0-9A-Za-z]+[\"']?\s*>(.*?)</font>", re.S | re.I)
_RAW_BR = re.compile(r"<br\s*/?>", re.I)


def to_text(text: str, surface: str = "card") -> str:
    """``text`` as the client draws it on ``surface``, as readable plain text (for reports
    and snapshots): headings, bold, italic and font colours lose their marks, a link reads
    ``text (url)``, an image ``[image url]``, a list item ``• item`` (numbered ones keep their
    number), a quote ``│ quote``; tables and code fences stay literal; on ``ai`` a single
    newline joins the lines, elsewhere it breaks them; paragraphs stay apart by an empty line."""
    out: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            joined = (" " if surface == "ai" else "\n").join(_plain(p) for p in paragraph)
            out.extend(joined.split("\n"))
            paragraph.clear()

    in_fence = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        if in_fence or _FENCE.match(line) or _TABLE_ROW.match(line):
            flush()
            out.append(line)
            continue
        if not line.strip():
            flush()
            if out and out[-1]:
                out.append("")  # a paragraph break stays one empty line
            continue
        heading, item, quote = _HEADING.match(line), _LIST.match(line), _QUOTE.match(line)
        if heading or item or quote:
            flush()
        if heading:
            out.append(_plain(heading.group(2)))
        elif item:
            marker = item.group(1) if item.group(1)[0].isdigit() else "•"
            out.append(f"{marker} {_plain(item.group(2))}")
        elif quote:
            out.append(f"│ {_plain(quote.group(1))}")
        else:
            paragraph.append(line)
    flush()
    return "\n".join(out).strip("\n")


def _plain(line: str) -> str:
    out = _IMAGE.sub(lambda m: f"[image {m.group(2)}]", line)
    out = _LINK.sub(
        lambda m: f"{m.group(1)} ({m.group(2)})" if _SAFE_URL.match(m.group(2)) else m.group(0), out
    )
    out = _BOLD.sub(r"\1", out)
    out = _ITALIC.sub(r"\1", out)
    out = _RAW_FONT.sub(r"\1", out)
    return _RAW_BR.sub("\n", out)


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
