"""``fakeding scenario diff FILE --robot A --robot B``: one scenario, two robots or builds, what
differs, version by version.

Why: a change to a robot should be judged by what people would see. Diffy's trick keeps the
diff honest: A runs twice, and any field that differs between those two runs of the same build
(a random trace id, a timestamp) is noise and ignored; what is left between A and B is a real
difference. The runs go through the scenario runner's public API; the comparison is pure.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakeding.core._extras import require

require("scenarios", "fakeding scenario diff")

import yaml  # noqa: E402 (after the extra's check)

from fakeding.core.exceptions import ConfigError  # noqa: E402

MISSING = "(none)"


def flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """``{"a": [{"b": 1}]}`` as ``{prefix.a[0].b: 1}``; a string holding JSON is opened."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if isinstance(value, dict) and value:
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}", out)
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            flatten(item, f"{prefix}[{i}]", out)
    else:
        out[prefix] = value


def observations(cards: list[Any], transcript: list[Any], found: Mapping[str, Any]) -> dict[str, Any]:
    """What people saw in one run, as field → value: each card's versions, each reply of the
    robot in order, and the counts the expectations measured."""
    out: dict[str, Any] = {}
    for i, card in enumerate(cards, 1):
        out[f"card#{i} versions"] = len(card.versions)
        for j, version in enumerate(card.versions, 1):
            flatten(version.card_data, f"card#{i} v{j} ({version.source})", out)
    replies = [e for e in transcript if e.who == "bot"]
    out["replies"] = len(replies)
    for i, entry in enumerate(replies, 1):
        out[f"reply#{i} {entry.kind}"] = entry.text
    for name, value in found.items():
        out[f"expect {name}"] = value
    return out


@dataclass(frozen=True)
class Difference:
    field: str
    a: Any
    b: Any

    def line(self) -> str:
        return f"  {self.field}: {_show(self.a)} → {_show(self.b)}"


def _show(value: Any) -> str:
    return MISSING if value is _ABSENT else json.dumps(value, ensure_ascii=False)


_ABSENT: Any = object()


def compare(
    a: Mapping[str, Any], a_again: Mapping[str, Any], b: Mapping[str, Any]
) -> tuple[list[Difference], set[str]]:
    """The fields where B differs from A, leaving out the noise (fields A's two runs disagree
    on); and the noise."""
    keys = list(dict.fromkeys([*a, *a_again, *b]))
    noise = {k for k in keys if a.get(k, _ABSENT) != a_again.get(k, _ABSENT)}
    diffs = [
        Difference(k, a.get(k, _ABSENT), b.get(k, _ABSENT))
        for k in keys
        if k not in noise and a.get(k, _ABSENT) != b.get(k, _ABSENT)
    ]
    return diffs, noise


def render(path: Path, robots: tuple[str, str], diffs: list[Difference], noise: set[str]) -> str:
    head = f"scenario diff {path}: A = {robots[0]}, B = {robots[1]}"
    ignored = f"({len(noise)} field(s) differ between two runs of A: ignored as noise)"
    if not diffs:
        return f"{head}\nno difference {ignored}\n"
    groups: dict[str, list[Difference]] = {}
    for d in diffs:  # version by version: card#1 v2 (update), reply#1 ..., expect ...
        groups.setdefault(d.field.split(" (")[0].split(".")[0], []).append(d)
    lines = [head, f"{len(diffs)} difference(s) {ignored}:"]
    for group, items in groups.items():
        lines.append(f"{group}:")
        lines += [d.line() for d in items]
    return "\n".join(lines) + "\n"


def robot_spec(text: str) -> Any:
    """``--robot``: an adapter name, or a YAML mapping (``{handler: mod:Cls, path: [.]}``)."""
    if text.lstrip().startswith("{"):
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--robot {text!r}: not a YAML mapping ({exc})") from None
        if not isinstance(spec, dict):
            raise ConfigError(f"--robot {text!r}: expected a mapping like {{handler: mod:Cls}}")
        return spec
    return text


@contextlib.contextmanager
def with_robot(path: Path, spec: Any, n: int) -> Iterator[Path]:
    """The scenario with ``robot:`` set to ``spec``, as a hidden sibling file (so relative
    paths in it mean the same), removed afterwards."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read as YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with name and steps")
    data["robot"] = spec
    twin = path.with_name(f".{path.stem}.diff-{os.getpid()}-{n}{path.suffix}")
    twin.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        yield twin
    finally:
        twin.unlink(missing_ok=True)


def run_once(path: Path, spec: Any, n: int) -> dict[str, Any]:
    from fakeding.testing.scenarios.runner import run_scenario

    with with_robot(path, spec, n) as twin:
        result = run_scenario(twin)
    found = {e.name: e.found for e in result.expectations}
    return observations(result.cards, result.transcript, found)


def diff_files(path: Path, robots: list[str]) -> tuple[str, int]:
    """The report and the exit code (1 on a difference)."""
    if len(robots) != 2:
        raise ConfigError(f"scenario diff: expected --robot twice (A and B), found {len(robots)}")
    specs = [robot_spec(r) for r in robots]
    a = run_once(path, specs[0], 1)
    a_again = run_once(path, specs[0], 2)
    b = run_once(path, specs[1], 3)
    diffs, noise = compare(a, a_again, b)
    return render(path, (robots[0], robots[1]), diffs, noise), 1 if diffs else 0


def _sections(text: str) -> dict[str, list[str]]:
    """A report's ``## `` sections by title (the part before the first one is "head")."""
    out: dict[str, list[str]] = {"head": []}
    current = "head"
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            out[current] = []
        else:
            out[current].append(line)
    return out


def diff_snapshot_sets(a: Path, b: Path) -> tuple[str, int]:
    """Two folders of scenario reports (``__snapshots__`` of two builds, or two CI runs'
    artifacts): per scenario and per section (Transcript, Cards, Timeline, Expectations...),
    what differs, as a unified diff; reports are deterministic, so there is no noise to drop.
    The report and the exit code (1 on a difference)."""
    for folder in (a, b):
        if not folder.is_dir():
            raise ConfigError(
                f"scenario diff --snapshots: {folder} is not a folder of reports (a __snapshots__ folder)"
            )
    reports = {p.relative_to(a).as_posix(): p for p in sorted(a.rglob("*.md"))}
    others = {p.relative_to(b).as_posix(): p for p in sorted(b.rglob("*.md"))}
    if not reports and not others:
        raise ConfigError(f"scenario diff --snapshots: no .md reports in {a} or {b}")
    lines = [f"scenario diff --snapshots A = {a}, B = {b}"]
    changed = 0
    for name in sorted(set(reports) | set(others)):
        if name not in others or name not in reports:
            where = "B" if name not in others else "A"
            lines.append(f"{name}: only in {'A' if where == 'B' else 'B'}")
            changed += 1
            continue
        left = _sections(reports[name].read_text(encoding="utf-8"))
        right = _sections(others[name].read_text(encoding="utf-8"))
        for section in dict.fromkeys([*left, *right]):
            old, new = left.get(section, []), right.get(section, [])
            if old != new:
                changed += 1
                lines.append(f"{name} · {section}:")
                lines += [f"  {d}" for d in difflib.unified_diff(old, new, "A", "B", n=1, lineterm="")][2:]
    lines.append(f"{changed} difference(s)" if changed else "no difference")
    return "\n".join(lines) + "\n", 1 if changed else 0
