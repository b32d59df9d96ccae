"""Text bound for a terminal, made inert: what a user or a robot wrote never drives it.

A staff id, a route or a violation's reason may carry ESC, CSI, BEL or other controls; printed
raw by ``fakeding serve -v`` they could clear the screen, retitle the window or hide lines.
Each such character is shown as its escape (``\\x1b``) instead.
"""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and isolates reorder what follows them on screen ("Trojan source").
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINES = frozenset("\u2028\u2029")


def _inert(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ch in _BIDI or ch in _LINES


def printable(text: str) -> str:
    """``text`` with every control character (C0 but tab, DEL, C1, bidi controls, line
    separators) replaced by its visible escape; everything else, emoji included, unchanged."""
    if text.isprintable():
        return text
    return "".join(ch if ch == "\t" or not _inert(ch) else ascii(ch)[1:-1] for ch in text)
