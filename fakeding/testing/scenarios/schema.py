"""Scenario files: YAML validated against a JSON schema before anything runs.

Errors name the file, the line and the field (``scenarios/x.yaml:12: steps[2].say.user: ...``)
so a mistake is found at load time, not halfway through a run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from fakeding.core.exceptions import ConfigError, ControlError
from fakeding.core.faults import parse_fault
from fakeding.core.settings import Settings
from fakeding.core.template_files import load_file
from fakeding.core.templates import Template, TemplateError
from fakeding.testing.scenarios.robots import RobotAdapter, RobotAdapterError, choose
from fakeding.testing.scenarios.steps import Step, parse_steps


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
class ScenarioFile:
    path: Path
    data: dict[str, Any]
    lines: dict[tuple[Any, ...], int]
    adapter: RobotAdapter | None = None  # set by load_scenario
    templates: list[Template] = field(default_factory=list)  # ``templates:``, loaded up front
    options: dict[str, Any] = field(default_factory=dict)  # ``robot:`` without ``adapter``
    steps: list[Step] = field(default_factory=list)  # ``steps:`` unrolled and typed, in time order

    @property
    def robot(self) -> RobotAdapter:
        if self.adapter is None:
            raise ScenarioError(f"{self.path}: loaded without a robot adapter")
        return self.adapter

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


def schema_for(adapter: RobotAdapter | None) -> dict[str, Any]:
    """The file's schema with the adapter's ``answer:`` and ``expect:`` parts filled in."""
    schema = copy.deepcopy(SCHEMA)
    if adapter is None:  # the adapter is unknown: check the rest, then report that
        schema["properties"]["expect"]["additionalProperties"] = True
        return schema
    if adapter.answer_schema is not None:
        schema["properties"]["steps"]["items"]["properties"]["answer"] = adapter.answer_schema
    expect = schema["properties"]["expect"]["properties"]
    expect.update({k: v for k, v in adapter.expectation_schema.items() if k not in expect})
    return schema


# libyaml's parser when PyYAML has it (about ten times faster; same nodes, marks and values).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_scenario(path: Path, *, robot: str | RobotAdapter | None = None) -> ScenarioFile:
    """Read and validate a scenario; ``robot`` is the adapter for a file that names none."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc})") from None
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
    scenario = ScenarioFile(path, data if isinstance(data, dict) else {}, lines)
    if not isinstance(data, dict):
        raise scenario.error((), "expected a mapping with name and steps")
    unknown: RobotAdapterError | None = None
    try:
        scenario.adapter, scenario.options = choose(data.get("robot"), robot)
    except RobotAdapterError as exc:
        unknown = exc
    _validate(scenario, schema_for(scenario.adapter), data, ())
    if unknown is not None:
        raise scenario.error(unknown.field, str(unknown))
    _validate(scenario, scenario.robot.options_schema, scenario.options, ("robot",))
    check = getattr(scenario.robot, "check", None)
    if check is not None:  # an adapter that can tell now whether its robot will load
        try:
            check(scenario.options, path.parent)
        except RobotAdapterError as exc:
            raise scenario.error(exc.field, str(exc)) from None
    _check_references(scenario)
    scenario.steps = parse_steps(data["steps"])
    for template_id, rel in (data.get("templates") or {}).items():
        try:
            scenario.templates.append(load_file(template_id, path.parent / rel))
        except TemplateError as exc:
            raise scenario.error(("templates", template_id), str(exc)) from None
    return scenario


def _validate(s: ScenarioFile, schema: dict[str, Any], value: Any, at: tuple[Any, ...]) -> None:
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


def _check_references(s: ScenarioFile) -> None:
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
        if "answer" in step and s.robot.answer_schema is None:
            raise s.error(
                ("steps", i, "answer"),
                f"robot adapter {s.robot.name!r} takes no "
                "scripted answers; remove 'answer' or choose another robot",
            )
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
