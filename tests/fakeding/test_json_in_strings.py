"""JSON carried in a string field meets the rules of request bodies, and nothing stored can
poison a read.

The red-team matrix (issue 23): an escaped lone surrogate (what a Node or Java robot sends when
it cuts a string inside an emoji), nesting past any parser's patience, and NaN, inside each
field the platform parses from text: ``cardData`` (interactive send and update, the off-duty
prompt), ``msgParam`` (group and 1:1 sends) and the other JSON-text fields of interactive
cards. Each is refused with DingTalk's error shape naming the field; then every read route
(``/_fakeding/cards``, ``/conversations/<id>``, ``/apps``, the emulator's snapshot) still
answers 200 with standard JSON. Finally, data stored by a path that checks nothing (the
Python API) is served cleaned instead of failing the read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.aio.openapi.robot_settings import OFF_DUTY_PATH
from fakeding.core.cards import STANDARD_CARD, CardVersion

CID = "cidJsonText"
SEND = "/v1.0/im/v1.0/robot/interactiveCards/send"
UPDATE = "/v1.0/im/robots/interactiveCards"
GROUP = "/v1.0/robot/groupMessages/send"
BATCH = "/v1.0/robot/oToMessages/batchSend"
BAD_TEXTS = {
    "surrogate": '{"t": "\\ud83d"}',  # JSON text escaping a lone high surrogate
    "deep": '{"a":' * 3000 + "1" + "}" * 3000,  # past the recursion limit of a plain parser
    "nan": '{"t": NaN}',
}
WORDS = {"surrogate": "lone UTF-16 surrogate", "deep": "nested deeper than", "nan": "NaN"}


def _strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"non-standard constant {name}")

    return json.loads(text, parse_constant=refuse)


def _card(biz_id: str, card_data: str) -> dict[str, Any]:
    return {
        "cardTemplateId": STANDARD_CARD,
        "robotCode": DEFAULT_CLIENT_ID,
        "cardBizId": biz_id,
        "openConversationId": CID,
        "cardData": card_data,
    }


GOOD_CARD = json.dumps({"contents": [{"type": "markdown", "text": "ok \U0001f604"}]})
# field -> (method, path, body with the bad text in that field)
CASES: dict[str, tuple[str, str, Callable[[str], dict[str, Any]]]] = {
    "send cardData": ("POST", SEND, lambda bad: _card("bad-send", bad)),
    "update cardData": ("PUT", UPDATE, lambda bad: {"cardBizId": "good", "cardData": bad}),
    "update userIdPrivateDataMap": (
        "PUT",
        UPDATE,
        lambda bad: {"cardBizId": "good", "userIdPrivateDataMap": bad},
    ),
    "send sendOptions.atUserListJson": (
        "POST",
        SEND,
        lambda bad: dict(_card("bad-at", GOOD_CARD), sendOptions={"atUserListJson": bad}),
    ),
    "send singleChatReceiver": (
        "POST",
        SEND,
        lambda bad: {
            **{k: v for k, v in _card("bad-single", GOOD_CARD).items() if k != "openConversationId"},
            "singleChatReceiver": bad,
        },
    ),
    "group msgParam": (
        "POST",
        GROUP,
        lambda bad: {
            "robotCode": DEFAULT_CLIENT_ID,
            "openConversationId": CID,
            "msgKey": "sampleText",
            "msgParam": bad,
        },
    ),
    "batch msgParam": (
        "POST",
        BATCH,
        lambda bad: {
            "robotCode": DEFAULT_CLIENT_ID,
            "userIds": ["alice"],
            "msgKey": "sampleText",
            "msgParam": bad,
        },
    ),
    "off-duty cardData": (
        "POST",
        OFF_DUTY_PATH,
        lambda bad: {"robotCode": DEFAULT_CLIENT_ID, "cardTemplateId": STANDARD_CARD, "cardData": bad},
    ),
}


def _field(case: str) -> str:
    return case.split(" ", 1)[1]


@pytest.fixture(scope="module")
def token(fakeding_server: ThreadedFakeDing) -> str:
    r = requests.post(
        fakeding_server.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    )
    return str(r.json()["accessToken"])


@pytest.fixture(autouse=True)
def _off_duty_prompt_kept(fakeding_server: ThreadedFakeDing) -> Iterator[None]:
    """Apps outlive resets: the default app's off-duty prompt is put back after each test."""
    platform = fakeding_server.fake.platform
    before = fakeding_server.call(lambda: platform.apps[DEFAULT_CLIENT_ID].off_duty_prompt)
    yield

    def restore() -> None:
        platform.apps[DEFAULT_CLIENT_ID].off_duty_prompt = before

    fakeding_server.call(restore)


def _call(
    fake: ThreadedFakeDing, token: str, method: str, path: str, body: dict[str, Any]
) -> requests.Response:
    return requests.request(
        method, fake.http_url + path, json=body, timeout=10, headers={"x-acs-dingtalk-access-token": token}
    )


def _snapshot(fake: ThreadedFakeDing) -> dict[str, Any]:
    """The emulator's first event: the snapshot of the run so far."""
    with requests.get(fake.http_url + "/_fakeding/events", stream=True, timeout=10) as r:
        assert r.status_code == 200
        for line in r.iter_lines(decode_unicode=False):
            if line.startswith(b"data: "):
                event: dict[str, Any] = _strict(line[6:].decode("utf-8"))
                assert event["type"] == "snapshot"
                return event
    raise AssertionError("the event stream ended before its snapshot")


def _reads_answer(fake: ThreadedFakeDing) -> dict[str, Any]:
    """Every read route answers 200 with standard UTF-8 JSON; what they said, by route."""
    out: dict[str, Any] = {}
    for route in ("cards", f"conversations/{CID}", "apps", "timeline", "violations"):
        r = requests.get(f"{fake.http_url}/_fakeding/{route}", timeout=10)
        assert r.status_code == 200, (route, r.text[:300])
        out[route] = _strict(r.content.decode("utf-8"))
    out["snapshot"] = _snapshot(fake)
    r = requests.get(f"{fake.http_url}/_fakeding/scenario", timeout=10)
    assert r.status_code == 200, r.text[:300]
    r.content.decode("utf-8")
    return out


@pytest.mark.parametrize("bad", sorted(BAD_TEXTS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_json_in_a_string_is_refused_naming_the_field_and_reads_still_answer(
    fakeding: ThreadedFakeDing, token: str, case: str, bad: str
) -> None:
    assert _call(fakeding, token, "POST", SEND, _card("good", GOOD_CARD)).status_code == 200
    apps_before = _strict(requests.get(f"{fakeding.http_url}/_fakeding/apps", timeout=10).text)
    method, path, body = CASES[case]
    r = _call(fakeding, token, method, path, body(BAD_TEXTS[bad]))
    assert r.status_code == 400, (r.status_code, r.text[:300])
    answer = _strict(r.text)
    assert set(answer) == {"code", "message", "requestid"}, answer
    assert _field(case) in answer["message"] and WORDS[bad] in answer["message"], answer
    assert len(answer["message"]) < 1000  # the bad text is named, not echoed whole
    reads = _reads_answer(fakeding)
    assert [c["cardBizId"] for c in reads["cards"]] == ["good"]
    assert reads["apps"] == apps_before  # apps outlive resets: compare, not assume


def test_a_good_value_still_parses_in_every_field(fakeding: ThreadedFakeDing, token: str) -> None:
    """The same fields with good JSON text (an emoji as a valid surrogate pair) pass."""
    assert _call(fakeding, token, "POST", SEND, _card("good", GOOD_CARD)).status_code == 200
    goods = {
        "cardData": '{"t": "\\ud83d\\ude04"}',
        "msgParam": '{"content": "\\ud83d\\ude04"}',
        "userIdPrivateDataMap": '{"alice": {"x": "1"}}',
        "singleChatReceiver": '{"userId": "alice"}',
        "sendOptions.atUserListJson": '[{"userId": "alice"}]',
    }
    for case, (method, path, body) in sorted(CASES.items()):
        r = _call(fakeding, token, method, path, body(goods[_field(case)]))
        assert r.status_code == 200, (case, r.text[:300])
    reads = _reads_answer(fakeding)
    (app,) = [a for a in reads["apps"] if a["clientId"] == DEFAULT_CLIENT_ID]
    assert app["offDutyPrompt"] == {"t": "\U0001f604"}
    assert any(e["text"] == "\U0001f604" for e in reads[f"conversations/{CID}"])


def test_what_was_stored_unchecked_is_served_cleaned(fakeding: ThreadedFakeDing, token: str) -> None:
    """Data no input check saw (put there through the Python API) cannot fail a read: lone
    surrogates come back as U+FFFD, NaN as text, and the rest as stored."""
    assert _call(fakeding, token, "POST", SEND, _card("good", GOOD_CARD)).status_code == 200
    poison = {"t": "cut \ud83d", "n": float("nan"), "deep": [[["ok"]]]}

    def store() -> None:
        p = fakeding.fake.platform
        card = p.cards.get("good")
        card.versions.append(CardVersion(1.0, poison, "update"))
        p.apps[DEFAULT_CLIENT_ID].off_duty_prompt = poison
        p.note(1.0, CID, "bot", "text", "cut \ud83d")

    fakeding.call(store)
    reads = _reads_answer(fakeding)
    want = {"t": "cut \ufffd", "n": "nan", "deep": [[["ok"]]]}
    assert reads["cards"][0]["versions"][-1]["cardData"] == want
    (app,) = [a for a in reads["apps"] if a["clientId"] == DEFAULT_CLIENT_ID]
    assert app["offDutyPrompt"] == want
    assert reads[f"conversations/{CID}"][-1]["text"] == "cut \ufffd"
    snap = reads["snapshot"]
    assert snap["cards"][0]["versions"][-1]["cardData"] == want
    assert snap["transcript"][-1]["text"] == "cut \ufffd"
