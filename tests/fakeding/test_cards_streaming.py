"""Streaming and card-callback responses (``fakeding.core.cards.streaming``)."""

from __future__ import annotations

from typing import Any

import pytest
from dingtalk_stream import (
    AICardReplier,
    AIMarkdownCardInstance,
)
from dingtalk_stream.interactive_card import (
    INTERACTIVE_CARD_JSON_SAMPLE_1,
)

from fakeding import ThreadedFakeDing
from fakeding.core.cards import CardStore
from fakeding.core.exceptions import ProtocolViolation
from tests.fakeding.card_helpers import (
    CLIENT,
    STAFF,
    TEMPLATE,
    ai_card,
    assert_all_accepted,
    card_calls,
    create_body,
    incoming,
    make_store,
    rejects,
    sdk_client,
    send_body,
    stream_body,
)

# ---------------------------------------------------------------------------------------------
# streaming


def test_sdk_ai_markdown_card_lifecycle(fakeding: ThreadedFakeDing) -> None:
    card_sdk = AIMarkdownCardInstance(sdk_client(), incoming("2"))
    card_sdk.set_title_and_logo("Answer", "")
    card_sdk.ai_start()
    card_sdk.ai_streaming("Hel")
    card_sdk.ai_streaming("lo", append=True)
    card_sdk.ai_finish()
    assert_all_accepted(fakeding)
    card = fakeding.card(card_sdk.card_instance_id)
    assert [v.source for v in card.versions] == [
        "create",
        "deliver",
        "update",
        "stream",
        "stream",
        "update",
    ]
    assert card.versions[0].card_data == {"flowStatus": "1"}  # AICardStatus is sent as "1"
    assert card.versions[2].card_data["flowStatus"] == "2"
    assert [v.card_data["msgContent"] for v in card.versions[3:5]] == ["Hel", "Hello"]
    assert card.versions[3].extra == {
        "key": "msgContent",
        "guid": card.versions[3].extra["guid"],
        "is_full": True,
        "is_finalize": False,
        "is_error": False,
    }
    assert card.current["msgContent"] == "Hello"
    assert card.current["msgTitle"] == "Answer"
    assert (card.flow_status, card.finalized, card.failed) == ("3", True, False)
    assert card_calls(fakeding)[3]["response"] == {"success": True, "result": True}


def test_sdk_ai_card_fail(fakeding: ThreadedFakeDing) -> None:
    card_sdk = AIMarkdownCardInstance(sdk_client(), incoming("1"))
    card_sdk.ai_start()
    card_sdk.ai_fail()
    assert_all_accepted(fakeding)
    card = fakeding.card(card_sdk.card_instance_id)
    assert (card.flow_status, card.failed, card.single_user) == ("5", True, STAFF)


def test_sdk_streaming_append_and_finish(fakeding: ThreadedFakeDing) -> None:
    replier = AICardReplier(sdk_client(), incoming("2"))
    card_id = replier.start(TEMPLATE, {"msgContent": ""})
    replier.streaming(card_id, "msgContent", "Hi", append=True, finished=False, failed=False)
    replier.streaming(card_id, "msgContent", " there", append=True, finished=True, failed=False)
    assert_all_accepted(fakeding)
    card = fakeding.card(card_id)
    assert card_calls(fakeding, "stream")[0]["request"]["isFull"] is False
    assert card.current["msgContent"] == "Hi there"
    assert card.finalized and card.flow_status == "3"
    assert card.current["flowStatus"] == "3"


def test_sdk_streaming_error_with_empty_content(fakeding: ThreadedFakeDing) -> None:
    """The official tutorial's error path: ``streaming(content="", failed=True)``."""
    replier = AICardReplier(sdk_client(), incoming("2"))
    card_id = replier.start(TEMPLATE, {})
    replier.streaming(card_id, "msgContent", "partial", append=False, finished=False, failed=False)
    replier.streaming(card_id, "msgContent", "", append=False, finished=False, failed=True)
    assert_all_accepted(fakeding)
    card = fakeding.card(card_id)
    assert card.failed and card.flow_status == "5"
    assert card.current["msgContent"] == "partial"  # empty content changes the state only


def test_stream_overwrite_and_append(store: CardStore) -> None:
    ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="one"))
    store.stream(2.0, CLIENT, stream_body(guid="b", content=" two", isFull=False))
    card, out = store.stream(3.0, CLIENT, stream_body(guid="c", key="other", content="x", isFull=False))
    assert out == {"success": True, "result": True}
    assert card.current == {"flowStatus": "1", "msgContent": "one two", "other": "x"}
    store.stream(4.0, CLIENT, stream_body(guid="d", content="fresh"))
    assert card.current["msgContent"] == "fresh"
    assert [v.t for v in card.versions if v.source == "stream"] == [1.0, 2.0, 3.0, 4.0]


def test_stream_repeated_guid_is_idempotent(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="same", content="a", isFull=False))
    n = len(card.versions)
    again, out = store.stream(2.0, CLIENT, stream_body(guid="same", content="a", isFull=False))
    assert again is card and out == {"success": True, "result": True}
    assert len(card.versions) == n
    assert card.current["msgContent"] == "a"


def test_stream_retry_of_the_failing_call_is_answered(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="err", content="", isError=True))
    assert card.failed
    _, out = store.stream(2.0, CLIENT, stream_body(guid="err", content="", isError=True))
    assert out == {"success": True, "result": True}


@pytest.mark.parametrize(
    ("change", "code", "word"),
    [
        ({"guid": None}, "param.stream.guidEmpty", "guid"),
        ({"guid": ""}, "param.stream.guidEmpty", "guid"),
        ({"key": None}, "param.stream.keyEmpty", "key"),
        ({"content": None}, "param.stream.contentEmpty", "content"),
        ({"content": ""}, "param.stream.contentEmpty", "isFinalize"),
        ({"isFull": None}, "param.stream.isFull", "isFull is null"),
        ({"isFull": "true"}, "param.stream.isFull", "string"),
        ({"content": 5}, "param.invalid", "content"),
        ({"isFinalize": "yes"}, "param.invalid", "isFinalize"),
        ({"outTrackId": None}, "param.stream.outTrackId", "card is not exist"),
        ({"outTrackId": "nope"}, "param.stream.outTrackId", "card is not exist"),
    ],
)
def test_stream_rejects(change: dict[str, Any], code: str, word: str) -> None:
    store = make_store(strict_limits=True)  # an empty update is refused only when strict
    card = ai_card(store)
    rejects(lambda: store.stream(1.0, CLIENT, stream_body(**change)), code, word)
    assert [v.source for v in card.versions] == ["create", "deliver"]


def test_stream_into_an_ordinary_card(store: CardStore) -> None:
    store.send_interactive(0.0, CLIENT, send_body())
    rejects(
        lambda: store.stream(1.0, CLIENT, stream_body(outTrackId="biz-1")),
        "param.stream.outTrackId",
        "ordinary",
    )


def test_stream_content_size() -> None:
    store = make_store(stream_content_max_bytes=12, strict_limits=True)
    ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="钉" * 4))  # 12 bytes
    rejects(
        lambda: store.stream(1.0, CLIENT, stream_body(guid="b", content="钉" * 4 + "x")),
        "param.stream.content",
        "content is too large",
        "13",
    )
    unlimited = make_store(stream_content_max_bytes=None)
    ai_card(unlimited)
    unlimited.stream(1.0, CLIENT, stream_body(content="x" * 10_000))


def test_stream_default_limit_is_3kb() -> None:
    store = make_store(strict_limits=True)
    ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="x" * 3072))
    rejects(
        lambda: store.stream(1.0, CLIENT, stream_body(guid="b", content="x" * 3073)),
        "param.stream.content",
    )


def test_stream_finalize_with_empty_content(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="done"))
    store.stream(2.0, CLIENT, stream_body(guid="b", content="", isFinalize=True))
    assert card.finalized and not card.failed
    assert card.current == {"flowStatus": "3", "msgContent": "done"}
    assert card.versions[-1].extra["is_finalize"] is True


def test_stream_without_flow_status_sets_the_flags_only(store: CardStore) -> None:
    card, _ = store.create_instance(0.0, CLIENT, create_body())
    store.stream(1.0, CLIENT, stream_body(key="markdown", content="x", isFinalize=True))
    assert card.finalized and card.flow_status is None
    assert card.current == {"markdown": "x"}


def test_stream_reopens_a_finished_card(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="v1", isFinalize=True))
    assert card.finalized
    store.stream(2.0, CLIENT, stream_body(guid="b", content="v2"))
    assert not card.finalized
    assert card.flow_status == "2" and card.current["flowStatus"] == "2"
    assert card.versions[-1].extra["reopened"] is True
    assert card.current["msgContent"] == "v2"


def test_stream_finalize_again_is_not_a_reopen(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="v1", isFinalize=True))
    store.stream(2.0, CLIENT, stream_body(guid="b", content="v2", isFinalize=True))
    assert card.finalized and "reopened" not in card.versions[-1].extra
    assert card.current["msgContent"] == "v2"


def test_stream_into_a_failed_card(store: CardStore) -> None:
    card = ai_card(store)
    store.update_instance(
        1.0, CLIENT, {"outTrackId": "track-1", "cardData": {"cardParamMap": {"flowStatus": "5"}}}
    )
    assert card.failed
    rejects(
        lambda: store.stream(2.0, CLIENT, stream_body()),
        "param.stream.cardFailed",
        "failed",
        "new outTrackId",
    )


def test_stream_into_an_undelivered_card_is_fine(store: CardStore) -> None:
    card, _ = store.create_instance(0.0, CLIENT, create_body())
    store.stream(1.0, CLIENT, stream_body(key="markdown"))
    assert card.current == {"markdown": "Hello"} and not card.delivered


# ---------------------------------------------------------------------------------------------
# card callback responses


@pytest.mark.parametrize("response", [None, "OK", ["x"], 1, {}, {"cardData": None}])
def test_callback_response_without_update(store: CardStore, response: Any) -> None:
    card = ai_card(store)
    assert store.apply_callback_response(1.0, card.id, STAFF, response) is None
    assert [v.source for v in card.versions] == ["create", "deliver"]


def test_callback_response_by_key(store: CardStore) -> None:
    card = ai_card(store, likes="2", title="T")
    response = {
        "cardData": {"cardParamMap": {"likes": 3}},
        "userPrivateData": {"cardParamMap": {"likeStatus": "like"}},
        "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
    }
    assert store.apply_callback_response(4.0, card.id, STAFF, response) is card
    assert card.current == {"flowStatus": "1", "likes": "3", "title": "T"}
    assert card.private_data == {STAFF: {"likeStatus": "like"}}
    version = card.versions[-1]
    assert (version.t, version.source) == (4.0, "callback")
    assert version.extra["user_id"] == STAFF
    assert version.extra["coerced"] == ["likes"]


def test_callback_response_overwrites_by_default(store: CardStore) -> None:
    card = ai_card(store, title="T")
    response = {"cardData": {"cardParamMap": {"flowStatus": "3", "done": "yes"}}}
    store.apply_callback_response(1.0, card.id, STAFF, response)
    assert card.current == {"flowStatus": "3", "done": "yes"}
    assert card.finalized


def test_callback_response_with_go_style_nulls(store: CardStore) -> None:
    card = ai_card(store)
    response = {
        "cardData": None,
        "userPrivateData": {"cardParamMap": {"x": "1"}},
        "cardUpdateOptions": None,
    }
    store.apply_callback_response(1.0, card.id, STAFF, response)
    assert card.private_data == {STAFF: {"x": "1"}}
    assert card.current == {"flowStatus": "1"}


@pytest.mark.parametrize(
    "response",
    [
        {"cardData": {"cardParamMap": {"obj": {"a": 1}}}},
        {"cardData": "likes=3"},
        {"userPrivateData": ["x"]},
        {"cardData": {"cardParamMap": {"a": "b"}}, "cardUpdateOptions": "yes"},
    ],
)
def test_callback_response_that_the_platform_refuses(store: CardStore, response: Any) -> None:
    card = ai_card(store)
    with pytest.raises(ProtocolViolation, match="card callback response for 'track-1'"):
        store.apply_callback_response(1.0, card.id, STAFF, response)
    assert [v.source for v in card.versions] == ["create", "deliver"]


def test_callback_response_for_an_ordinary_card(store: CardStore) -> None:
    card, _ = store.send_interactive(0.0, CLIENT, send_body())
    private = {"userPrivateData": {"cardParamMap": {"voted": "yes"}}}
    assert store.apply_callback_response(1.0, card.id, STAFF, private) is card
    assert card.private_data == {STAFF: {"voted": "yes"}}
    assert card.current == INTERACTIVE_CARD_JSON_SAMPLE_1
    with pytest.raises(ProtocolViolation, match="interactiveCards"):
        store.apply_callback_response(2.0, card.id, STAFF, {"cardData": {"cardParamMap": {"a": "b"}}})


def test_callback_response_for_an_unknown_card(store: CardStore) -> None:
    with pytest.raises(KeyError, match="nope"):
        store.apply_callback_response(1.0, "nope", STAFF, {"cardData": {"cardParamMap": {}}})
