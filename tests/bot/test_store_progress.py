"""Progress records: a message is skipped only once answered or while a live owner has it;
a dead owner's unfinished message is an orphan that exactly one robot takes over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.storage.store import Store

DEAD = "elsewhere:1:dead"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "bot.sqlite3", SystemClock()) as opened:
        yield opened


def claim(store: Store, owner: str, key: str = "app:m1") -> tuple[str, str]:
    found = store.claim_message(key, msg_id="m1", owner=owner, payload="{}")
    return found.outcome, found.reason


def test_a_live_owner_keeps_its_message_and_an_answered_one_is_skipped(store: Store) -> None:
    store.beat("me", 60)
    assert claim(store, "me") == ("new", "")
    assert claim(store, "me") == ("skip", "claimed, being answered by this robot")
    store.beat("other", 60)
    assert claim(store, "other")[0] == "skip"
    store.set_progress("app:m1", "answered", answer="hi")
    assert claim(store, "other") == ("skip", "already answered")


def test_a_dead_owners_message_is_taken_over_once(store: Store) -> None:
    store.beat(DEAD, 60)
    claim(store, DEAD)
    store.set_progress("app:m1", "carded", card_id="card1")
    assert store.orphans("me") == []
    store.beat(DEAD, 0)  # its lease ends
    [orphan] = store.orphans("me")
    assert (orphan.state, orphan.card_id, orphan.owner) == ("carded", "card1", DEAD)
    assert store.take_over("app:m1", old=DEAD, new="me")
    assert not store.take_over("app:m1", old=DEAD, new="you"), "only one robot wins"


def test_a_redelivered_message_of_a_dead_owner_is_taken_with_its_progress(store: Store) -> None:
    claim(store, DEAD)  # never beat: no lease at all
    store.set_progress("app:m1", "carded", card_id="card1")
    found = store.claim_message("app:m1", msg_id="m1", owner="me", payload="{}")
    assert found.outcome == "taken" and found.progress is not None
    assert found.progress.card_id == "card1"


def test_an_unknown_state_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="one of claimed, carded, answered, finalized"):
        store.set_progress("app:m1", "done")
