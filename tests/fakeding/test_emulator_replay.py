"""Replaying a scenario file from the emulator page (issue 24, item 5), in a real Chromium with
our robot connected: a file loaded with the picker or dropped on the page is checked with the
scenario schema (a bad one says which line, step and field), its steps are listed, Step sends the
next one and Run all the rest at their times, the current step is marked and each step shows
what the robot answered; "Save as scenario" round-trips (saved, loaded back, replayed: the same
questions get the same answers). axe-core finds nothing serious with the steps on screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from fakeding.core.settings import Settings
from tests.fakeding.emulator_page import DESKTOP, PHONE, LiveRobot, axe_script, serious_violations

Q1 = "How do I reset my password?"
Q2 = "What is the VPN address?"


def _scenario(tag: str) -> str:
    return f"""name: replay from the page {tag}
users:
  ann: {{nick: Ann}}
conversations:
  replay{tag}: {{type: group, title: Replay {tag}}}
steps:
  - at: 0
    say: {{user: ann, in: replay{tag}, text: "{Q1}"}}
  - at: 0.2
    say: {{user: ann, in: replay{tag}, text: "{Q2}"}}
  - at: 0.4
    settings: {{redelivery_delay: 7}}
"""


def _open_replay(page: Any, size: dict[str, int]) -> None:
    if size is PHONE:
        page.click("#toggle-panes")
        page.wait_for_selector("#panes.open #tab-replay")
    page.click("#tab-replay")
    page.wait_for_selector("#pane-replay.active")


def _replay_page(browser: Any, live_robot: LiveRobot, size: dict[str, int]) -> tuple[Any, list[str]]:
    """The page live with our robot connected, its Replay pane open; and its script errors."""
    page = browser.new_page(viewport=size)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_robot.url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    page.wait_for_selector("#robots[data-state=live]")
    _open_replay(page, size)
    return page, errors


def _answers(page: Any, n: int) -> list[str]:
    return list(
        page.eval_on_selector_all(
            f"#replay-steps li[data-n='{n}'] .outcome .answer", "as => as.map(a => a.textContent)"
        )
    )


def _final_answer(page: Any, n: int) -> str:
    """Step n's answer once the robot's card is final (its feedback buttons are drawn)."""
    page.wait_for_function(
        f"""() => [...document.querySelectorAll("#replay-steps li[data-n='{n}'] .outcome .answer")]
              .some(a => a.textContent.includes('Very Helpful'))""",
        timeout=20_000,
    )
    return " ".join(_answers(page, n))


def test_save_as_scenario_loads_back_and_replays_the_same_conversation(
    browser: Any, live_robot: LiveRobot
) -> None:
    """First in the module: the saved session is this test's alone."""
    page = browser.new_page(viewport=DESKTOP)
    page.goto(live_robot.url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    page.wait_for_selector("#robots[data-state=live]")
    room = page.evaluate("S.current")
    page.fill("#composer-text", Q2)
    page.press("#composer-text", "Enter")
    page.wait_for_selector("#messages .card[data-final=true]", timeout=20_000)
    original = page.evaluate("cardText([...S.cards.keys()][0])")
    assert "vpn" in original.lower()

    page.click("#save-scenario")
    page.wait_for_selector("#scenario-dialog[open]")
    saved = page.inner_text("#scenario-yaml")
    page.click("#scenario-replay")  # loaded back into the page as the file would be
    page.wait_for_selector("#pane-replay.active")
    page.wait_for_selector("#replay-steps li[data-n='1']")
    assert page.query_selector_all("#replay-steps li[data-n='2']") == []
    typed = requests.post(
        live_robot.url + "/_fakeding/scenario/steps",
        json={"yaml": saved, "name": "emulator-session.yaml"},
        timeout=10,
    ).json()
    (step,) = typed["steps"]
    assert step["request"]["body"]["text"] == Q2 and step["conversation"] != room
    assert "the connected robot answers" in page.inner_text("#replay-status")  # answer: blocks

    page.click("#replay-run")
    replayed = _final_answer(page, 1)
    assert replayed == f"robot: {original}"  # the same question, the same answer, anew
    fake = live_robot.fake
    assert fake is not None
    there = [(e.who, e.kind) for e in fake.platform.transcript if e.conversation_id == step["conversation"]]
    assert there == [("user:user001", "text"), ("bot", "card")]
    page.close()


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_script()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_load_step_and_run_a_scenario_with_the_robot_answering(
    browser: Any, live_robot: LiveRobot, axe: str, size: dict[str, int], tmp_path: Path
) -> None:
    tag = str(size["width"])
    path = tmp_path / f"replay-{tag}.yaml"
    path.write_text(_scenario(tag), encoding="utf-8")
    page, errors = _replay_page(browser, live_robot, size)

    page.set_input_files("#replay-file", str(path))
    page.wait_for_selector("#replay-steps li[data-n='3']")
    assert page.eval_on_selector_all(
        "#replay-steps li", "ls => ls.map(l => [l.dataset.kind, l.querySelector('.what').textContent])"
    ) == [
        ["say", f"Ann in replay{tag}: {Q1}"],
        ["say", f"Ann in replay{tag}: {Q2}"],
        ["settings", "settings redelivery_delay=7"],
    ]
    assert page.get_attribute("#replay-steps li[data-n='1']", "aria-current") == "step"
    assert f"replay-{tag}.yaml: 3 steps" in page.inner_text("#replay-status")
    assert serious_violations(page, axe) == []

    # Step: the first question goes to the robot; its answer appears under the step, the
    # conversation is the scenario's, and the next step is the current one.
    page.click("#replay-step")
    page.wait_for_selector("#replay-steps li[data-n='1'][data-state=done]")
    assert page.get_attribute("#replay-steps li[data-n='2']", "aria-current") == "step"
    assert "current" in (page.get_attribute("#replay-steps li[data-n='2']", "class") or "")
    first = _final_answer(page, 1)
    assert "password" in first.lower()
    assert page.inner_text("#chat-title") == f"Replay {tag}"
    fake = live_robot.fake
    assert fake is not None
    said = [e for e in fake.platform.transcript if e.conversation_id == f"cidReplay{tag}=="]
    assert said[0].who == "user:ann" and said[0].text == Q1

    # Run all: the rest at their times; the settings step is applied to the running fake.
    page.click("#replay-run")
    page.wait_for_selector("#replay-steps li[data-n='3'][data-state=done]")
    second = _final_answer(page, 2)
    assert "vpn" in second.lower() and second != first
    assert fake.settings.redelivery_delay == 7
    assert "all 3 steps sent" in page.inner_text("#replay-status")
    assert page.is_disabled("#replay-step") and page.is_disabled("#replay-run")
    assert serious_violations(page, axe) == []
    fake.update_settings({"redelivery_delay": Settings().redelivery_delay})
    assert errors == []
    page.close()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_bad_file_dropped_on_the_page_names_the_line_step_and_field(
    browser: Any, live_robot: LiveRobot, size: dict[str, int]
) -> None:
    page = browser.new_page(viewport=size)
    page.goto(live_robot.url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    bad = _scenario("bad").replace(f'ann, in: replaybad, text: "{Q2}"', f'bob, in: replaybad, text: "{Q2}"')
    assert "user: bob" in bad
    page.evaluate(
        """(text) => {
          const dt = new DataTransfer();
          dt.items.add(new File([text], 'broken.yaml', {type: 'application/yaml'}));
          const drop = new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true});
          document.querySelector('#messages').dispatchEvent(drop);
        }""",
        bad,
    )
    page.wait_for_selector("#pane-replay.active")
    error = page.wait_for_selector("#replay-error:not(:empty)")
    assert error.inner_text() == "broken.yaml:10: steps[1].say.user: unknown user 'bob'; declared: ['ann']"
    assert page.query_selector_all("#replay-steps li") == []  # nothing half-loaded
    assert page.is_disabled("#replay-run")
    page.close()


def test_the_server_s_scenario_folder_is_listed_and_loads_into_replay(
    browser: Any, live_robot: LiveRobot, axe: str, tmp_path: Path
) -> None:
    """``serve --scenarios DIR``: the pane lists the folder when it opens (read again each time)
    and Load replays a file as a picked one would; without a folder the row stays hidden."""
    fake = live_robot.fake
    assert fake is not None
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "vpn.yaml").write_text(_scenario("lib"), encoding="utf-8")
    page, errors = _replay_page(browser, live_robot, DESKTOP)
    assert page.is_hidden("#replay-library")  # this fake has no folder yet
    fake.scenarios_dir = tmp_path
    try:
        (tmp_path / "a-first.yaml").write_text(_scenario("first"), encoding="utf-8")
        page.click("#tab-timeline")
        _open_replay(page, DESKTOP)  # opening the pane reads the folder again
        page.wait_for_selector("#replay-library:not([hidden])")
        files = page.eval_on_selector_all("#replay-files option", "os => os.map(o => o.value)")
        assert files == ["a-first.yaml", "team/vpn.yaml"]
        assert page.inner_text("label[for=replay-files]") == "On the server"
        page.select_option("#replay-files", "team/vpn.yaml")
        page.click("#replay-files-load")
        page.wait_for_selector("#replay-steps li[data-n='3']")
        assert "vpn.yaml: 3 steps" in page.inner_text("#replay-status")
        assert serious_violations(page, axe) == []
        page.click("#replay-step")
        assert "password" in _final_answer(page, 1).lower()
    finally:
        fake.scenarios_dir = None
    assert errors == []
    page.close()
