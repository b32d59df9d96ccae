"""Helpers for the robustness tests: cards by user on a threaded fake, robot processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.elements import ELEMENTS_DIR
from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing

DEMO = ELEMENTS_DIR / "imRobots.dingTalkDemo"


def is_final(card_data: dict[str, Any]) -> bool:
    return any(e.get("id") == "feedback" for e in card_data.get("contents", []))


def answer_text(card_data: dict[str, Any]) -> str:
    for element in card_data.get("contents", []):
        if element.get("id") == "answer":
            return str(element.get("text", ""))
    return ""


def cards_by_user(fake: Any) -> dict[str, list[dict[str, Any]]]:
    """Every card of each 1:1 user, in creation order. ``fake`` is a ``ThreadedFakeDing``, or
    inside a ``wait_until`` predicate (which runs on the fake's loop) its ``.fake``."""
    found: dict[str, list[dict[str, Any]]] = {}
    for card in fake.cards():
        found.setdefault(str(card["user"]), []).append(card)
    return found


def final_users(fake: Any) -> set[str]:
    return {
        user
        for user, cards in cards_by_user(fake).items()
        if all(is_final(c["versions"][-1]["cardData"]) for c in cards)
    }


def ask(fake: ThreadedFakeDing, question: str, user: str) -> Any:
    """A 1:1 message from ``user``."""
    return fake.send_message(
        question, conversation_type="single", conversation_id=f"cid-{user}", staff_id=user
    )


def acked(fake: Any, message_ids: list[str | None]) -> bool:
    done = {r["messageId"] for r in fake.timeline(["ack"])}
    return all(m in done for m in message_ids)


def instance(tmp_path: Path, *, agent: dict[str, Any] | str = "faq", **config: Any) -> Path:
    """An instance folder (e.json and faq from the demo) with its own config.json."""
    folder = tmp_path / "instance"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("e.json", "faq.md"):
        (folder / name).write_text((DEMO / name).read_text(encoding="utf-8"), encoding="utf-8")
    values = {
        "clientId": "{{DINGTALK_CLIENT_ID}}",
        "clientSecret": "{{DINGTALK_CLIENT_SECRET}}",
        "agent": agent,
        "store": str(tmp_path / "robot.sqlite3"),
        **config,
    }
    (folder / "config.json").write_text(json.dumps(values), encoding="utf-8")
    return folder


def robot_env(fake: ThreadedFakeDing, *, secret: str = DEFAULT_CLIENT_SECRET) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DINGTALK_", "OPENAI_"))}
    env.update(
        DINGTALK_OPENAPI_ENDPOINT=fake.http_url,
        DINGTALK_CLIENT_ID=DEFAULT_CLIENT_ID,
        DINGTALK_CLIENT_SECRET=secret,
    )
    return env


def start_robot(folder: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m bot run FOLDER`` with its output in ``log`` (read it on failure)."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", str(folder)],
            env=env,
            cwd=folder.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def scripted_turns(count: int, chunks: int, delay: float) -> dict[str, object]:
    """A scripted agent config: ``count`` answers of ``chunks`` pieces ``delay`` s apart."""
    turn = {"chunks": [f"part {i}. " for i in range(chunks)], "delay": delay}
    return {"name": "scripted", "turns": [turn] * count}
