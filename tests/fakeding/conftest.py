"""Fixtures of the fake's own tests: the card core alone, and for the emulator's browser
tests Chromium and our robot chatting with a live fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fakeding.core.cards import CardStore
from fakeding.core.ids import IdFactory
from fakeding.core.settings import Settings


@pytest.fixture
def store() -> CardStore:
    """A fresh card store with default settings and seed 0."""
    return CardStore(Settings(), IdFactory(0))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium through Playwright, for the emulator's browser tests (``emulator_page``)."""
    from tests.fakeding.emulator_page import chromium

    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def live_robot() -> Iterator[Any]:
    """The fake and our robot in real time (``emulator_page.LiveRobot``), for the page to
    chat with."""
    from tests.fakeding.emulator_page import LiveRobot

    with LiveRobot() as robot:
        yield robot
