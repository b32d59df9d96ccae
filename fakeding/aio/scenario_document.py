"""A scenario file's text: parsed with line numbers and checked against the scenario schema,
with no robot involved (pure: text in, data or an error naming file, line and field out).

Why apart from ``schema``: the emulator page replays a scenario's steps against a robot that
is already running (``page_replay``), so it needs the file checked but no adapter; ``schema``
adds the adapter's parts (its ``answer:`` and ``expect:`` schemas, its options, its files) for
``fakeding scenario run``. This module imports nothing that reaches the server, so the live
routes can use it without an import circle.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from fakeding.core.exceptions import ConfigError, ControlError
from fakeding.core.faults import parse_fault
from fakeding.core.settings import Settings


class ScenarioError(ConfigError):
    """A scenario file that cannot run; the message names file, line and field."""


_NUM = {"type": "number", "minimum": 0}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "steps"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "seed": {"type": "integer"},
        "snapshot": {"type": "boolean"},  # false: assert only ``expect:`` (reports that vary)
        "robot": {"type": ["string", "object"]},  # the adapter's options: validated apart
        "platform": {"type": "object"},
        # card templates: {templateId: path of a card-platform export, relative to this file}
        "templates": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "users": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"nick": {"type": "string"}},
            },
        },
        "conversations": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type"],
                "properties": {"type": {"enum": ["group", "single"]}, "title": {"type": "string"}},
            },
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["at"],
                "properties": {
                    "at": _NUM,
                    "repeat": {"type": "integer", "minimum": 1},
                    "every": _NUM,
                    "say": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["user", "in"],
                        "properties": {
                            "user": {"type": "string"},
                            "in": {"type": "string"},
                            "text": {"type": "string"},
                            "text_repeat": {"type": "integer", "minimum": 1},
                            "msgtype": {"enum": ["text", "picture", "richText", "audio", "video", "file"]},
                            "atBot": {"type": "boolean"},
                        },
                    },
                    "answer": {"type": "object"},  # the adapter's answer_schema replaces this
                    "click": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["user", "card", "button"],
                        "properties": {
                            "user": {"type": "string"},
                            # "latest": the newest card the user sees in ``in`` (a load
                            # workload's click on its answer, whichever card number it got)
                            "card": {
                                "oneOf": [
                                    {"type": "integer", "minimum": 1},
                                    {"type": "string", "pattern": "^card#[1-9][0-9]*$"},
                                    {"const": "latest"},
                                ]
                            },
                            "in": {"type": "string"},
                            # "*": the card's first request button; a card without one is
                            # not clicked
                            "button": {"type": "string"},
                            "params": {"type": "object"},
                        },
                    },
                    "fault": {"type": "object", "required": ["kind"]},
                    "event": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type"],
                        "properties": {
                            "type": {"type": "string", "minLength": 1},
                            "data": {"type": "object"},
                            "corp": {"type": "string", "minLength": 1},
                        },
                    },
                    "graph": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["user", "in", "text"],
                        "properties": {
                            "user": {"type": "string"},
                            "in": {"type": "string"},
                            "text": {"type": "string"},
                        },
                    },
                    "settings": {"type": "object", "minProperties": 1},
                },
                "oneOf": [
                    {"required": ["say"]},
                    {"required": ["click"]},
                    {"required": ["fault"]},
                    {"required": ["wait"]},
                    {"required": ["event"]},
                    {"required": ["graph"]},
                    {"required": ["settings"]},
                ],
            },
        },
        "settle": _NUM,
        "final_when": {"type": "string", "minLength": 1},  # regex: a card's text when finished
        # virtual seconds each connection to an outside host costs (handler robots): host → s
        "latency": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
        "report": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "timeline": {"enum": ["full", "summary"]},
                "times": {"enum": ["exact", "coarse", "none"]},
            },
        },
        "expect": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "cards": {"type": "integer", "minimum": 0},
                "max_updates_per_card": {"type": "integer", "minimum": 1},
                "warnings": {"type": "integer", "minimum": 0},
                "violations": {
                    "oneOf": [
                        {"type": "integer", "minimum": 0},
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["reason"],
                                "properties": {
                                    "reason": {"type": "string", "minLength": 1},
                                    "count": {"type": "integer", "minimum": 1},
                                },
                            },
                        },
                    ]
                },
                "webhook_replies": {"type": "integer", "minimum": 0},
                "unfinished_cards": {"type": "integer", "minimum": 0},
                "failed_cards": {"type": "integer", "minimum": 0},
                "answers": {"type": "integer", "minimum": 0},
                "max_answers_per_message": {"type": "integer", "minimum": 0},
                "api_errors": {
                    "oneOf": [
                        {"type": "integer", "minimum": 0},
                        {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
                    ]
                },
                "max_ack_latency": _NUM,
                "metered_calls": {"type": "integer", "minimum": 0},
                "api_calls_per_answer": _NUM,
                "cross_talk": {"type": "integer", "minimum": 0},
            },
        },  # + the adapter's expectation_schema
    },
}
# "wait: N" is a step that only advances time (``at`` says until when).
SCHEMA["properties"]["steps"]["items"]["properties"]["wait"] = {"type": "boolean"}


@dataclass
class ScenarioText:
    """A parsed scenario: its data and the line of each field (``error`` names them)."""

    path: Path
    data: dict[str, Any]
    lines: dict[tuple[Any, ...], int]

    @property
    def name(self) -> str:
        return str(self.data["name"])

    def line_of(self, path: tuple[Any, ...]) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: tuple[Any, ...], message: str) -> ScenarioError:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return ScenarioError(f"{self.path}:{self.line_of(path)}: {where or '(top)'}: {message}")


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


# libyaml's parser when PyYAML has it (about ten times faster; same nodes, marks and values).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_text(text: str, path: Path) -> ScenarioText:
    """The YAML in ``text`` with its lines; not YAML or not a mapping is a ``ScenarioError``."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = _LOADER("").construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ScenarioError(f"{path}:{line}: not valid YAML ({exc})") from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    parsed = ScenarioText(path, data if isinstance(data, dict) else {}, lines)
    if not isinstance(data, dict):
        raise parsed.error((), "expected a mapping with name and steps")
    return parsed


def any_robot_schema() -> dict[str, Any]:
    """The schema with any ``answer:`` block and any expectation (the robot decides those)."""
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["expect"]["additionalProperties"] = True
    return schema


def check_any_robot(text: str, path: Path) -> ScenarioText:
    """A scenario for a robot already running: the schema and the references, no adapter."""
    parsed = parse_text(text, path)
    validate(parsed, any_robot_schema(), parsed.data, ())
    check_references(parsed)
    return parsed


def validate(s: ScenarioText, schema: dict[str, Any], value: Any, at: tuple[Any, ...]) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.path)))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        where, message = (*at, *best.path), best.message
        if best.validator == "additionalProperties" and isinstance(best.instance, dict):
            allowed = sorted((best.schema or {}).get("properties") or {})
            extra = [k for k in best.instance if k not in allowed]
            if extra:  # point at the key itself: its line, its name
                where = (*where, extra[0])
                message = f"unknown key {extra[0]!r}; expected some of: {', '.join(allowed) or 'none'}"
        raise s.error(where, message)


def check_references(s: ScenarioText) -> None:
    """Names the steps use are declared; faults and settings parse (robot-agnostic)."""
    users = set(s.data.get("users") or {})
    convs = s.data.get("conversations") or {}
    for i, step in enumerate(s.data["steps"]):
        say = step.get("say")
        if say is not None:
            if say["user"] not in users:
                raise s.error(
                    ("steps", i, "say", "user"),
                    f"unknown user {say['user']!r}; declared: {sorted(users) or 'none'}",
                )
            if say["in"] not in convs:
                raise s.error(
                    ("steps", i, "say", "in"),
                    f"unknown conversation {say['in']!r}; declared: {sorted(convs) or 'none'}",
                )
            if say.get("msgtype", "text") == "text" and "text" not in say:
                raise s.error(("steps", i, "say"), "a text message needs 'text'")
        elif "answer" in step:
            raise s.error(("steps", i, "answer"), "'answer' belongs to a 'say' step")
        if "fault" in step:
            try:
                parse_fault(dict(step["fault"]))
            except ControlError as exc:
                raise s.error(("steps", i, "fault", exc.field), exc.problem) from None
        if "settings" in step:
            try:
                Settings().replace(**step["settings"])
            except ConfigError as exc:
                raise s.error(("steps", i, "settings"), str(exc)) from None
        graph = step.get("graph")
        if graph is not None and graph["user"] not in users:
            raise s.error(
                ("steps", i, "graph", "user"),
                f"unknown user {graph['user']!r}; declared: {sorted(users) or 'none'}",
            )
        click = step.get("click")
        if click is not None and click["user"] not in users:
            raise s.error(("steps", i, "click", "user"), f"unknown user {click['user']!r}")


# -- steps as the runner plays them (shared with the emulator's replay) ---------------------------
def expand_steps(steps: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Unroll ``repeat``/``every`` steps, filling ``{n}`` (1-based) in strings."""
    out: list[tuple[int, dict[str, Any]]] = []
    for index, step in enumerate(steps):
        for n in range(1, int(step.get("repeat", 1)) + 1):
            copied = _fill(step, n)
            copied["at"] = float(step["at"]) + (n - 1) * float(step.get("every", 0))
            out.append((index, copied))
    out.sort(key=lambda item: item[1]["at"])  # stable: same-time steps keep file order
    return out


def _fill(value: Any, n: int) -> Any:
    if isinstance(value, str):
        return value.replace("{n}", str(n))
    if isinstance(value, dict):
        return {k: _fill(v, n) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, n) for v in value]
    return value


def conversation_id(name: str) -> str:
    return "cid" + re.sub(r"[^A-Za-z0-9]", "", name.title()) + "=="


def pattern_get(table: dict[str, Any], name: str) -> Any:
    """``table[name]``, or the value of a ``user{n}``-style key that ``name`` matches."""
    if name in table:
        return table[name]
    for key, value in table.items():
        if "{n}" in key and re.fullmatch(re.escape(key).replace(r"\{n\}", r"\d+"), name):
            return value
    return None
