"""Command robots whose SDK hard-codes https://api.dingtalk.com: the runner serves TLS mode and
hands the process what ``/_fakeding/env?lang=`` answers (the Node scenario runs the real SDK)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fakeding.testing import running_fake
from fakeding.testing.scenarios.command_robot import (
    CommandAdapter,
    language,
    resolve_program,
    robot_environment,
)

adapter = CommandAdapter()


@pytest.mark.parametrize(
    ("options", "tls", "lang"),
    [
        ({"command": ["node", "bot.mjs"]}, True, "node"),
        ({"command": ["/usr/bin/node", "bot.mjs"], "tls": False}, False, "node"),
        ({"command": ["python3", "bot.py"]}, False, "python"),
        ({"command": ["python", "bot.py"], "tls": True}, True, "python"),
        ({"command": ["java", "-jar", "bot.jar"], "tls": True}, True, "java"),
        ({"command": ["./my-bot"], "tls": True, "lang": "node"}, True, "node"),
        ({"command": ["./my-bot"], "tls": True}, True, "go"),
    ],
)
def test_tls_defaults_to_node_commands_and_lang_to_the_program(
    options: dict[str, object], tls: bool, lang: str
) -> None:
    assert adapter.tls(options) is tls
    assert language(options) == lang


def test_python_is_this_interpreter_and_node_is_found() -> None:
    import sys

    assert resolve_program("python") == sys.executable
    node = resolve_program("node")
    assert node == "node" or Path(node).name == "node"
    assert resolve_program("./robot") == "./robot"


def test_a_tls_fake_gives_the_process_the_node_env(tmp_path: Path) -> None:
    async def main() -> tuple[dict[str, str], str]:
        async with running_fake(tls=True, epoch=None) as fake:
            assert fake.tls is not None
            env = robot_environment(fake, "id", "secret", {"EXTRA": "1"}, "node")
            return env, fake.http_url

    env, url = asyncio.run(main())
    assert url.startswith("https://127.0.0.1:")
    assert env["HTTPS_PROXY"].startswith("http://127.0.0.1:")
    assert env["NO_PROXY"] == "127.0.0.1,localhost"
    assert Path(env["NODE_EXTRA_CA_CERTS"]).is_file()
    assert env["DINGTALK_OPENAPI_ENDPOINT"] == url and env["EXTRA"] == "1"


def test_a_plain_fake_adds_no_tls_variables() -> None:
    async def main() -> dict[str, str]:
        async with running_fake(epoch=None) as fake:
            return robot_environment(fake, "id", "secret", {}, "node")

    env = asyncio.run(main())
    assert "NODE_EXTRA_CA_CERTS" not in env or env.get("NODE_EXTRA_CA_CERTS") == __import__("os").environ.get(
        "NODE_EXTRA_CA_CERTS"
    )
    assert env["DINGTALK_OPENAPI_ENDPOINT"].startswith("http://")
