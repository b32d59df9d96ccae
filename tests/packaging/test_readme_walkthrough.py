"""The tutorial (``docs/tutorial.md``, "Test your own robot"), followed step by step as a
newcomer pastes it.

The steps come from the page itself (its ``sh`` block: files from its heredocs, commands from
its other lines; then its ``python`` block under the file name the text gives it), so the
tutorial and this test cannot drift. What differs from a shell: ``PATH_TO_FAKEDING`` is a wheel of this
checkout, and the venv is created without pip and filled by this interpreter's pip (faster).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from .venvs import ROOT, kit, make_venv, ok, pip

pytestmark = pytest.mark.packaging

TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)
HEREDOC = re.compile(r"cat > (\S+) <<'(\w+)'")
CHECKOUT = re.compile(r"PATH_TO_FAKEDING(?:\[([\w,]+)\])?")
TEST_FILE = re.compile(r"`([\w./-]*test_\w+\.py)`")


@dataclass(frozen=True)
class Write:
    path: str
    text: str


@dataclass(frozen=True)
class Run:
    argv: list[str]
    stdout_to: str | None = None


def steps(script: str) -> list[Write | Run]:
    """The shell block as files to write and commands to run (``&&`` splits, ``#`` comments)."""
    out: list[Write | Run] = []
    lines = iter(script.splitlines())
    for line in lines:
        if heredoc := HEREDOC.fullmatch(line.strip()):
            body: list[str] = []
            for text in lines:
                if text == heredoc[2]:
                    break
                body.append(text)
            else:
                raise AssertionError(f"heredoc {heredoc[2]!r} for {heredoc[1]} never ends")
            out.append(Write(heredoc[1], "\n".join(body) + "\n"))
            continue
        tokens = shlex.split(line, comments=True)
        while tokens:
            command = tokens[: tokens.index("&&")] if "&&" in tokens else tokens
            tokens = tokens[len(command) + 1 :]
            if ">" in command:
                at = command.index(">")
                assert at == len(command) - 2, f"only `cmd > file` redirects are handled: {line}"
                out.append(Run(command[:at], command[at + 1]))
            else:
                out.append(Run(command))
    return out


def test_the_tutorial_test_your_own_robot(kit_wheel: Path, tmp_path: Path) -> None:
    text = TUTORIAL.read_text()
    blocks = [(m[1], m[2], m.start()) for m in FENCE.finditer(text)]
    assert [lang for lang, _, _ in blocks] == ["sh", "python"], blocks
    (_, script, _), (_, example, example_at) = blocks
    start = cwd = tmp_path / "home"
    cwd.mkdir()
    python: Path | None = None
    outputs: dict[str, str] = {}
    for step in steps(script):
        if isinstance(step, Write):
            (cwd / step.path).write_text(step.text)
        elif step.argv[0] == "cd":
            cwd = cwd / step.argv[1]
        elif step.argv[:3] == ["python3", "-m", "venv"]:
            python = make_venv(cwd / step.argv[3])
        elif step.argv[0].endswith("/pip") and step.argv[1] == "install":
            assert python is not None, "pip before the venv"
            args = [kit(kit_wheel, m[1] or "") if (m := CHECKOUT.fullmatch(a)) else a for a in step.argv[2:]]
            assert args != step.argv[2:], f"the install line never names PATH_TO_FAKEDING: {step}"
            pip(python, "install", "-q", *args)
        else:
            exe = str(cwd / step.argv[0]) if "/" in step.argv[0] else step.argv[0]
            stdout = ok([exe, *step.argv[1:]], cwd)
            if step.stdout_to is not None:
                (cwd / step.stdout_to).write_text(stdout)
            outputs[shlex.join(step.argv)] = stdout

    run = outputs[".venv/bin/fakeding scenario run scenarios/echo.yaml"]
    assert "bot: you said hello" in run and "violations: expected 0, found 0 (ok)" in run, run
    assert "1 snapshot generated" in outputs[".venv/bin/pytest --snapshot-update"]
    green = outputs[".venv/bin/pytest"]
    assert "1 passed" in green and "1 snapshot passed" in green, green
    snapshot = cwd / "scenarios/__snapshots__/echo/echo.md"
    assert "you said hello" in snapshot.read_text()

    # the pytest example, saved where the text before its block says, beside the scenario
    named = TEST_FILE.findall(text[:example_at])
    assert named, f"no `test_*.py` file named before the pytest example: {text[:example_at][-300:]}"
    (start / named[-1]).write_text(example)
    both = ok([str(cwd / ".venv/bin/pytest")], cwd)
    assert "2 passed" in both and "1 snapshot passed" in both, both
