"""The rest of the protocol through the official Python SDK: the off-duty prompt, legacy media
upload, ``privateData`` in card-callback replies, and cards whose clicks go to an HTTP route."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import requests
from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage
from dingtalk_stream.card_replier import CardReplier

from fakeding import ThreadedFakeDing
from fakeding.core.settings import DEFAULT_CLIENT_ID
from tests.fakeding.card_helpers import chatbot_handler, sdk_client
from tests.fakeding.http_target import HttpTarget, Seen
from tests.fakeding.sdk import CardCallbackRecorder, RecordingHandler, SdkRobot

TEMPLATE = "589420e2-c1e2-46ef-a5ed-b8728e654da9.schema"


def test_off_duty_prompt_as_in_the_sdk_cardbot_example(fakeding: ThreadedFakeDing) -> None:
    handler = chatbot_handler()
    answer = handler.set_off_duty_prompt("We are away; back at 9:00.")
    assert answer == {"success": True, "result": True}
    (call,) = [r for r in fakeding.timeline(["api"]) if "away/template" in r["route"]]
    assert call["status"] == 200
    app = fakeding.call(lambda: fakeding.fake.platform.app(None))
    prompt = app.off_duty_prompt
    assert prompt is not None and "We are away; back at 9:00." in json.dumps(prompt, ensure_ascii=False)
    shown = requests.get(fakeding.http_url + "/_fakeding/apps", timeout=5).json()
    assert shown[0]["offDutyPrompt"] == prompt


def test_off_duty_prompt_with_a_wrong_robot_code_is_refused(fakeding: ThreadedFakeDing) -> None:
    token = sdk_client().get_access_token()
    response = requests.post(
        fakeding.http_url + "/v1.0/innerApi/robot/stream/away/template/update",
        headers={"x-acs-dingtalk-access-token": token},
        json={"robotCode": "someone-else", "cardData": "{}", "cardTemplateId": "StandardCard"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalidParameter.robotCode.invalid"
    assert "someone-else" in response.json()["message"]


def _upload(fake: ThreadedFakeDing, token: str, content: bytes, kind: str = "image") -> Any:
    # The exact request of the SDK's upload_to_dingtalk (which hard-codes the oapi host).
    return requests.post(
        f"{fake.http_url}/media/upload?access_token={token}",
        data={"type": kind},
        files={"media": ("image.png", content, "image/png")},
        timeout=5,
    ).json()


def test_media_upload_answers_a_media_id_a_robot_message_can_carry(fakeding: ThreadedFakeDing) -> None:
    client = sdk_client()
    token = client.get_access_token()
    out = _upload(fakeding, token, b"\x89PNG fake picture")
    assert out["errcode"] == 0 and out["errmsg"] == "ok" and out["type"] == "image"
    assert out["media_id"].startswith("@") and isinstance(out["created_at"], int)
    send = requests.post(
        fakeding.http_url + "/v1.0/robot/oToMessages/batchSend",
        headers={"x-acs-dingtalk-access-token": token},
        json={
            "robotCode": client.credential.client_id,
            "userIds": ["alice"],
            "msgKey": "sampleImageMsg",
            "msgParam": json.dumps({"photoURL": out["media_id"]}),
        },
        timeout=5,
    )
    assert send.status_code == 200, send.text
    assert fakeding.transcript("single:alice")[-1]["text"] == "[image image.png]"
    unknown = requests.post(
        fakeding.http_url + "/v1.0/robot/oToMessages/batchSend",
        headers={"x-acs-dingtalk-access-token": token},
        json={
            "robotCode": client.credential.client_id,
            "userIds": ["alice"],
            "msgKey": "sampleFile",
            "msgParam": json.dumps({"mediaId": "@lAnever", "fileName": "a.txt"}),
        },
        timeout=5,
    )
    assert unknown.status_code == 400 and "@lAnever" in unknown.json()["message"]


def test_media_upload_errors_come_as_errcodes(fakeding: ThreadedFakeDing) -> None:
    assert _upload(fakeding, "not-a-token", b"x")["errcode"] == 40014
    token = sdk_client().get_access_token()
    bad_type = _upload(fakeding, token, b"x", kind="gif")
    assert bad_type["errcode"] == 40004 and "'gif'" in bad_type["errmsg"]
    empty = _upload(fakeding, token, b"")
    assert empty["errcode"] == 40006


def test_picture_message_downloads_and_reuploads_to_a_media_id(fakeding: ThreadedFakeDing) -> None:
    """What ``extract_image_from_incoming_message`` does, step by step: download code ->
    download URL (SDK helper) -> bytes -> upload (the SDK's request to /media/upload)."""
    handler = RecordingHandler()
    with SdkRobot().on_messages(handler):
        fakeding.wait_for("connect")
        fakeding.send_message(
            None, msgtype="picture", conversation_type="single", conversation_id="cidPic", staff_id="alice"
        )
        fakeding.wait_for("ack")
    (msg,) = handler.messages
    (code,) = msg.get_image_list()
    helper = chatbot_handler()
    url = helper.get_image_download_url(code)
    picture = requests.get(url, timeout=5).content
    out = _upload(fakeding, helper.dingtalk_client.get_access_token(), picture)
    assert out["errcode"] == 0
    kept = fakeding.call(lambda: fakeding.fake.platform.media[out["media_id"]])
    assert kept[3] == picture


class _CardBot(ChatbotHandler):
    """The SDK's card-bot style: a card per message, created and delivered in one call."""

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.options = options
        self.dingtalk_client = sdk_client()

    async def process(self, callback: Any) -> tuple[int, str]:
        msg = ChatbotMessage.from_dict(callback.data)
        replier = CardReplier(self.dingtalk_client, msg)
        replier.create_and_deliver_card(TEMPLATE, {"title": "Vote", "likes": "0"}, **self.options)
        return AckMessage.STATUS_OK, "OK"


def test_card_callback_reply_with_private_data_applies_per_user(fakeding: ThreadedFakeDing) -> None:
    response = {
        "cardData": {"cardParamMap": {"likes": "1"}},
        "privateData": {
            "dave": {"cardParamMap": {"myVote": "like"}},
            "erin": {"cardParamMap": {"seenBy": "dave"}},
        },
        "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
    }
    cards = CardCallbackRecorder(response=response)
    with SdkRobot().on_messages(_CardBot()).on_card_callbacks(cards):
        fakeding.wait_for("connect")
        fakeding.send_message("vote", conversation_id="cidVote")
        fakeding.wait_for("card.send")
        card_id = fakeding.cards()[0]["cardBizId"]
        fakeding.click(card_id, staff_id="dave", button_id="like")
        fakeding.wait_for("card.update", where=lambda r: r["via"] == "callback")
    (shown,) = requests.get(fakeding.http_url + "/_fakeding/cards", timeout=5).json()
    assert shown["privateData"] == {"dave": {"myVote": "like"}, "erin": {"seenBy": "dave"}}
    assert shown["versions"][-1]["cardData"]["likes"] == "1"
    assert shown["versions"][-1]["cardData"]["title"] == "Vote"


def _card_signature(timestamp: str, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode(), hashlib.sha256).digest()).decode()


def _register(fake: ThreadedFakeDing, url: str, key: str, secret: str) -> Any:
    token = sdk_client().get_access_token()
    return requests.post(
        fake.http_url + "/v1.0/card/callbacks/register",
        headers={"x-acs-dingtalk-access-token": token},
        json={"apiSecret": secret, "callbackUrl": url, "callbackRouteKey": key, "forceUpdate": True},
        timeout=5,
    )


def test_http_card_callback_goes_to_the_registered_route(fakeding: ThreadedFakeDing) -> None:
    def answer(seen: Seen) -> tuple[int, Any, float]:
        return (
            200,
            {
                "cardData": {"cardParamMap": {"likes": "7"}},
                "cardUpdateOptions": {"updateCardDataByKey": True},
            },
            0.0,
        )

    stream_cards = CardCallbackRecorder(response={"cardData": {"cardParamMap": {"likes": "-1"}}})
    with HttpTarget(answer) as target:
        registered = _register(fakeding, target.url, "vote-route", "s3cret")
        assert registered.status_code == 200, registered.text
        assert registered.json()["result"]["callbackUrl"] == target.url
        bot = _CardBot(callback_type="HTTP", callback_route_key="vote-route")
        with SdkRobot().on_messages(bot).on_card_callbacks(stream_cards):
            fakeding.wait_for("connect")
            fakeding.send_message("vote", conversation_id="cidHttpVote")
            fakeding.wait_for("card.send")
            card_id = fakeding.cards()[0]["cardBizId"]
            assert fakeding.click(card_id, staff_id="dave", button_id="like") == ""
            fakeding.wait_for("card.update", where=lambda r: r["via"] == "callback")
    assert stream_cards.callbacks == []  # not over Stream
    (seen,) = target.seen
    stamp = seen.headers["x-ddpaas-signature-timestamp"]
    assert seen.headers["x-ddpaas-signature"] == _card_signature(stamp, "s3cret")
    assert seen.body["type"] == "actionCallback" and seen.body["outTrackId"] == card_id
    assert seen.body["userId"] == "dave" and seen.body["corpId"]
    assert json.loads(seen.body["content"])["cardPrivateData"]["actionIds"] == ["like"]
    assert fakeding.cards()[0]["versions"][-1]["cardData"]["likes"] == "7"
    (call,) = fakeding.timeline(["callback"])
    assert call["target"] == "card" and call["status"] == 200


def test_http_card_without_a_registered_route_is_a_violation(fakeding: ThreadedFakeDing) -> None:
    bot = _CardBot(callback_type="HTTP", callback_route_key="never-registered")
    with SdkRobot().on_messages(bot):
        fakeding.wait_for("connect")
        fakeding.send_message("vote", conversation_id="cidNoRoute")
        fakeding.wait_for("card.send")
        fakeding.click(fakeding.cards()[0]["cardBizId"], staff_id="dave", button_id="like")
        (violation,) = fakeding.wait_for("violation")
    assert "never-registered" in violation["reason"]
    fakeding.reset()  # the violation was the point


def test_card_callback_route_must_be_loopback(fakeding: ThreadedFakeDing) -> None:
    refused = _register(fakeding, "http://example.com/cb", "far", "s")
    assert refused.status_code == 400 and "example.com" in refused.json()["message"]


def _send_card_with_callback_url(fake: ThreadedFakeDing, url: str) -> str:
    token = sdk_client().get_access_token()
    button = {
        "type": "button",
        "label": {"type": "text", "text": "Like"},
        "id": "like",
        "actionType": "request",
        "value": {"vote": "like"},
    }
    card = {"config": {"autoLayout": True}, "contents": [{"type": "action", "actions": [button]}]}
    sent = requests.post(
        fake.http_url + "/v1.0/im/v1.0/robot/interactiveCards/send",
        headers={"x-acs-dingtalk-access-token": token},
        json={
            "cardTemplateId": "StandardCard",
            "robotCode": DEFAULT_CLIENT_ID,
            "cardBizId": "card-with-url",
            "openConversationId": "cidUrl",
            "cardData": json.dumps(card),
            "callbackUrl": url,
        },
        timeout=5,
    )
    assert sent.status_code == 200, sent.text
    return "card-with-url"


def test_a_click_on_an_ordinary_card_goes_to_its_callback_url_signed_by_its_route(
    fakeding: ThreadedFakeDing,
) -> None:
    """Reference D.2: an ordinary card's clicks go to the card's ``callbackUrl`` (no route key);
    a route registered for that URL gives the apiSecret that signs them."""
    with HttpTarget(lambda seen: (200, {}, 0.0)) as target:
        url = target.url + "/card"
        assert _register(fakeding, url, "votes", "s3cret").status_code == 200
        card_id = _send_card_with_callback_url(fakeding, url)
        fakeding.click(card_id, staff_id="dave", button_id="like")
        fakeding.wait_for("callback")
    (seen,) = target.seen
    assert seen.path == "/callback/card" and seen.body["outTrackId"] == card_id
    stamp = seen.headers["x-ddpaas-signature-timestamp"]
    assert seen.headers["x-ddpaas-signature"] == _card_signature(stamp, "s3cret")
    assert json.loads(seen.body["content"])["cardPrivateData"]["params"] == {"vote": "like"}
    assert fakeding.timeline(["violation"]) == []


def test_a_click_on_an_ordinary_card_without_a_route_goes_unsigned(fakeding: ThreadedFakeDing) -> None:
    with HttpTarget(lambda seen: (200, {}, 0.0)) as target:
        card_id = _send_card_with_callback_url(fakeding, target.url)
        fakeding.click(card_id, staff_id="dave", button_id="like")
        fakeding.wait_for("callback")
    (seen,) = target.seen
    assert "x-ddpaas-signature" not in seen.headers and seen.body["userId"] == "dave"
    assert fakeding.timeline(["violation"]) == []
