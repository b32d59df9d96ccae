"""The scenario engine drives any robot through an adapter: here a tiny echo robot (the SDK's
own frame routing and ``ChatbotHandler``, an async gateway call, replies through the session
webhook), found by ``module:attr`` or as a registered entry point, never our robot."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import dingtalk_stream
import pytest
import websockets
from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage

from fakeding.core.cards import Card
from fakeding.core.recorder import Record
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from fakeding.server import FakeDing
from fakeding.testing.scenarios import robots
from fakeding.testing.scenarios.cli import run_files
from fakeding.testing.scenarios.render import render
from fakeding.testing.scenarios.robots import Refs, RobotAdapterError, RobotContext, pick_default
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.testing.scenarios.schema import ScenarioError, load_scenario

ECHO = "tests.fakeding.test_robot_adapters:EchoAdapter"


class _Echo(ChatbotHandler):  # type: ignore[misc]
    def __init__(self, session: EchoSession) -> None:
        super().__init__()
        self.session = session

    async def process(self, callback: Any) -> tuple[int, str]:
        incoming = ChatbotMessage.from_dict(callback.data)
        self.session.spawn(incoming)
        return AckMessage.STATUS_OK, "OK"


class EchoSession:
    """Echoes each text message after ``delay`` virtual seconds, with ``prefix``."""

    def __init__(self, fake: FakeDing, options: dict[str, Any]) -> None:
        self.fake = fake
        self.delay = float(options.get("delay", 0))
        self.prefix = str(options.get("prefix", "echo: "))
        self.client = dingtalk_stream.DingTalkStreamClient(
            dingtalk_stream.Credential(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        )
        self.client.register_callback_handler(ChatbotMessage.TOPIC, _Echo(self))
        self.http = aiohttp.ClientSession()
        self.tasks: set[asyncio.Task[None]] = set()
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        body = {
            "clientId": DEFAULT_CLIENT_ID,
            "clientSecret": DEFAULT_CLIENT_SECRET,
            "subscriptions": [{"type": "CALLBACK", "topic": ChatbotMessage.TOPIC}],
        }
        async with self.http.post(f"{self.fake.http_url}/v1.0/gateway/connections/open", json=body) as resp:
            conn = await resp.json()
        ws = await websockets.connect(f"{conn['endpoint']}?ticket={quote_plus(conn['ticket'])}")
        self.client.websocket = ws
        self.reader = asyncio.ensure_future(self._read(ws))

    async def _read(self, ws: Any) -> None:
        async for raw in ws:
            await self.client.route_message(json.loads(raw))

    def spawn(self, incoming: ChatbotMessage) -> None:
        task = asyncio.ensure_future(self._reply(incoming))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _reply(self, incoming: ChatbotMessage) -> None:
        await asyncio.sleep(self.delay)
        text = self.prefix + incoming.text.content.strip()
        async with self.http.post(
            incoming.session_webhook, json={"msgtype": "text", "text": {"content": text}}
        ) as resp:
            errcode = (await resp.json()).get("errcode")
        self.fake.recorder.add(
            self.fake.clock.monotonic(), "echo.reply", msg=incoming.message_id, errcode=errcode
        )

    def busy(self) -> bool:
        return bool(self.tasks)

    def pending(self) -> list[asyncio.Future[Any]]:
        return list(self.tasks)

    async def aclose(self) -> None:
        for task in [*self.tasks, *([self.reader] if self.reader else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.client.websocket is not None:
            await self.client.websocket.close()
        await self.http.close()


class EchoAdapter:
    name = "echo"
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"delay": {"type": "number", "minimum": 0}, "prefix": {"type": "string"}},
    }
    answer_schema = None
    expectation_schema = {"echoes": {"type": "integer", "minimum": 0}}
    record_prefix = "echo."
    summary_kinds = {"echo.reply": "echo"}

    def open(self, fake: FakeDing, ctx: RobotContext) -> EchoSession:
        return EchoSession(fake, dict(ctx.options))

    def expectations(self, result: Any) -> dict[str, int]:
        return {"echoes": sum(1 for r in result.records if r.kind == "echo.reply")}

    def describe(self, record: Record, refs: Refs) -> str | None:
        return f"echoed {refs('msg', record.fields['msg'])} errcode={record.fields['errcode']}"

    def card_state(self, card_data: Any) -> str:
        return "card"

    def is_final(self, card: Card) -> bool:
        return True


SCENARIO = """\
name: echo robot
robot: {robot}
users:
  alice: {{nick: Alice}}
conversations:
  g: {{type: group, title: Echo room}}
steps:
  - at: 0
    say: {{user: alice, in: g, text: hello}}
  - at: 10
    say: {{user: alice, in: g, text: "  again  "}}
{extra}"""


def scenario(tmp_path: Path, robot: str, extra: str = "") -> Path:
    path = tmp_path / "scenarios" / "echo.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(SCENARIO.format(robot=robot, extra=extra), encoding="utf-8")
    return path


def test_another_robot_runs_a_scenario_through_its_adapter(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        f'{{adapter: "{ECHO}", delay: 1.5, prefix: "you said: "}}',
        "expect: {echoes: 2, webhook_replies: 2, cards: 0, violations: 0}\n",
    )
    result = run_scenario(path)
    assert isinstance(result.robot, EchoAdapter)
    assert [(e.t, e.who, e.text) for e in result.transcript] == [
        (0.0, "user:alice", "hello"),
        (1.5, "bot", "you said: hello"),
        (10.0, "user:alice", "  again  "),
        (11.5, "bot", "you said: again"),
    ]
    assert [(x.name, x.found, x.ok) for x in result.expectations] == [
        ("echoes", 2, True),
        ("webhook_replies", 2, True),
        ("cards", 0, True),
        ("violations", 0, True),
    ]
    report = render(result)
    assert "+1.500s echoed msg#1 errcode=0" in report
    assert "+11.500s echoed msg#2 errcode=0" in report
    assert "bot." not in report and "robot got" not in report


def test_a_failed_adapter_expectation_is_reported(tmp_path: Path) -> None:
    path = scenario(tmp_path, f'"{ECHO}"', "expect: {echoes: 3}\n")
    result = run_scenario(path)
    assert [(x.name, x.expected, x.found) for x in result.failed] == [("echoes", 3, 2)]
    assert "- echoes: expected 3, found 2 (FAILED)" in render(result)


def test_summary_timelines_count_the_adapters_kinds(tmp_path: Path) -> None:
    path = scenario(tmp_path, f'"{ECHO}"', "report: {timeline: summary}\n")
    report = render(run_scenario(path))
    assert "+0s ack=1 echo=1 push=1 webhook=1" in report
    assert "+10s ack=1 echo=1 push=1 webhook=1" in report


def test_an_installed_entry_point_is_found_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "site" / "echo_robot-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-robot\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[fakeding.robots]\necho = {ECHO}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert "echo" in robots.installed()
    assert isinstance(robots.load_adapter("echo"), EchoAdapter)  # a class: called as a factory
    result = run_scenario(scenario(tmp_path, "echo", "expect: {echoes: 2}\n"))
    assert not result.failed


def test_the_cli_runs_files_with_the_robot_named_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario(tmp_path, "{delay: 2}", "expect: {echoes: 2}\n")
    assert run_files([str(path)], robot=ECHO) == 0
    out = capsys.readouterr().out
    assert "+2.000s echoed msg#1 errcode=0" in out and "(ok)" in out


# -- bad input: file:line: field: problem, and what to do ------------------------------------


def error_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    return str(err.value)


def test_an_unknown_key_under_robot_names_the_line_and_the_allowed_keys(tmp_path: Path) -> None:
    path = scenario(tmp_path, f'\n  adapter: "{ECHO}"\n  delay: 1\n  colour: red')
    message = error_of(path)
    assert message == f"{path}:5: robot.colour: unknown key 'colour'; expected some of: delay, prefix"


def test_a_bad_option_value_names_the_option(tmp_path: Path) -> None:
    path = scenario(tmp_path, f'{{adapter: "{ECHO}", delay: -1}}')
    assert error_of(path).startswith(f"{path}:2: robot.delay: -1 is less than the minimum of 0")


def test_an_unknown_adapter_name_lists_what_is_installed(tmp_path: Path) -> None:
    path = scenario(tmp_path, "no-such-robot")
    message = error_of(path)
    assert message.startswith(f"{path}:2: robot: unknown robot adapter 'no-such-robot'; installed:")
    assert "fakeding.robots" in message and "module:attr" in message


def test_an_adapter_path_that_does_not_import_says_why(tmp_path: Path) -> None:
    path = scenario(tmp_path, '{adapter: "no_such_module:adapter"}')
    message = error_of(path)
    assert message.startswith(
        f"{path}:2: robot.adapter: robot adapter 'no_such_module:adapter' "
        "cannot be loaded (No module named 'no_such_module')"
    )


def test_an_object_that_is_not_an_adapter_is_refused(tmp_path: Path) -> None:
    path = scenario(tmp_path, '{adapter: "pathlib:PurePath"}')
    assert "is a PurePosixPath without options_schema, answer_schema" in error_of(path)


def test_answer_blocks_are_refused_by_a_robot_that_takes_none(tmp_path: Path) -> None:
    path = scenario(
        tmp_path, f'"{ECHO}"', "  - at: 20\n    say: {user: alice, in: g, text: x}\n    answer: {text: y}\n"
    )
    assert error_of(path).startswith(
        f"{path}:14: steps[2].answer: robot adapter 'echo' takes no scripted answers"
    )


def test_expectations_of_another_robot_are_unknown_keys(tmp_path: Path) -> None:
    path = scenario(tmp_path, f'"{ECHO}"', "expect: {feedback: 1}\n")
    message = error_of(path)
    assert message == (
        f"{path}:12: expect.feedback: unknown key 'feedback'; expected some of: "
        "answers, api_calls_per_answer, api_errors, cards, cross_talk, echoes, "
        "failed_cards, max_ack_latency, max_answers_per_message, "
        "max_updates_per_card, metered_calls, unfinished_cards, violations, "
        "warnings, webhook_replies"
    )


def test_other_errors_are_reported_even_when_the_adapter_is_unknown(tmp_path: Path) -> None:
    path = scenario(tmp_path, "no-such-robot", "sttle: 3\n")
    assert error_of(path).startswith(f"{path}:12: sttle: unknown key 'sttle'; expected some of: ")


def test_a_bad_default_says_where_it_was_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKEDING_ROBOT", "no-such-robot")
    message = error_of(scenario(tmp_path, "{delay: 1}"))
    assert message.startswith(f"{path_of(tmp_path)}:2: robot: unknown robot adapter 'no-such-robot'")
    assert message.endswith("(the default, set by $FAKEDING_ROBOT)")


def path_of(tmp_path: Path) -> Path:
    return tmp_path / "scenarios" / "echo.yaml"


def test_the_default_adapter_is_the_env_then_the_ini_then_the_only_installed() -> None:
    assert pick_default("env", "ini", ["a", "b"]) == ("env", "$FAKEDING_ROBOT")
    assert pick_default(None, "ini", ["a", "b"]) == ("ini", "the ini option fakeding_robot")
    assert pick_default("", "", ["only"]) == ("only", "the only installed adapter")
    with pytest.raises(RobotAdapterError, match=r"no robot adapter is installed; .*FAKEDING_ROBOT"):
        pick_default(None, None, [])
    with pytest.raises(RobotAdapterError, match=r"several robot adapters are installed \(a, b\)"):
        pick_default(None, None, ["a", "b"])
