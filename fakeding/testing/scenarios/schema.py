"""Scenario files: YAML validated against a JSON schema before anything runs.

Errors name the file, the line and the field (``scenarios/x.yaml:12: steps[2].say.user: ...``)
so a mistake is found at load time, not halfway through a run. ``document`` checks the text
without a robot; this module adds the robot adapter's parts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakeding.aio.scenario_document import (
    SCHEMA,
    ScenarioError,
    ScenarioText,
    check_references,
    parse_text,
    validate,
)
from fakeding.core.template_files import load_file
from fakeding.core.templates import Template, TemplateError
from fakeding.testing.scenarios.robots import RobotAdapter, RobotAdapterError, choose
from fakeding.testing.scenarios.steps import Step, parse_steps

__all__ = ["SCHEMA", "ScenarioError", "ScenarioFile", "load_scenario", "parse_scenario", "schema_for"]


@dataclass
class ScenarioFile(ScenarioText):
    adapter: RobotAdapter | None = None  # set by load_scenario
    templates: list[Template] = field(default_factory=list)  # ``templates:``, loaded up front
    options: dict[str, Any] = field(default_factory=dict)  # ``robot:`` without ``adapter``
    steps: list[Step] = field(default_factory=list)  # ``steps:`` unrolled and typed, in time order

    @property
    def robot(self) -> RobotAdapter:
        if self.adapter is None:
            raise ScenarioError(f"{self.path}: loaded without a robot adapter")
        return self.adapter


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


def load_scenario(path: Path, *, robot: str | RobotAdapter | None = None) -> ScenarioFile:
    """Read and validate a scenario; ``robot`` is the adapter for a file that names none."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc})") from None
    scenario = parse_scenario(text, path, robot=robot)
    check = getattr(scenario.robot, "check", None)
    if check is not None:  # an adapter that can tell now whether its robot will load
        try:
            check(scenario.options, path.parent)
        except RobotAdapterError as exc:
            raise scenario.error(exc.field, str(exc)) from None
    for template_id, rel in (scenario.data.get("templates") or {}).items():
        try:
            scenario.templates.append(load_file(template_id, path.parent / rel))
        except TemplateError as exc:
            raise scenario.error(("templates", template_id), str(exc)) from None
    return scenario


def parse_scenario(text: str, path: Path, *, robot: str | RobotAdapter | None = None) -> ScenarioFile:
    """Validate a scenario's text for its robot adapter (``path`` names it in errors; nothing
    is read from disk: ``load_scenario`` adds the adapter's file checks and the templates)."""
    parsed = parse_text(text, path)
    scenario = ScenarioFile(parsed.path, parsed.data, parsed.lines)
    data = scenario.data
    unknown: RobotAdapterError | None = None
    try:
        scenario.adapter, scenario.options = choose(data.get("robot"), robot)
    except RobotAdapterError as exc:
        unknown = exc
    validate(scenario, schema_for(scenario.adapter), data, ())
    if unknown is not None:
        raise scenario.error(unknown.field, str(unknown))
    validate(scenario, scenario.robot.options_schema, scenario.options, ("robot",))
    check_references(scenario)
    for i, step in enumerate(data["steps"]):
        if "answer" in step and scenario.robot.answer_schema is None:
            raise scenario.error(
                ("steps", i, "answer"),
                f"robot adapter {scenario.robot.name!r} takes no "
                "scripted answers; remove 'answer' or choose another robot",
            )
    scenario.steps = parse_steps(data["steps"])
    return scenario
