"""Cards as a person reads them (pure): StandardCard JSON or a card instance's parameters."""

from __future__ import annotations

from typing import Any


def card_lines(data: Any) -> list[str]:
    """Header, markdown blocks, ``---`` for dividers, ``[ label ]`` for buttons."""
    if not isinstance(data, dict):
        return [repr(data)]
    if "contents" not in data and "header" not in data:
        return [f"{k}: {v}" for k, v in sorted(data.items())]  # a card instance's parameters
    lines: list[str] = []
    header = data.get("header")
    title = header.get("title") if isinstance(header, dict) else None
    if isinstance(title, dict):
        lines.append(f"# {title.get('text', '')}")
    for element in data.get("contents") or []:
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind == "markdown" or kind == "text":
            lines.extend(str(element.get("text", "")).splitlines() or [""])
        elif kind == "divider":
            lines.append("---")
        elif kind == "action":
            labels = [_label(b) for b in element.get("actions") or [] if isinstance(b, dict)]
            lines.append(" ".join(f"[ {label} ]" for label in labels))
        else:
            lines.append(f"<{kind}>")
    return lines


def _label(button: dict[str, Any]) -> str:
    label = button.get("label")
    return str(label.get("text", "")) if isinstance(label, dict) else str(label or "")


def markdown_chars(data: Any, element_id: str | None = None) -> int:
    """Length of the first markdown block (or the one with ``element_id``)."""
    if not isinstance(data, dict):
        return 0
    for element in data.get("contents") or []:
        if (
            isinstance(element, dict)
            and element.get("type") == "markdown"
            and (element_id is None or element.get("id") == element_id)
        ):
            return len(str(element.get("text", "")))
    return 0


def element_ids(data: Any) -> set[str]:
    if not isinstance(data, dict):
        return set()
    return {str(e.get("id")) for e in data.get("contents") or [] if isinstance(e, dict)}
