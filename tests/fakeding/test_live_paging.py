"""The live view's first snapshot carries the latest records only, older ones are paged on
demand (``/_fakeding/records``), and the inspector can ask for the frames a message was pushed
as (``/_fakeding/frames``): issue 24, items 4 and 1."""

from __future__ import annotations

import json
from typing import Any

import requests

from fakeding import ThreadedFakeDing
from fakeding.aio.live import SNAPSHOT_RECORDS
from tests.fakeding.sdk import RecordingHandler, SdkRobot


def _snapshot(url: str) -> dict[str, Any]:
    with requests.get(url + "/_fakeding/events", stream=True, timeout=10) as r:
        for line in r.iter_lines(decode_unicode=True):
            if line and line.startswith("data: "):
                event: dict[str, Any] = json.loads(line[6:])
                return event
    raise AssertionError("no snapshot")


def test_the_snapshot_has_the_latest_records_and_older_ones_come_by_page(fakeding: ThreadedFakeDing) -> None:
    for n in range(3):
        fakeding.send_message(f"early {n}", conversation_id="cidPaged", at_bot=False)
    fakeding.call(lambda: [fakeding.fake.record("note", n=n) for n in range(SNAPSHOT_RECORDS + 40)])
    snap = _snapshot(fakeding.http_url)
    total = 3 + SNAPSHOT_RECORDS + 40
    assert len(snap["records"]) == SNAPSHOT_RECORDS and snap["older"] == total - SNAPSHOT_RECORDS
    assert snap["records"][-1]["seq"] == total
    first = snap["records"][0]["seq"]
    assert snap["transcript"][0]["text"] == "early 0"  # what was said is whole

    page = requests.get(
        fakeding.http_url + "/_fakeding/records", params={"before": first, "limit": 30}, timeout=10
    ).json()
    assert [r["seq"] for r in page] == list(range(first - 30, first))
    rest = requests.get(
        fakeding.http_url + "/_fakeding/records", params={"before": first - 30}, timeout=10
    ).json()
    assert [r["seq"] for r in rest] == list(range(1, first - 30))
    assert rest[0]["kind"] == "message" and "msg#1 text" in rest[0]["line"]  # numbered as live
    assert "msg#3 text" in rest[2]["line"]

    bad = requests.get(fakeding.http_url + "/_fakeding/records", params={"before": "soon"}, timeout=10)
    assert bad.status_code == 400
    assert bad.json() == {"error": "before: expected a whole number >= 0, found 'soon'", "field": "before"}


def test_the_frames_a_message_was_pushed_as_are_shown_with_headers_and_data(
    fakeding: ThreadedFakeDing,
) -> None:
    with SdkRobot().on_messages(RecordingHandler()):
        fakeding.wait_for("connect")
        sent = fakeding.send_message("inspect me", conversation_id="cidInspect", title="Inspect")
        (ack,) = fakeding.wait_for("ack")
    (push,) = fakeding.timeline(["push"])
    frames = requests.get(
        fakeding.http_url + "/_fakeding/frames", params={"key": sent.msg_id}, timeout=10
    ).json()
    assert len(frames) == 1
    (one,) = frames
    assert one["attempt"] == 1 and one["acked"] is True
    headers = one["frame"]["headers"]
    assert headers["messageId"] == push["messageId"] == ack["messageId"]
    assert headers["topic"] == "/v1.0/im/bot/messages/get"
    assert headers["connectionId"] == push["connection"]
    assert one["frame"]["type"] == "CALLBACK" and isinstance(one["frame"]["data"], str)
    assert one["data"]["text"]["content"].strip() == "inspect me"
    assert one["data"]["msgId"] == sent.msg_id
    assert (
        requests.get(fakeding.http_url + "/_fakeding/frames", params={"key": "msgUnknown"}, timeout=10).json()
        == []
    )
    missing = requests.get(fakeding.http_url + "/_fakeding/frames", timeout=10)
    assert missing.status_code == 400 and missing.json()["field"] == "key"


def test_the_robots_own_records_read_as_words_not_python_reprs(fakeding: ThreadedFakeDing) -> None:
    sent = fakeding.send_message("hi", conversation_id="cidWords", at_bot=False)
    fakeding.call(
        fakeding.fake.record, "bot.message", msg=sent.msg_id, plan="answer", group=True, note="x" * 80
    )
    lines = [r["line"] for r in _snapshot(fakeding.http_url)["records"]]
    assert lines[-1] == f"bot.message msg=msg#1 plan=answer group=true note={'x' * 59}…"
