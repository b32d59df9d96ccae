"""What a report says about any robot: AI cards with no content are unfinished, graph replies
are answers. Cards come from the real card store; robots are the real ``dingtalk_stream`` SDK
in a process of their own, talking to the fake over loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakeding.core.cards import CardStore
from fakeding.testing.scenarios.generic import unfinished_reason
from fakeding.testing.scenarios.runner import run_scenario

from .card_helpers import CLIENT, ai_card, make_store, send_body, stream_body


@pytest.fixture
def store() -> CardStore:
    return make_store()


def test_an_ai_card_finalized_by_an_empty_stream_is_unfinished(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(content="", isFinalize=True))
    assert card.finalized
    assert unfinished_reason(card) == "finalized without content"


def test_an_ai_card_closed_by_flow_status_alone_is_unfinished(store: CardStore) -> None:
    card = ai_card(store)
    store.update_instance(
        1.0, CLIENT, {"outTrackId": "track-1", "cardData": {"cardParamMap": {"flowStatus": "3"}}}
    )
    assert card.finalized
    assert unfinished_reason(card) == "finalized without content"


def test_an_ai_card_with_streamed_or_set_content_is_finished(store: CardStore) -> None:
    streamed = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(content="the answer", isFinalize=True))
    assert unfinished_reason(streamed) is None
    other = make_store()
    card = ai_card(other, content="")
    other.update_instance(
        1.0,
        CLIENT,
        {"outTrackId": "track-1", "cardData": {"cardParamMap": {"flowStatus": "3", "content": "done"}}},
    )
    assert unfinished_reason(card) is None


def test_an_ai_card_never_finalized_and_an_interactive_card_never_updated(store: CardStore) -> None:
    assert unfinished_reason(ai_card(store)) == "never finalized"
    card, _ = store.send_interactive(0.0, CLIENT, send_body())
    assert unfinished_reason(card) == "never updated"


GRAPH_ROBOT = """
import json, os
import dingtalk_stream
from dingtalk_stream import AckMessage, GraphMessage, GraphRequest


class Ask(dingtalk_stream.GraphHandler):
    async def process(self, callback):
        request = GraphRequest.from_dict(callback.data)
        body = json.loads(request.body)
        for _ in range(int(os.environ.get("REPLIES", "1"))):
            await self.reply_markdown(body["sessionWebhook"], "you asked: " + body["input"])
        return AckMessage.STATUS_OK, self.get_success_response({"ok": True}).to_dict()


client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential(
    os.environ["DINGTALK_CLIENT_ID"], os.environ["DINGTALK_CLIENT_SECRET"]))
client.register_callback_handler(GraphMessage.TOPIC, Ask())
client.start_forever()
"""


def _graph_scenario(tmp_path: Path, replies: int, expect: str) -> Path:
    (tmp_path / "graph_robot.py").write_text(GRAPH_ROBOT, encoding="utf-8")
    path = tmp_path / "graph.yaml"
    path.write_text(
        "name: graph\n"
        f"robot: {{command: [python, graph_robot.py], env: {{REPLIES: '{replies}'}}}}\n"
        "users: {alice: {}, bob: {}}\nconversations: {g: {type: group}}\n"
        "steps:\n"
        "  - at: 0.1\n    graph: {user: alice, in: g, text: what is new?}\n"
        "  - at: 0.3\n    graph: {user: bob, in: g, text: and now?}\n"
        f"expect: {expect}\n",
        encoding="utf-8",
    )
    return path


def test_graph_handler_replies_are_answers(tmp_path: Path) -> None:
    path = _graph_scenario(
        tmp_path, 1, "{answers: 2, max_answers_per_message: 1, webhook_replies: 2, violations: 0}"
    )
    result = run_scenario(path)
    assert not result.failed, result.failed
    assert [e.text for e in result.transcript if e.who == "bot"] == [
        "you asked: what is new?",
        "you asked: and now?",
    ]


def test_graph_handler_duplicate_replies_are_caught(tmp_path: Path) -> None:
    path = _graph_scenario(tmp_path, 2, "{answers: 4, max_answers_per_message: 1}")
    result = run_scenario(path)
    found = {e.name: (e.found, e.ok) for e in result.expectations}
    assert found == {"answers": (4, True), "max_answers_per_message": (2, False)}
