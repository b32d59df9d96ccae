"""One verb per action: ``update_settings`` changes settings; the older verbs still work as
deprecated aliases that name it; both fakes satisfy ``FakeDingAPI`` (mypy checks it in
``fakeding/api_conformance.py``; here the members are compared at run time too)."""

from __future__ import annotations

import asyncio

import pytest

from fakeding import ThreadedFakeDing
from fakeding.core.api import FakeDingAPI
from fakeding.core.settings import Settings
from fakeding.server import FakeDing


def test_configure_is_a_deprecated_alias_that_still_resets(fakeding: ThreadedFakeDing) -> None:
    fakeding.send_message("kept until the reset")
    with pytest.warns(DeprecationWarning, match=r"use update_settings\(\{\.\.\.\}\) then reset\(\)"):
        fakeding.configure(qps_limit=7)
    assert fakeding.settings.qps_limit == 7 and fakeding.timeline() == []


def test_update_settings_keeps_the_run(fakeding: ThreadedFakeDing) -> None:
    fakeding.send_message("kept")
    assert fakeding.update_settings({"qps_limit": 3})["qps_limit"] == 3
    assert fakeding.settings.qps_limit == 3 and len(fakeding.timeline(["message"])) == 1


def test_the_on_loop_aliases_warn_and_name_the_new_verb() -> None:
    async def run() -> None:
        fake = FakeDing()
        with pytest.warns(DeprecationWarning, match=r"use update_settings\(\{\.\.\.\}\)"):
            fake.change_settings(qps_limit=9)
        assert fake.settings.qps_limit == 9
        with pytest.warns(DeprecationWarning, match=r"update_settings\(\{\.\.\.\}\) then reset\(\)"):
            fake.apply_settings(Settings(qps_limit=4))
        assert fake.settings.qps_limit == 4

    asyncio.run(run())


def test_both_fakes_have_every_member_of_the_api(fakeding: ThreadedFakeDing) -> None:
    members = {n for n in dir(FakeDingAPI) if not n.startswith("_")}
    assert members <= set(dir(fakeding.fake)), members - set(dir(fakeding.fake))
    assert members <= set(dir(fakeding)), members - set(dir(fakeding))
