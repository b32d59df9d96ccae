"""Fixtures of the fake's own tests (the card core alone: no SDK, no server)."""

from __future__ import annotations

import pytest

from fakeding.cards import CardStore
from fakeding.ids import IdFactory
from fakeding.settings import Settings


@pytest.fixture
def store() -> CardStore:
    """A fresh card store with default settings and seed 0."""
    return CardStore(Settings(), IdFactory(0))
