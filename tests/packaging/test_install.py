"""The kit installed as a robot's project would install it: a wheel built from this checkout,
fresh venvs, dependencies from the package index, and a fresh project that runs pytest.

Slow (venvs, pip): ``-m 'not packaging'`` deselects it locally; CI runs it. Helpers in
``venvs.py``, the ``kit_wheel`` fixture in ``conftest.py``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from .venvs import BIN, ROOT, build_wheel, copy_tree, kit, make_project, make_venv, ok, pip, run, run_pytest

pytestmark = pytest.mark.packaging


def test_wheel_holds_the_kit_alone(kit_wheel: Path) -> None:
    names = zipfile.ZipFile(kit_wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"fakeding"}, tops
    assert "fakeding/py.typed" in names
    assert "fakeding/testing/scenarios/harness.py" in names  # subpackages are in
    assert any(n.endswith("LICENSE") and ".dist-info/" in n for n in names), "no LICENSE in the wheel"


def test_the_kit_metadata_has_classifiers_and_no_dev_extra(kit_wheel: Path) -> None:
    """The development tools are a dependency group (PEP 735), invisible to the kit's users; the
    package page gets its classifiers and the SPDX licence."""
    wheel = zipfile.ZipFile(kit_wheel)
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    extras = {
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")
    }
    assert extras == {"scenarios", "sdk", "tls", "load"}, extras
    assert "Classifier: Framework :: Pytest" in metadata and "License-Expression: MIT" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and not [r for r in requires if "pytest" in r or "ruff" in r or "mypy" in r], requires


def test_installed_kit_has_no_bot_and_no_numpy(kit_wheel: Path, tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv", kit(kit_wheel, "scenarios,sdk"))
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('fakeding', 'bot', 'numpy', 'bm25s') if u.find_spec(m)])"
    )
    assert ok([str(python), "-c", probe], tmp_path).strip() == "['fakeding']"
    listed = {line.split()[0].lower() for line in pip(python, "list").splitlines()[2:]}
    assert "fakeding" in listed and "aiohttp" in listed
    assert not listed & {"bm25s", "numpy", "fakeding-bot"}, sorted(listed)


def test_kit_alone_names_the_extra_a_scenario_needs(kit_wheel: Path, tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv", kit(kit_wheel))
    done = run([str(python), "-c", "import fakeding.testing.scenarios"], tmp_path)
    assert done.returncode == 1
    assert "pip install 'fakeding[scenarios]'" in done.stderr, done.stderr
    cli = run([str(tmp_path / "venv" / BIN / "fakeding"), "scenario", "run", "x.yaml"], tmp_path)
    assert cli.returncode == 2, (cli.stdout, cli.stderr)
    assert "needs PyYAML" in cli.stderr and "fakeding[scenarios]" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr
    for command, what in ((["load", "plan.yaml"], "fakeding load"), (["scenario", "diff", "x.yaml"], "diff")):
        done = run([str(tmp_path / "venv" / BIN / "fakeding"), *command], tmp_path)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert what in done.stderr and "fakeding[scenarios]" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("extras", ["", "scenarios"], ids=["kit", "kit[scenarios]"])
@pytest.mark.parametrize(
    "asyncio_plugin", [False, True], ids=["without-pytest-asyncio", "with-pytest-asyncio"]
)
def test_fresh_project_passes_with_the_kit(
    kit_wheel: Path, tmp_path: Path, extras: str, asyncio_plugin: bool
) -> None:
    """Installing the kit must not break a project's tests: the plugin loads for every test, and
    the ``scenarios`` extra brings looptime, whose own plugin crashes without pytest-asyncio."""
    requirements = [kit(kit_wheel, extras), "pytest"]
    python = make_venv(tmp_path / "venv", *requirements, *(["pytest-asyncio"] if asyncio_plugin else []))
    project = make_project(tmp_path / "project", {"test_x.py": "def test_nothing():\n    pass\n"})
    assert "1 passed" in run_pytest(python, project)


ECHO_TEST = """
import asyncio
import threading

import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage


class Echo(ChatbotHandler):
    async def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        self.reply_text("you said " + msg.text.content.strip(), msg)
        return AckMessage.STATUS_OK, "OK"


def test_my_robot_answers(fakeding):
    client = dingtalk_stream.DingTalkStreamClient(
        dingtalk_stream.Credential("fakeding-client", "fakeding-secret"))
    client.register_callback_handler(ChatbotMessage.TOPIC, Echo())
    threading.Thread(target=lambda: asyncio.run(client.start()), daemon=True).start()
    fakeding.wait_for("connect")
    fakeding.send_message("hi", conversation_id="cidG", staff_id="alice")
    fakeding.wait_for("webhook")
    assert fakeding.transcript("cidG")[-1]["text"] == "you said hi"
"""


def _echo_robot_passes(python: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"test_echo.py": ECHO_TEST})
    assert "1 passed" in run_pytest(python, project)


def test_sdk_echo_robot_in_a_fresh_project(kit_wheel: Path, tmp_path: Path) -> None:
    """The docs' pytest example, as a robot's own project would run it."""
    python = make_venv(tmp_path / "venv", kit(kit_wheel, "sdk"), "pytest")
    _echo_robot_passes(python, tmp_path)


def test_sdk_echo_robot_with_websockets_11(kit_wheel: Path, tmp_path: Path) -> None:
    """Robots that pin ``websockets>11.0.2,<12`` (dify-on-dingtalk, n8n-on-dingtalk-bot) still
    install the kit and test against it: the fake must not need a newer websockets."""
    python = make_venv(tmp_path / "venv", kit(kit_wheel, "sdk"), "pytest", "websockets>11.0.2,<12")
    version = ok([str(python), "-c", "import websockets; print(websockets.__version__)"], tmp_path)
    assert version.startswith("11."), version
    _echo_robot_passes(python, tmp_path)


RAW_STREAM_TEST = '''
import asyncio
import json

import aiohttp


async def one_message(http_url):
    """A Stream client written plainly with aiohttp: gateway, websocket, one push, its ack."""
    async with aiohttp.ClientSession() as s:
        async with s.post(http_url + "/v1.0/gateway/connections/open", json={
                "clientId": "fakeding-client", "clientSecret": "fakeding-secret",
                "subscriptions": [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]}) as r:
            gate = await r.json()
        async with s.ws_connect(gate["endpoint"] + "?ticket=" + gate["ticket"]) as ws:
            yield ws
            frame = json.loads((await ws.receive()).data)
            await ws.send_str(json.dumps({"code": 200, "headers": frame["headers"],
                                          "message": "OK", "data": "{}"}))
            yield json.loads(frame["data"])["text"]["content"].strip()


def test_a_stream_client_gets_and_acks_a_message(fakeding):
    async def main():
        steps = one_message(fakeding.http_url)
        await steps.__anext__()  # connected
        fakeding.send_message("hi from 3.9", conversation_id="cidG", staff_id="alice")
        text = await steps.__anext__()
        await asyncio.sleep(0.2)  # the ack on its way
        await steps.aclose()
        return text

    assert asyncio.run(main()) == "hi from 3.9"
    [ack] = fakeding.timeline(["ack"])
    assert ack["code"] == 200 and fakeding.violations == []
'''


def test_the_kit_runs_on_the_oldest_aiohttp_it_allows(kit_wheel: Path, tmp_path: Path) -> None:
    """The kit says ``aiohttp>=3.9``: a project held at 3.9.0 (one whose robot is not the Python
    SDK, which itself needs 3.10) gets a working fake: gateway, Stream push and ack."""
    python = make_venv(tmp_path / "venv", kit(kit_wheel), "pytest", "aiohttp==3.9.0")
    version = ok([str(python), "-c", "import aiohttp; print(aiohttp.__version__)"], tmp_path)
    assert version.strip() == "3.9.0", version
    project = make_project(tmp_path / "project", {"test_raw.py": RAW_STREAM_TEST})
    assert "1 passed" in run_pytest(python, project)


def test_bot_wheel_carries_every_module_and_element(tmp_path: Path) -> None:
    """bot/pyproject.toml lists its packages by hand (the folder is the package): none missed."""
    src = tmp_path / "bot"
    copy_tree(ROOT / "bot", src)
    tree = {
        f"bot/{p.relative_to(src).as_posix()}"
        for p in src.rglob("*")
        if p.is_file() and p.suffix in (".py", ".json", ".md", ".typed")
    } - {"bot/README.md"}  # the distribution's description (its METADATA), not a module
    assert "bot/elements/imRobots.dingTalkDemo/faq.md" in tree
    assert "bot/py.typed" in tree  # the robot's types reach its users' mypy
    wheel = zipfile.ZipFile(build_wheel(src, tmp_path / "dist"))
    names = set(wheel.namelist())
    assert tree - names == set(), sorted(tree - names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = wheel.read(entry_points).decode()
    assert "[fakeding.robots]" in text and "bot = bot.scenario_adapter:adapter" in text
    metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "## Writing your own agent" in metadata  # bot/README.md is its package page
    assert "Classifier: Typing :: Typed" in metadata and "License-Expression: MIT" in metadata


def test_the_robot_alone_says_how_to_get_the_demo_and_with_the_kit_runs_it(
    kit_wheel: Path, tmp_path: Path
) -> None:
    """``python -m bot demo`` from the robot's own install: without the kit a clear hint (the
    ``demo`` extra), with it the scripted chat."""
    src = tmp_path / "bot"
    copy_tree(ROOT / "bot", src)
    bot_wheel = build_wheel(src, tmp_path / "dist")
    python = make_venv(tmp_path / "alone", str(bot_wheel))
    alone = run([str(python), "-m", "bot", "demo", "--exit"], tmp_path)
    assert alone.returncode == 2 and "Traceback" not in alone.stderr
    assert "pip install 'fakeding-bot[demo]'" in alone.stderr, alone.stderr
    pip(python, "install", "-q", kit(kit_wheel, "scenarios"))
    demo = run([str(python), "-m", "bot", "demo", "--exit"], tmp_path)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "Feedback" in demo.stdout or "card" in demo.stdout
