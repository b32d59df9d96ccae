"""Driving the fake from the emulator page (issue 24, item 5), in a real Chromium: every
setting typed, with its help and default, from the table the control API checks against, and
faults with their options, the list of those still to come, and disarming one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fakeding import ThreadedFakeDing
from fakeding.control_settings import FIXED, knobs
from tests.fakeding.emulator_page import DESKTOP, PHONE, chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _open(page: Any, size: dict[str, int], tab: str) -> None:
    if size is PHONE:
        page.click("#toggle-panes")
    page.click(f"#tab-{tab}")


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_setting_is_typed_with_help_and_default_and_applies(
        browser: Any, fakeding: ThreadedFakeDing, size: dict[str, int]) -> None:
    page = browser.new_page(viewport=size)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    _open(page, size, "settings")
    page.wait_for_selector("#settings-form .knob[data-setting=extra]")
    table = knobs()
    shown = page.eval_on_selector_all("#settings-form .knob", "ks => ks.map(k => k.dataset.setting)")
    assert shown == [name for name in table if name not in FIXED]
    kinds = {name: page.get_attribute(f"#set-{name}", "type") for name in
             ("enforce_scopes", "qps_limit", "max_redeliveries", "corp_id")}
    assert kinds == {"enforce_scopes": "checkbox", "qps_limit": "number",
                     "max_redeliveries": "number", "corp_id": "text"}
    assert page.get_attribute("#set-max_redeliveries", "step") == "1"
    help_id = page.get_attribute("#set-qps_limit", "aria-describedby")
    assert page.inner_text(f"#{help_id}") == (
        f"{table['qps_limit'].help} · default: 20")

    page.fill("#set-qps_limit", "")  # empty: the rule is off (null)
    page.fill("#set-max_redeliveries", "3")
    page.uncheck("#set-enforce_scopes")
    page.click("#settings-apply")
    page.wait_for_selector("#settings-result >> text=applied: max_redeliveries, qps_limit, "
                           "enforce_scopes")  # only what changed, in the form's order
    s = fakeding.fake.settings
    assert (s.qps_limit, s.max_redeliveries, s.enforce_scopes) == (None, 3, False)

    page.fill("#set-extra", "{not json")  # the user's mistake, said plainly
    page.click("#settings-apply")
    page.wait_for_selector("#settings-result >> text=extra: expected JSON, found {not json")
    page.fill("#set-extra", "{}")
    page.fill("#set-max_redeliveries", "1.5")
    page.click("#settings-apply")
    page.wait_for_selector("#settings-result >> text=max_redeliveries")
    assert "expected a whole number" in page.inner_text("#settings-result")
    assert fakeding.fake.settings.max_redeliveries == 3
    page.close()


def test_faults_with_their_options_are_listed_and_disarmed(
        browser: Any, fakeding: ThreadedFakeDing) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    _open(page, DESKTOP, "faults")
    page.wait_for_selector("#faults-armed li >> text=none")

    page.select_option("#fault-route", "PUT /v1.0/card/streaming")
    page.fill("#fault-status", "200")
    page.fill("#fault-delay", "1.5")
    page.fill("#fault-count", "2")
    page.click("#fault-api")
    armed = page.wait_for_selector("#faults-armed li[data-state=armed]")
    text = armed.inner_text()
    assert "route=PUT /v1.0/card/streaming" in text and "delay=1.5" in text and "count=2" in text
    (fault,) = fakeding.fake.platform.faults.armed
    assert (fault.status, fault.delay, fault.count) == (200, 1.5, 2)

    page.fill("#fault-at", "600")  # later: waiting for its time
    page.click("button[data-fault=frame][data-action=drop]")
    page.wait_for_selector("#faults-armed li[data-state=waiting] >> text=action=drop")
    assert len(fakeding.fake.platform.faults.later) == 1

    for state in ("waiting", "armed"):
        page.click(f"#faults-armed li[data-state={state}] button.disarm")
        page.wait_for_selector(f"#faults-armed li[data-state={state}]", state="detached")
    page.wait_for_selector("#faults-armed li >> text=none")
    assert fakeding.fake.platform.faults.listing() == []
    page.close()
