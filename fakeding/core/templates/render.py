"""What one user sees of a template card: visible texts, markdown, images, inputs and buttons.

Why: the client draws a card from its template and the data; a fake that only stores data
cannot say whether a user sees the answer, a blank card or a stuck "thinking". ``render`` walks
the template's ``widgetInfo`` like the client: ``visibility="gone"`` hides an element, a
``ListLayout`` repeats its children over ``listData``, a private variable is read from the
user's ``cardPrivateData``, and an ``onTap`` becomes a button with the exact callback payload
its ``@dtSendOutData`` sends (or an input, for ``@dxEventHandler`` of an input component).
Pure: data in, a ``View`` out. An unknown element or function is drawn as such and listed in
``View.unknown``, never a crash.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.templates.expressions import Action, Scope, actions, evaluate_text, to_str
from fakeding.core.templates.markdown import to_text
from fakeding.core.templates.parse import Template

_CONTAINERS = frozenset({"LinearLayout", "ListLayout", "View", "FrameLayout", "GridLayout", "DDFlowLayout"})
_LISTS = frozenset({"ListLayout", "DDFlowLayout"})  # children repeated over ``listData``
# designer components drawn as what they are (their layout is only bars and texts):
# component name -> node kind
COMPONENTS = {"ProgressBar": "progress", "Tag": "tag", "CheckableTags": "tags"}
_PERCENT = re.compile(r"(-?\d+(?:\.\d+)?)\s*%")
_SILENT = frozenset({"DDEventView", "DDAnimationView", "DDCSSStyleView", "DDIconView"})
_DECODED = frozenset({"object", "loopArray", "chart", "array"})


@dataclass
class Node:
    """One visible thing. ``kind``: text | markdown | image | divider | loading | chart |
    progress | tag | tags | input | button | unknown. A button has ``payload`` (its
    ``@dtSendOutData`` map) or ``action`` (another tap, e.g. dtOpenLink); an input names its
    ``local`` variable; a progress bar's ``text`` is its percentage ("60%"), a tag's its label,
    tags' their labels joined by " · "."""

    kind: str
    text: str = ""
    payload: dict[str, Any] | None = None
    action: str | None = None
    local: str | None = None
    src: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text}
        for key in ("payload", "action", "local", "src"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @property
    def callback(self) -> dict[str, Any] | None:
        """The card callback the platform delivers for this button: the payload's
        ``actionData.cardPrivateData`` ({"actionIds", "params"})."""
        if self.payload is None:
            return None
        action_data = self.payload.get("actionData")
        if isinstance(action_data, dict) and isinstance(action_data.get("cardPrivateData"), dict):
            private = action_data["cardPrivateData"]
            return {
                "actionIds": list(private.get("actionIds") or []),
                "params": dict(private.get("params") or {}),
            }
        return None


@dataclass
class View:
    nodes: list[Node] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # unknown elements and functions

    def buttons(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "button"]

    def visible_text(self) -> str:
        """What a reader can read (texts, markdown, button labels), for the blank-card check."""
        return "\n".join(
            n.text for n in self.nodes if n.kind in ("text", "markdown", "button", "chart") and n.text.strip()
        )

    def lines(self, surface: str | None = None) -> list[str]:
        """The view as text, one line per node, for reports: markdown as written, or with
        ``surface`` ("ai", "card") as the client draws it, in readable text."""
        out: list[str] = []
        for n in self.nodes:
            if n.kind == "text":
                out.append(n.text)
            elif n.kind == "markdown":
                shown = n.text if surface is None else to_text(n.text, surface)
                out.extend(shown.splitlines() or [""])
            elif n.kind == "chart":
                out.append(f"[chart {chart_summary(n.text)}]")
            elif n.kind == "progress":
                out.append(f"[progress {n.text or '?'}]")
            elif n.kind in ("tag", "tags"):
                out.append(f"[{n.kind} {n.text}]")
            elif n.kind == "image":
                out.append(f"[image {n.src}]")
            elif n.kind == "divider":
                out.append("---")
            elif n.kind == "loading":
                out.append("[loading]")
            elif n.kind == "input":
                out.append(f"[input {n.local}: {n.text}]")
            elif n.kind == "button":
                ids = (n.callback or {}).get("actionIds") if n.payload else None
                tag = f" -> {','.join(ids)}" if ids else (f" ({n.action})" if n.action else "")
                out.append(f"[button {n.text}{tag}]")
            else:
                out.append(f"[{n.kind} {n.text}]".rstrip())
        return out


def decode(template: Template, values: dict[str, Any] | None) -> dict[str, Any]:
    """cardParamMap strings as the template types them: booleans, numbers, JSON objects."""
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        var = template.variable(key)
        if isinstance(value, str) and var is not None:
            if var.type == "boolean":
                out[key] = value.strip().lower() == "true"
                continue
            if var.type in _DECODED or var.type == "number":
                try:
                    out[key] = json.loads(value)
                    continue
                except ValueError:
                    pass
        out[key] = value
    return out


def render(
    template: Template,
    data: dict[str, Any] | None = None,
    private: dict[str, Any] | None = None,
    local: dict[str, Any] | None = None,
    *,
    card_id: str = "card",
    scene: str = "im",
) -> View:
    """What a user with ``private`` data and ``local`` state sees of a card with ``data``."""
    context = {
        "data": {
            "cardData": decode(template, data),
            "cardPrivateData": decode(template, private),
            "localData": dict(local or {}),
            "cardInstanceId": card_id,
            "renderContext": {"bizScene": scene},
        },
        "env": "pc",
        "width": "match_parent",
    }
    scope = Scope(context)
    view = View()
    unknown_elements: list[str] = []
    _walk(template, template.root, scope, view.nodes, unknown_elements)
    view.unknown = sorted(set(unknown_elements)) + sorted(f"@{n}" for n in scope.unknown)
    return view


def chart_summary(data: str) -> str:
    """A chart in a few words: its type and how many points (``lineChart, 15 points``)."""
    try:
        chart = json.loads(data) if data.strip() else None
    except ValueError:
        return data[:60]
    if not isinstance(chart, dict):
        return "(no data)" if chart is None else data[:60]
    points = chart.get("data")
    count = f", {len(points)} points" if isinstance(points, list) else ""
    return f"{chart.get('type') or 'chart'}{count}"


def _component(
    template: Template, el: ET.Element, scope: Scope, out: list[Node], unknown: list[str], kind: str
) -> None:
    """A designer component drawn as itself from the texts of its layout."""
    inner: list[Node] = []
    _walk(template, el, scope, inner, unknown, as_component=False)
    texts = [n.text.strip() for n in inner if n.kind in ("text", "markdown") and n.text.strip()]
    if kind == "progress":
        found = next((m for m in map(_PERCENT.search, texts) if m), None)
        out.append(Node("progress", f"{found.group(1)}%" if found else ""))
    elif kind == "tags":
        out.append(Node("tags", " · ".join(texts)))
    else:
        out.append(Node("tag", " ".join(texts)))


def _walk(
    template: Template,
    el: ET.Element,
    scope: Scope,
    out: list[Node],
    unknown: list[str],
    *,
    as_component: bool = True,
) -> None:
    visibility = el.get("visibility")
    if visibility is not None and to_str(evaluate_text(visibility, scope)).strip() == "gone":
        return
    tap = el.get("onTap")
    if tap:
        taps = actions(tap, scope)
        if _tap_node(template, el, scope, taps, out, unknown):
            return
    component = COMPONENTS.get(template.components.get(el.get("userId", ""), "")) if as_component else None
    if component is not None:
        _component(template, el, scope, out, unknown, component)
        return
    tag = el.tag
    if tag in _LISTS:
        items = evaluate_text(el.get("listData", ""), scope)
        if isinstance(items, str):
            try:
                items = json.loads(items)
            except ValueError:
                items = []
        for index, item in enumerate(items if isinstance(items, list) else []):
            inner = scope.looping(item, index)
            for child in el:
                _walk(template, child, inner, out, unknown)
        return
    if tag == "View" and len(el) == 0:
        out.append(Node("divider"))
        return
    if tag in _CONTAINERS:
        for child in el:
            _walk(template, child, scope, out, unknown)
        return
    if tag == "FastTextView":
        text = rich_text(to_str(evaluate_text(el.get("text", ""), scope)))
        if text.strip():
            out.append(Node("text", text))
    elif tag == "DDRichTextView":
        source = el.get("attributedText", el.get("markdown", el.get("text", "")))
        out.append(Node("markdown", rich_text(to_str(evaluate_text(source, scope)))))
    elif tag == "ImageView":
        src = to_str(evaluate_text(el.get("imageUrl", el.get("src", "")), scope))
        if src:
            out.append(Node("image", src=src))
    elif tag == "DDLoadingView":
        out.append(Node("loading"))
    elif tag == "DDChartView":
        out.append(Node("chart", to_str(evaluate_text(el.get("chartData", el.get("data", "")), scope))))
    elif tag in _SILENT:
        return
    else:
        unknown.append(f"<{tag}>")
        out.append(Node("unknown", f"element {tag}"))


def rich_text(text: str) -> str:
    """The designer's rich text (``{"version": "1.1", "items": [{"data": {"text"}}]}``) as
    its plain text; any other text as is."""
    if not text.startswith("{") or '"items"' not in text:
        return text
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return text
    return "".join(
        to_str(i.get("data", {}).get("text", ""))
        for i in items
        if isinstance(i, dict) and isinstance(i.get("data"), dict)
    )


def _tap_node(
    template: Template, el: ET.Element, scope: Scope, taps: list[Action], out: list[Node], unknown: list[str]
) -> bool:
    """Draw a tappable element as a button or an input; False to draw it as plain layout."""
    send = next((a for a in taps if a.kind == "dtSendOutData"), None)
    if send is None:  # a confirm dialog that then sends
        confirm = next((a for a in taps if a.kind == "dtConfirm" and isinstance(a.value, dict)), None)
        if confirm is not None and confirm.value.get("confirmAction") == "dtSendOutData":
            send = Action("dtSendOutData", confirm.value.get("confirmData") or {})
    inner: list[Node] = []
    for child in el:
        _walk(template, child, scope, inner, unknown)
    label = " ".join(n.text for n in inner if n.kind in ("text", "markdown") and n.text.strip())
    if send is not None:
        payload = send.value if isinstance(send.value, dict) else {"value": send.value}
        out.append(Node("button", label, payload=payload))
        return True
    handler = next((a for a in taps if a.kind == "dxEventHandler"), None)
    if handler is not None and to_str(handler.value) in template.inputs:
        out.append(Node("input", label, local=template.inputs[to_str(handler.value)]))
        return True
    link = next((a for a in taps if a.kind == "dtOpenLink"), None)
    if link is not None and label:
        out.append(Node("button", label, action="dtOpenLink", src=to_str(link.value)))
        return True
    out.extend(inner)
    return True
