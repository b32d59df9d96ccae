"""``metricsPort``: /metrics scraped over HTTP (Prometheus text format) and /healthz, while the
robot answers through the fake with a retried update, a duplicate delivery and an agent error."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import BotHarness, open_harness
from tests.bot.robot_kit import UPDATE_ROUTE, api_calls, events, updates, violations


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.text()


async def scrape(h: BotHarness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by name and labels."""
    assert h.robot.exporter is not None and h.robot.exporter.url is not None
    status, text = await get(h.robot.exporter.url + "/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.fakeding_virtual
async def test_metrics_count_what_happened_and_time_the_cards() -> None:
    agent = ScriptedAgent(
        [
            {"chunks": ["One two three."], "delay": 6.0},
            {"chunks": ["Half"], "error": "boom"},
        ]
    )

    async with open_harness(agent=agent, robot={"metricsPort": 0}) as h:
        h.fake.fault(
            {"kind": "api", "route": UPDATE_ROUTE, "status": 500, "count": 2, "code": "unknownError"}
        )  # a streaming update lost, the final retried
        h.fake.fault({"kind": "frame", "action": "duplicate"})
        h.fake.send_message("First?", conversation_id="cidA", staff_id="alice")
        await h.settle()
        h.fake.send_message("Second?", conversation_id="cidB", staff_id="bob")
        await h.settle()
        assert len(events(h, "card.final")) == 2
        m = await scrape(h)
        assert value(m, "dingbot_messages_total", plan="answer") == 2
        assert value(m, "dingbot_answers_total", via="card", notice="false") == 1
        assert value(m, "dingbot_answers_total", via="card", notice="true") == 1
        assert value(m, "dingbot_dedup_skips_total") == 1
        assert value(m, "dingbot_retries_total", api="openapi") == 1
        assert len(events(h, "api.retry")) == 1
        assert value(m, "dingbot_api_errors_total", status="500", code="unknownError") == 2
        assert len(api_calls(h, UPDATE_ROUTE, status=500)) == 2
        assert value(m, "dingbot_streaming_updates_skipped_total", reason="error") == 1
        assert value(m, "dingbot_agent_failures_total", kind="error") == 1
        assert value(m, "dingbot_answers_in_flight") == 0
        # the thinking card goes out at once; the first answer's final card after 6 s
        assert value(m, "dingbot_time_to_thinking_card_seconds_count") == 2
        assert value(m, "dingbot_time_to_thinking_card_seconds_bucket", le="0.05") == 2
        assert value(m, "dingbot_time_to_final_card_seconds_count") == 2
        assert value(m, "dingbot_time_to_final_card_seconds_bucket", le="5.0") == 1
        assert value(m, "dingbot_time_to_final_card_seconds_bucket", le="10.0") == 2
        landed = sum(len(updates(card)) for card in h.fake.platform.cards.all())
        assert value(m, "dingbot_card_updates_sum") == landed == 2
        assert value(m, "dingbot_card_updates_count") == 2
        status, text = await get(h.robot.exporter.url + "/healthz")  # type: ignore[union-attr]
        assert status == 200 and '"connected": true' in text
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_healthz_is_503_while_the_robot_cannot_connect() -> None:
    async with open_harness(agent=ScriptedAgent([]), robot={"metricsPort": 0}) as h:
        assert h.robot.exporter is not None and h.robot.exporter.url is not None
        app = h.fake.platform.apps["fakeding-client"]
        secret, app.client_secret = app.client_secret, "rotated"
        h.fake.fault({"kind": "drop_connection"})
        await h.sleep_until(3.0)
        status, text = await get(h.robot.exporter.url + "/healthz")
        assert status == 503 and '"status": "down"' in text
        app.client_secret = secret
        await h.sleep_until(30.0)
        status, _ = await get(h.robot.exporter.url + "/healthz")
        assert status == 200


@pytest.mark.fakeding_virtual
async def test_no_metrics_port_means_no_metrics() -> None:
    async with open_harness(agent=ScriptedAgent([])) as h:
        assert h.robot.metrics is None and h.robot.exporter is None


@pytest.mark.parametrize("port", [-1, 65536, "9100", True])
def test_metrics_port_is_checked(port: Any) -> None:
    from pathlib import Path

    from bot.errors import ConfigError
    from bot.im_robots.dingtalk_stream.config import RobotConfig, validate

    with pytest.raises(ConfigError, match="metricsPort must be a port number 0..65535"):
        validate(RobotConfig("id", "secret", metrics_port=port), Path("config.json"))
