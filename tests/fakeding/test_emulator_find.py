"""Finding anything in the emulator's timeline (issue 24, item 4), in a real Chromium: text
search, filters by conversation and user, errors coloured and filtered, rows that open to every
field, times from the last reset, export of the filtered view, and older records paged in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from fakeding import ThreadedFakeDing
from fakeding.aio.live import SNAPSHOT_RECORDS
from tests.fakeding.emulator_page import DESKTOP, PHONE


def _kinds(page: Any) -> list[str]:
    kinds: list[str] = page.eval_on_selector_all("#timeline .ev", "es => es.map(e => e.dataset.kind)")
    return kinds


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_search_filter_open_and_export_the_timeline(
    browser: Any, fakeding: ThreadedFakeDing, tmp_path: Path, size: dict[str, int]
) -> None:
    fakeding.reset()
    fakeding.send_message(
        "apples for alice", conversation_id="cidFruit", title="fruit", staff_id="alice", at_bot=False
    )
    fakeding.send_message(
        "bananas for bob", conversation_id="cidYellow", title="yellow", staff_id="bob", at_bot=False
    )
    refused = requests.put(
        fakeding.http_url + "/v1.0/im/robots/interactiveCards",
        json={},
        headers={"x-acs-dingtalk-access-token": "not-a-token"},
        timeout=10,
    )
    assert refused.status_code >= 400
    page = browser.new_page(viewport=size, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    if size is PHONE:
        page.click("#toggle-panes")
    page.wait_for_selector("#timeline .ev[data-kind=api]")
    assert sorted(_kinds(page)) == ["api", "message", "message"]

    # A refused call stands out, and "errors only" keeps just it.
    assert "err" in (page.get_attribute("#timeline .ev[data-kind=api]", "class") or "")
    color = page.eval_on_selector("#timeline .ev[data-kind=api] summary", "s => getComputedStyle(s).color")
    assert color != page.eval_on_selector(
        "#timeline .ev[data-kind=message] summary", "s => getComputedStyle(s).color"
    )
    page.check("#timeline-errors")
    page.wait_for_function("document.querySelectorAll('#timeline .ev').length === 1")
    assert _kinds(page) == ["api"]
    page.uncheck("#timeline-errors")

    # Search and the conversation and user filters.
    page.fill("#timeline-search", "cidYellow")
    page.wait_for_function("document.querySelectorAll('#timeline .ev').length === 1")
    page.fill("#timeline-search", "")
    page.focus("#timeline-conv")
    page.select_option("#timeline-conv", "cidFruit")
    page.wait_for_function("document.querySelectorAll('#timeline .ev').length === 1")
    assert "cidFruit" in page.inner_text("#timeline .ev")
    page.select_option("#timeline-conv", "")
    page.focus("#timeline-user")
    page.select_option("#timeline-user", "bob")
    page.wait_for_function("document.querySelectorAll('#timeline .ev').length === 1")
    row = page.locator("#timeline .ev").first
    row.locator("summary").click()
    fields = json.loads(row.locator("pre.fields").inner_text())
    assert fields["sender"] == "bob" and fields["conversation"] == "cidYellow"

    # Times count from the last reset, and the export is the filtered view.
    (message,) = [r for r in fakeding.timeline(["message"]) if r["sender"] == "bob"]
    since = fakeding.fake.reset_t
    assert since > 0
    assert row.locator(".t").inner_text() == f"+{message['t'] - since:.3f}s"
    with page.expect_download() as download:
        page.click("#timeline-export")
    path = tmp_path / "timeline.json"
    download.value.save_as(path)
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert [(r["kind"], r["fields"]["sender"]) for r in exported] == [("message", "bob")]
    assert errors == []
    page.close()


def test_older_records_are_paged_in_on_demand(browser: Any, fakeding: ThreadedFakeDing) -> None:
    fakeding.send_message("the very first", conversation_id="cidOld", at_bot=False)
    fakeding.call(lambda: [fakeding.fake.record("note", n=n) for n in range(SNAPSHOT_RECORDS + 20)])
    page = browser.new_page(viewport=DESKTOP)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector(f"#timeline-count >> text={SNAPSHOT_RECORDS + 21} events")
    assert page.query_selector("#timeline .ev[data-seq='1']") is None
    page.click("#timeline-older >> text=Load 21 older")
    page.wait_for_selector("#timeline .ev[data-seq='1'][data-kind=message]", state="attached")
    assert page.is_hidden("#timeline-older")
    page.close()
