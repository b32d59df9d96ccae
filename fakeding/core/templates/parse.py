"""Reading a card-platform export: the layout the client draws and the variables it declares.

Why: the card platform's export (``{"editorData": "<JSON text>", "widgetInfo": "<layout>",
"type", "mode"}``) is the only description of what a card shows; a robot sends data only. This
module turns one export into a ``Template`` (pure: the caller reads the file), and a bad export
into a ``TemplateError`` naming the source, the JSON path and what was expected.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.templates.errors import TemplateError

# AI-card flow statuses: 1 processing, 2 streaming ("inputting"), 3 finished, 4 executing, 5 failed
AI_STATUS_NAMES = {1: "processing", 2: "streaming", 3: "finished", 4: "executing", 5: "failed"}
DEFAULT_AI_STATUSES = (1, 2, 3)  # inferred: what a template draws without a failed state


@dataclass(frozen=True)
class Variable:
    name: str
    type: str  # string | markdown | boolean | number | object | loopArray | chart | ...
    private: bool = False


@dataclass
class Template:
    """One card template: ``root`` is the parsed ``widgetInfo``; ``inputs`` maps an input's
    handler id (``@dxEventHandler{'<id>'}``) to the local variable it writes."""

    id: str
    source: str
    type: str  # "standard" | "im"
    variables: dict[str, Variable]
    locals: set[str]
    root: ET.Element
    ai_statuses: tuple[int, ...] = ()
    inputs: dict[str, str] = field(default_factory=dict)
    mock_data: dict[str, Any] = field(default_factory=dict)
    # designer component of each layout node (``userId`` -> ``componentName``): a ProgressBar or
    # a Tag compiles to plain layout, and is drawn as what it is only through this
    components: dict[str, str] = field(default_factory=dict)

    @property
    def is_ai(self) -> bool:
        """An AI card (``extension.extendType`` "AI"): it has flow states."""
        return bool(self.ai_statuses)

    def variable(self, name: str) -> Variable | None:
        return self.variables.get(name)

    def markdown_variables(self) -> list[str]:
        return [v.name for v in self.variables.values() if v.type == "markdown"]


def parse_export(raw: Any, *, template_id: str, source: str) -> Template:
    """The template in ``raw`` (the export as text, bytes or a decoded object)."""
    if isinstance(raw, (bytes, str)):
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TemplateError(
                f"{source}: $: expected a card-platform export (JSON), found text that is not JSON ({exc})"
            ) from None
    if not isinstance(raw, dict):
        raise TemplateError(
            f"{source}: $: expected an object with editorData and widgetInfo, found {type(raw).__name__}"
        )
    editor = _editor_data(raw, source)
    widget = raw.get("widgetInfo")
    if not isinstance(widget, str) or not widget.strip():
        raise TemplateError(
            f"{source}: $.widgetInfo: expected the layout as a string "
            f"(<LinearLayout ...>), found {_describe(widget)}"
        )
    try:
        root = ET.fromstring(widget)
    except ET.ParseError as exc:
        raise TemplateError(f"{source}: $.widgetInfo: expected a well-formed layout, found {exc}") from None
    kind = raw.get("type", "standard")
    if not isinstance(kind, str):
        raise TemplateError(f"{source}: $.type: expected 'standard' or 'im', found {_describe(kind)}")
    variables = _variables(editor.get("variableList", []), source, "$.editorData.variableList")
    local_names = {
        v.name for v in _variables(editor.get("localList", []), source, "$.editorData.localList").values()
    }
    extension = _object(editor.get("extension"))
    statuses = _ai_statuses(extension, source)
    is_ai = extension.get("extendType") == "AI" or bool(statuses)
    if is_ai and not statuses:
        statuses = DEFAULT_AI_STATUSES
    mock = _object(editor.get("mockData"))
    return Template(
        id=template_id,
        source=source,
        type=kind,
        variables=variables,
        locals=local_names,
        root=root,
        ai_statuses=statuses,
        inputs=_inputs(extension, editor),
        mock_data=mock,
        components=_components(editor),
    )


def _editor_data(raw: dict[str, Any], source: str) -> dict[str, Any]:
    editor = raw.get("editorData")
    if isinstance(editor, str):
        try:
            editor = json.loads(editor)
        except ValueError as exc:
            raise TemplateError(
                f"{source}: $.editorData: expected JSON text (the export keeps "
                f"it as a string), found text that is not JSON ({exc})"
            ) from None
    if not isinstance(editor, dict):
        raise TemplateError(
            f"{source}: $.editorData: expected an object (as JSON text) with "
            f"variableList, found {_describe(editor)}"
        )
    return editor


def _variables(items: Any, source: str, where: str) -> dict[str, Variable]:
    if not isinstance(items, list):
        raise TemplateError(f"{source}: {where}: expected a list of variables, found {_describe(items)}")
    out: dict[str, Variable] = {}
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise TemplateError(
                f"{source}: {where}[{i}].name: expected a variable name, found "
                f"{_describe(name if isinstance(item, dict) else item)}"
            )
        kind = item.get("type", "string")
        out[name] = Variable(name, kind if isinstance(kind, str) else "string", item.get("private") is True)
    return out


def _ai_statuses(extension: dict[str, Any], source: str) -> tuple[int, ...]:
    statuses = extension.get("aiStatusList")
    if statuses is None:
        return ()
    if not isinstance(statuses, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in statuses
    ):
        raise TemplateError(
            f"{source}: $.editorData.extension.aiStatusList: expected a list "
            f"of flow statuses (1 processing, 2 streaming, 3 finished, 5 "
            f"failed), found {_describe(statuses)}"
        )
    return tuple(statuses)


def _inputs(extension: dict[str, Any], editor: dict[str, Any]) -> dict[str, str]:
    """Handler id -> local variable, from the event chain's ``dtUpdateLocalData`` steps (and
    the designer's ``localVarAction`` where a component names it)."""
    found: dict[str, str] = {}
    for entry in extension.get("fileTypeList") or []:
        if not isinstance(entry, dict) or entry.get("fileName") != "event_chain":
            continue
        try:
            chain = json.loads(entry.get("fileSource") or "{}")
        except ValueError:
            continue
        if not isinstance(chain, dict):
            continue
        for handler, steps in chain.items():
            name = _local_written(steps)
            if name is not None:
                found[str(handler)] = name
    tree = _object(editor.get("schema")).get("componentsTree")
    for node in _walk(tree):
        props = _object(node.get("props"))
        local = props.get("localVarAction")
        node_id = node.get("id")
        if isinstance(local, str) and isinstance(node_id, str):
            found.setdefault(f"{node_id}_input", local)
    return found


def _components(editor: dict[str, Any]) -> dict[str, str]:
    tree = _object(editor.get("schema")).get("componentsTree")
    return {
        str(node["id"]): str(node["componentName"])
        for node in _walk(tree)
        if isinstance(node.get("id"), str) and isinstance(node.get("componentName"), str)
    }


def _local_written(steps: Any) -> str | None:
    if isinstance(steps, dict):
        if steps.get("type") == "dtUpdateLocalData":
            local = (
                steps.get("params", {}).get("localData") if isinstance(steps.get("params"), dict) else None
            )
            if isinstance(local, dict) and local:
                return str(next(iter(local)))
        for value in steps.values():
            name = _local_written(value)
            if name is not None:
                return name
    return None


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [n for item in node for n in _walk(item)]
    if not isinstance(node, dict):
        return []
    return [node, *_walk(node.get("children"))]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return f"{type(value).__name__} {text[:60]}"
