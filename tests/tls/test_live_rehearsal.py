"""Live-mode rehearsal: our robot in its live configuration (no ``DINGTALK_OPENAPI_ENDPOINT``, so
its endpoint is ``https://api.dingtalk.com``) answers a question end to end against
``fakeding serve --tls``, reached only through what ``/_fakeding/env?lang=python`` hands out
(``HTTPS_PROXY`` for its aiohttp OpenAPI client and the SDK's gateway call, the CA bundle for
aiohttp, requests and the websocket)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from .serving import child, clean_env, serve_tls


def test_the_live_configured_robot_answers_through_the_handed_out_environment(
    ca_dir: Path, tmp_path: Path
) -> None:
    with serve_tls(ca_dir, "--proxy-port", "0") as fake:
        env = clean_env(
            {
                **fake.env_for("python")["env"],
                "DINGTALK_CLIENT_ID": "fakeding-client",
                "DINGTALK_CLIENT_SECRET": "fakeding-secret",
            }
        )
        assert "DINGTALK_OPENAPI_ENDPOINT" not in env
        with child([sys.executable, "-m", "bot", "run"], env, tmp_path):
            connect = fake.wait_for("connect", timeout=60)
            assert connect["client"] == "fakeding-client"
            fake.control(
                "POST",
                "messages",
                {
                    "conversation": {"id": "cidLive", "type": "group", "title": "Rehearsal"},
                    "sender": {"staffId": "carol", "nick": "Carol"},
                    "text": "How do I reset my password?",
                },
            )
            deadline = time.monotonic() + 60
            while True:
                cards = fake.control("GET", "cards")
                last = json.dumps(cards[-1]["versions"][-1]["cardData"]) if cards else ""
                if "Forgot password" in last and "feedback_helpful" in last:
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"no final answer card within 60 s; cards: {cards}")
                time.sleep(0.1)
        routes = {r["route"] for r in fake.control("GET", "timeline?kind=api")}
        assert {
            "POST /v1.0/gateway/connections/open",
            "POST /v1.0/oauth2/accessToken",
            "POST /v1.0/im/v1.0/robot/interactiveCards/send",
        } <= routes, routes
        assert fake.control("GET", "violations") == []
