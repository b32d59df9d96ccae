"""``fakeding card render`` and ``fakeding card lint`` as a card author runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent / "templates"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fakeding.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_render_prints_what_a_user_sees(tmp_path: Path) -> None:
    data = write(tmp_path / "data.json", {"title": "Q", "question": "Which?", "submitted": False})
    mine = write(tmp_path / "me.json", {"submitted": True, "private_answer": "Cards"})
    public = run("card", "render", str(HERE / "question_form.json"), "--data", str(data))
    assert public.returncode == 0, public.stderr
    assert public.stdout.splitlines() == ["Q", "Which?", "---",
                                          "[input local_answer: Type your answer]",
                                          "[button Submit -> submit]"]
    private = run("card", "render", str(HERE / "question_form.json"), "--data", str(data),
                  "--private", str(mine))
    assert private.stdout.splitlines()[-1] == "Submitted: Cards"


def test_lint_fails_on_an_undeclared_streaming_key(tmp_path: Path) -> None:
    data = write(tmp_path / "data.json", {"content": "ok", "flowStatus": "3"})
    bad = run("card", "lint", str(HERE / "ai_answer.json"), "--data", str(data),
              "--stream-key", "msgContent")
    assert bad.returncode == 1
    assert "streaming key 'msgContent' is not a variable of template ai_answer" in bad.stdout
    good = run("card", "lint", str(HERE / "ai_answer.json"), "--data", str(data),
               "--stream-key", "content")
    assert good.returncode == 0 and "ok" in good.stdout


def test_lint_warnings_fail_only_when_strict(tmp_path: Path) -> None:
    data = write(tmp_path / "data.json", {"content": "line one\nline two"})
    lax = run("card", "lint", str(HERE / "ai_answer.json"), "--data", str(data))
    assert lax.returncode == 0 and "single newline is ignored" in lax.stdout
    strict = run("card", "lint", str(HERE / "ai_answer.json"), "--data", str(data), "--strict")
    assert strict.returncode == 1


def test_unusable_input_exits_2_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"editorData": "{}", "widgetInfo": "<a>"}', encoding="utf-8")
    answer = run("card", "lint", str(broken))
    assert answer.returncode == 2
    assert "broken.json: $.widgetInfo: expected a well-formed layout" in answer.stderr
    assert "Traceback" not in answer.stderr
