"""The ``CardStore`` facade: queries and seeded ids; and the SDK the card tests drive really
reaches the fake."""

from __future__ import annotations

import dingtalk_stream.utils
import pytest

from fakeding import ThreadedFakeDing
from fakeding.core.cards import CardStore
from tests.fakeding.card_helpers import (
    APP,
    CLIENT,
    ai_card,
    create_body,
    group_delivery,
    make_store,
    sdk_client,
    send_body,
    stream_body,
)


def test_get_unknown_lists_known_ids(store: CardStore) -> None:
    for i in range(12):
        store.create_instance(float(i), CLIENT, create_body(outTrackId=f"t{i:02}"))
    with pytest.raises(KeyError) as info:
        store.get("missing")
    message = str(info.value.args[0])
    assert "missing" in message and "12 card(s)" in message
    assert "t00" in message and "t09" in message and "t10" not in message
    assert "and 2 more" in message


def test_get_on_an_empty_store(store: CardStore) -> None:
    with pytest.raises(KeyError, match="found 0 card"):
        store.get("x")


def test_all_in_creation_order(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body(outTrackId="b"))
    store.send_interactive(1.0, CLIENT, send_body(cardBizId="a"))
    store.create_instance(2.0, CLIENT, create_body(outTrackId="c"))
    assert [c.id for c in store.all()] == ["b", "a", "c"]
    assert len(store) == 3 and "a" in store and "z" not in store


def test_versions_are_snapshots(store: CardStore) -> None:
    card = ai_card(store, markdown="m")
    first = card.versions[0].card_data
    store.stream(1.0, CLIENT, stream_body(key="markdown", content="changed"))
    assert first == {"flowStatus": "1", "markdown": "m"}
    assert card.created_at == 0.0


def test_ids_are_seeded() -> None:
    def run() -> list[str]:
        store = make_store()
        _, out = store.send_interactive(0.0, CLIENT, send_body())
        _, delivered = store.create_and_deliver(0.0, CLIENT, {**create_body(), **group_delivery()})
        return [out["processQueryKey"], delivered["result"]["deliverResults"][0]["carrierId"]]

    assert run() == run()


def test_the_sdk_talks_to_this_fake(fakeding: ThreadedFakeDing) -> None:
    # the plugin points the SDK's OpenAPI endpoint at the running fake
    assert fakeding.http_url == dingtalk_stream.utils.DINGTALK_OPENAPI_ENDPOINT
    assert sdk_client().get_access_token()
    [call] = fakeding.timeline(["api"])
    assert (call["route"], call["status"], call["client"]) == ("POST /v1.0/oauth2/accessToken", 200, APP)
