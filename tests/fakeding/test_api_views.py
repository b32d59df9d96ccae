"""``FakeDingAPI`` is the one interface its consumers use: the scenario runner, the live view, the
demo and the command robot read cards, transcripts, templates, faults, files and secrets through
typed API methods (on both fakes), never through ``fake.platform``."""

from __future__ import annotations

import ast
import base64
from pathlib import Path

import pytest
import requests

from fakeding import ThreadedFakeDing
from fakeding.core.cards import Card
from fakeding.core.exceptions import ControlError
from fakeding.core.platform import TranscriptEntry
from fakeding.core.settings import DEFAULT_CLIENT_SECRET
from fakeding.core.templates import Template, parse_export
from tests.fakeding.card_helpers import sdk_client

ROOT = Path(__file__).resolve().parents[2]
CONSUMERS = [
    "fakeding/testing/scenarios/runner.py",
    "fakeding/testing/scenarios/command_robot.py",
    "fakeding/aio/live.py",
    "fakeding/cli.py",
    "bot/demo.py",
    "bench/soak.py",
]
EXPORT = {
    "editorData": '{"variableList": [{"name": "content", "type": "markdown"}]}',
    "widgetInfo": '<LinearLayout><DDRichTextView attributedText="@data{data.cardData.content}">'
    "</DDRichTextView></LinearLayout>",
}


@pytest.mark.parametrize("path", CONSUMERS)
def test_consumers_never_reach_the_platform(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    reached = [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "platform"
    ]
    assert reached == [], f"{path} reads .platform at lines {reached}: use a FakeDingAPI method"


def _card(fake: ThreadedFakeDing) -> None:
    answer = requests.post(
        fake.http_url + "/v1.0/im/v1.0/robot/interactiveCards/send",
        headers={"x-acs-dingtalk-access-token": sdk_client().get_access_token()},
        json={
            "cardTemplateId": "StandardCard",
            "openConversationId": "cidViews",
            "cardBizId": "card-views",
            "robotCode": "fakeding-client",
            "cardData": '{"contents": [{"type": "markdown", "text": "hi"}]}',
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_typed_views_agree_with_the_json_views(fakeding: ThreadedFakeDing) -> None:
    fakeding.send_message("hello", conversation_id="cidViews", conversation_type="group", title="Views")
    fakeding.send_message("dm", conversation_id="cidDm", conversation_type="single", staff_id="bob")
    _card(fakeding)
    cards = fakeding.card_objects()
    assert all(isinstance(c, Card) for c in cards)
    assert [c.id for c in cards] == [c["cardBizId"] for c in fakeding.cards()] == ["card-views"]
    assert fakeding.card("card-views") is cards[0]
    entries = fakeding.transcript_entries()
    assert all(isinstance(e, TranscriptEntry) for e in entries)
    assert [dict(e.to_dict(), conversation=e.conversation_id) for e in entries] == fakeding.transcript()
    conv = fakeding.conversation("cidViews")
    assert conv is not None and (conv.type, conv.title) == ("group", "Views")
    assert fakeding.conversation("cidNobody") is None
    assert fakeding.direct_conversations() == {"bob": "cidDm"}
    saved = fakeding.session_scenario("views")
    assert saved == fakeding.fake.session_scenario("views")
    assert saved["name"] == "views" and len(saved["steps"]) == 2
    fakeding.reset()
    assert fakeding.transcript_entries() is not entries  # a reset starts a new list
    assert fakeding.card_objects() == [] and fakeding.transcript_entries() == []


def test_templates_faults_files_and_secrets(fakeding: ThreadedFakeDing) -> None:
    template = parse_export(EXPORT, template_id="views.schema", source="test")
    summary = fakeding.use_template(template)
    assert summary["templateId"] == "views.schema"
    (listed,) = fakeding.template_objects()
    assert isinstance(listed, Template) and listed.id == "views.schema"
    assert fakeding.templates() == [summary]

    fakeding.fault({"kind": "api", "route": "POST /v1.0/card/instances", "status": 500, "nth": 1000})
    (armed,) = fakeding.armed_faults()
    assert fakeding.disarm_fault(armed["id"]) is True
    assert fakeding.armed_faults() == [] and fakeding.disarm_fault(armed["id"]) is False

    code = fakeding.keep_file("a.txt", b"hello")
    assert code.startswith("dl")
    fakeding.update_settings({"media_max_bytes": 3})
    with pytest.raises(ControlError, match="at most 3 bytes"):
        fakeding.keep_file("b.txt", b"hello")
    refused = requests.post(
        fakeding.http_url + "/_fakeding/files",
        json={"name": "b.txt", "base64": base64.b64encode(b"hello").decode()},
        timeout=10,
    )
    assert refused.status_code == 400 and refused.json()["field"] == "base64"

    token = sdk_client().get_access_token()
    secrets = fakeding.held_secrets()
    assert DEFAULT_CLIENT_SECRET in secrets and token in secrets
