"""Card updates through the robot follow the throttle, and API calls stay under 20 QPS."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.im_robots.dingtalk_stream.config import load_config
from bot.scenario_adapter import open_harness
from tests.bot.robot_kit import (
    QPS_CODE,
    UPDATE_ROUTE,
    api_calls,
    cards,
    events,
    is_final,
    markdown,
    only_card,
    records,
    streaming_texts,
    updates,
    violations,
)


def pieces(n: int) -> list[str]:
    return [f"w{i} " for i in range(1, n + 1)]


async def answer_card(
    turn: dict[str, object], robot: dict[str, object] | None = None
) -> tuple[list[str], list[str], list[float], str]:
    """Play one answer; return update reasons, streaming texts, update times, final text."""
    agent = ScriptedAgent([turn])

    async with open_harness(agent=agent, robot=robot) as h:
        h.fake.send_message("Tell me everything", staff_id="alice")
        await h.settle()
        card = only_card(h)
        final = updates(card)[-1]
        assert is_final(final)
        assert events(h, "card.final.failed") == [] and violations(h) == []
        reasons = [r.fields["reason"] for r in events(h, "throttle") if r.fields["update"]]
        times = [r.t for r in records(h, "card.update")]
        return reasons, streaming_texts(card), times, str(markdown(final, "answer"))


@pytest.mark.fakeding_virtual
async def test_five_pending_chunks_trigger_an_update() -> None:
    chunks = pieces(12)
    reasons, texts, _, final = await answer_card({"chunks": chunks, "delay": 0.1})
    assert reasons == ["batch", "batch"]
    assert texts == ["".join(chunks[:5]), "".join(chunks[:10])]
    assert final == "".join(chunks)


@pytest.mark.fakeding_virtual
async def test_two_seconds_since_the_last_update_trigger_an_update() -> None:
    chunks = pieces(5)
    reasons, texts, times, final = await answer_card({"chunks": chunks, "delay": 1.0})
    assert reasons == ["interval", "interval"]
    assert texts == ["".join(chunks[:2]), "".join(chunks[:4])]
    assert times[:2] == [2.0, 4.0]
    assert final == "".join(chunks)


@pytest.mark.fakeding_virtual
async def test_two_hundred_chunks_make_at_most_twenty_updates_each_showing_the_answer_so_far() -> None:
    chunks = pieces(200)
    whole = "".join(chunks)
    agent = ScriptedAgent([{"chunks": chunks, "delay": 0.01}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message("Tell me everything", staff_id="alice")
        await h.settle()
        card = only_card(h)
        assert len(updates(card)) == 20, "19 streaming updates and the final one"
        texts = streaming_texts(card)
        assert len(texts) == 19
        prefixes = {"".join(chunks[:n]) for n in range(1, 201)}
        for before, after in zip(texts, texts[1:], strict=False):
            assert len(after) > len(before) and after.startswith(before)
        assert all(text in prefixes for text in texts), "every update shows whole chunks"
        assert markdown(card.current, "answer") == whole
        assert any(r.fields["reason"] == "cap" for r in events(h, "throttle"))
        assert len(api_calls(h, UPDATE_ROUTE)) == 20


@pytest.mark.parametrize(
    ("config", "turn", "expected"),
    [
        ({"maxUpdates": 5}, {"chunks": pieces(200), "delay": 0.01}, 5),
        ({"updateBatch": 3}, {"chunks": pieces(12), "delay": 0.1}, 4 + 1),
        ({"updateInterval": 1.0}, {"chunks": pieces(5), "delay": 1.0}, 5 + 1),
        ({"updateInterval": 1.0, "updateBatch": 50, "maxUpdates": 3}, {"chunks": pieces(6), "delay": 1.0}, 3),
    ],
    ids=["maxUpdates", "updateBatch", "updateInterval", "all-three"],
)
@pytest.mark.fakeding_virtual
async def test_throttle_numbers_come_from_the_config_file(
    tmp_path: Path, config: dict[str, float], turn: dict[str, object], expected: int
) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"clientId": "fakeding-client", "clientSecret": "fakeding-secret", **config}),
        encoding="utf-8",
    )
    cfg = load_config(tmp_path, env={})
    robot: dict[str, object] = {
        "max_updates": cfg.max_updates,
        "update_interval": cfg.update_interval,
        "update_batch": cfg.update_batch,
    }
    reasons, texts, times, final = await answer_card(turn, robot)
    assert len(times) == expected
    assert len(texts) == expected - 1
    assert final == "".join(turn["chunks"])  # type: ignore[arg-type]


@pytest.mark.fakeding_virtual
async def test_fifty_simultaneous_answers_never_show_a_rate_limit_error() -> None:
    agent = ScriptedAgent([{"chunks": pieces(10), "delay": 0.2} for _ in range(50)])

    async with open_harness(agent=agent) as h:
        for n in range(50):
            h.fake.send_message(f"Question {n}", conversation_id=f"cid{n}", staff_id=f"u{n}")
        await h.settle()
        assert len(cards(h)) == 50
        assert all(is_final(card.current) for card in cards(h))
        assert events(h, "card.final.failed") == []
        assert events(h, "reply.fallback") == [] and events(h, "reply.lost") == []
        assert violations(h) == []
        calls = records(h, "api")
        assert [c for c in calls if c.fields["status"] == 403] == [], "paced below the limit"
        # no route ever saw more than 20 calls in any one-second window
        by_route: dict[str, list[float]] = defaultdict(list)
        for call in calls:
            by_route[call.fields["route"]].append(call.t)
        for route, stamps in by_route.items():
            for i, start in enumerate(stamps):
                inside = [t for t in stamps[i:] if t < start + 1.0]
                assert len(inside) <= 20, f"{route}: {len(inside)} calls within 1 s at {start}"


@pytest.mark.fakeding_virtual
async def test_a_qps_limit_answer_is_retried_after_at_least_a_second() -> None:
    agent = ScriptedAgent([{"chunks": ["All good."]}])

    async with open_harness(agent=agent) as h:
        h.fake.fault(
            {
                "kind": "api",
                "route": UPDATE_ROUTE,
                "status": 403,
                "code": QPS_CODE,
                "message": "调用该接口超过了限流阈值",
            }
        )
        h.fake.send_message("Anything?", staff_id="alice")
        await h.settle()
        [retry] = events(h, "api.retry")
        assert retry.fields["status"] == 403 and retry.fields["code"] == QPS_CODE
        assert retry.fields["backoff"] >= 1.0
        failed, succeeded = api_calls(h, UPDATE_ROUTE)
        assert failed.fields["status"] == 403 and succeeded.fields["status"] == 200
        assert succeeded.t - failed.t >= 1.0
        card = only_card(h)
        assert is_final(card.current) and markdown(card.current, "answer") == "All good."
        assert events(h, "card.final.failed") == [] and events(h, "reply.fallback") == []
        assert violations(h) == []
