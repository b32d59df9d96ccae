"""``fakeding card render`` and ``fakeding card lint`` as a card author runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent / "templates"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fakeding.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_render_prints_what_a_user_sees(tmp_path: Path) -> None:
    data = write(tmp_path / "data.json", {"title": "Q", "question": "Which?", "submitted": False})
    mine = write(tmp_path / "me.json", {"submitted": True, "private_answer": "Cards"})
    public = run("card", "render", str(HERE / "question_form.json"), "--data", str(data))
    assert public.returncode == 0, public.stderr
    assert public.stdout.splitlines() == [
        "Q",
        "Which?",
        "---",
        "[input local_answer: Type your answer]",
        "[button Submit -> submit]",
    ]
    private = run(
        "card", "render", str(HERE / "question_form.json"), "--data", str(data), "--private", str(mine)
    )
    assert private.stdout.splitlines()[-1] == "Submitted: Cards"


def test_lint_fails_on_an_undeclared_streaming_key(tmp_path: Path) -> None:
    data = write(tmp_path / "data.json", {"content": "ok", "flowStatus": "3"})
    bad = run("card", "lint", str(HERE / "ai_answer.json"), "--data", str(data), "--stream-key", "msgContent")
    assert bad.returncode == 1
    assert "streaming key 'msgContent' is not a variable of template ai_answer" in bad.stdout
    good = run("card", "lint", str(HERE / "ai_answer.json"), "--data", str(data), "--stream-key", "content")
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


def test_serve_templates_draws_our_robots_ai_card() -> None:
    import requests

    from tests.fakeding.test_cli import _stop, serve

    with serve("--templates", "bot/templates") as fake:
        assert any(
            "card templates (1) from bot/templates: fakeding.ai-answer.v1.schema" in line
            for line in fake.lines
        ), fake.lines
        token = requests.post(
            fake.url + "/v1.0/oauth2/accessToken",
            timeout=10,
            json={"appKey": "fakeding-client", "appSecret": "fakeding-secret"},
        ).json()["accessToken"]
        headers = {"x-acs-dingtalk-access-token": token}
        labels = {
            f"feedback_{r}": r.title() for r in ("very_helpful", "helpful", "somewhat_helpful", "not_helpful")
        }
        body = {
            "cardTemplateId": "fakeding.ai-answer.v1.schema",
            "outTrackId": "a1",
            "cardData": {
                "cardParamMap": {
                    "title": "Q?",
                    "thinking": "…",
                    "content": "",
                    "flowStatus": "1",
                    "msgId": "m1",
                    **labels,
                }
            },
            "openSpaceId": "dtv1.card//IM_ROBOT.alice",
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"},
        }
        unknown = requests.post(
            fake.url + "/v1.0/card/instances/createAndDeliver",
            timeout=10,
            headers=headers,
            json={**body, "cardTemplateId": "other"},
        )
        assert unknown.json()["code"] == "param.templateNotExist"
        requests.post(fake.url + "/_fakeding/reset", json={}, timeout=10)  # templates stay
        assert (
            requests.post(
                fake.url + "/v1.0/card/instances/createAndDeliver", timeout=10, headers=headers, json=body
            ).status_code
            == 200
        )
        assert (
            requests.put(
                fake.url + "/v1.0/card/streaming",
                timeout=10,
                headers=headers,
                json={
                    "outTrackId": "a1",
                    "guid": "g1",
                    "key": "content",
                    "content": "It **works**",
                    "isFull": True,
                    "isFinalize": True,
                },
            ).status_code
            == 200
        )
        view = requests.get(fake.url + "/_fakeding/cards/a1/view", timeout=10).json()
        assert [n["text"] for n in view["nodes"]] == [
            "Q?",
            "It **works**",
            "",
            "Very_Helpful",
            "Helpful",
            "Somewhat_Helpful",
            "Not_Helpful",
        ]
        assert [n["kind"] for n in view["nodes"]][3:] == ["button"] * 4
        assert requests.get(fake.url + "/_fakeding/violations", timeout=10).json() == []
        assert _stop(fake.proc, signal.SIGTERM) == 0


def test_serve_with_a_missing_templates_folder_exits_2(tmp_path: Path) -> None:
    result = run("serve", "--port", "0", "--templates", str(tmp_path / "none"))
    assert result.returncode == 2
    assert "none: expected a folder of card-platform exports" in result.stderr
