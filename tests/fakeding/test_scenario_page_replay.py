"""A scenario's text typed as the emulator page replays it (``POST /_fakeding/scenario/steps``):
the same schema as ``fakeding scenario run``, steps unrolled in time order, each with the control
request that replays it; errors name the file's line, the step and the field."""

from __future__ import annotations

import pytest

from fakeding.aio.live import typed_steps
from fakeding.core import json_check
from fakeding.core.control_spec import ROUTES
from fakeding.core.exceptions import ControlError

TEXT = """name: typed
robot: {adapter: no-such-adapter}
platform: {qps_limit: 5}
users:
  "u{n}": {nick: "User {n}"}
  u1: {nick: One}
  u9: {nick: Nine}
conversations:
  team: {type: group, title: The team}
  dm: {type: single}
steps:
  - at: 1
    repeat: 2
    every: 0.5
    say: {user: "u{n}", in: team, text: "q{n}"}
    answer: {chunks: [a]}
  - at: 0
    say: {user: u9, in: dm, msgtype: picture}
  - at: 3
    click: {user: u1, card: "card#2", button: "Yes", params: {x: 1}}
  - at: 4
    graph: {user: u1, in: team, text: hi}
  - at: 5
    event: {type: chat_add_member, data: {ChatId: c}}
  - at: 6
    wait: true
"""


def test_steps_are_typed_with_their_requests_in_time_order() -> None:
    out = typed_steps({"yaml": TEXT, "name": "C:\\\\work\\\\typed.yaml"})
    assert out["name"] == "typed" and out["file"] == "typed.yaml"
    assert [(s["n"], s["index"], s["at"], s["kind"]) for s in out["steps"]] == [
        (1, 1, 0.0, "say"),
        (2, 0, 1.0, "say"),
        (3, 0, 1.5, "say"),
        (4, 2, 3.0, "click"),
        (5, 3, 4.0, "graph"),
        (6, 4, 5.0, "event"),
        (7, 5, 6.0, "wait"),
    ]
    dm, first, second, click, graph, event, _ = out["steps"]
    assert dm["request"]["body"] == {
        "conversation": {"id": "cidDm==", "type": "single"},
        "sender": {"staffId": "u9", "nick": "Nine"},
        "msgtype": "picture",
        "atBot": True,
    }
    assert second["request"] == {
        "method": "POST",
        "path": "/_fakeding/messages",
        "body": {
            "conversation": {"id": "cidTeam==", "type": "group", "title": "The team"},
            "sender": {"staffId": "u2", "nick": "User {n}"},
            "msgtype": "text",
            "atBot": True,
            "text": "q2",
        },
    }
    assert first["line"] == second["line"] == 12
    assert click["card"] == 2 and click["request"]["path"] is None
    assert click["request"]["body"] == {"staffId": "u1", "buttonId": "Yes", "params": {"x": 1}}
    assert graph["request"] is None and "scenario run" in graph["note"]
    assert event["request"]["body"] == {"eventType": "chat_add_member", "data": {"ChatId": "c"}}
    assert out["setup"] == [{"method": "PATCH", "path": "/_fakeding/settings", "body": {"qps_limit": 5}}]
    assert any("the connected robot answers" in n for n in out["notes"])


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            ("in: dm", "in: nowhere"),
            "steps[1].say.in",
            "typed.yaml:18: steps[1].say.in: unknown conversation",
        ),
        (("at: 3", "at: -3"), "steps[2].at", "typed.yaml:19: steps[2].at: -3 is less than the minimum of 0"),
        (("    wait: true", "    wait: true\n    fault: {kind: nope}"), "steps[5]", "typed.yaml:"),
        (("steps:", "steps: ["), "yaml", "typed.yaml:"),
    ],
)
def test_a_bad_file_names_line_step_and_field(change: tuple[str, str], field: str, message: str) -> None:
    with pytest.raises(ControlError) as caught:
        typed_steps({"yaml": TEXT.replace(*change), "name": "typed.yaml"})
    assert caught.value.field == field
    assert caught.value.problem.startswith(message), caught.value.problem


@pytest.mark.parametrize(
    ("body", "field"), [([], "body"), ({"yaml": ""}, "yaml"), ({"yaml": TEXT, "name": 3}, "name")]
)
def test_a_bad_request_names_its_field(body: object, field: str) -> None:
    """The request's shape is the route's documented schema, checked before ``typed_steps``."""
    (route,) = [r for r in ROUTES if r.handler == "scenario_steps"]
    assert route.body is not None
    with pytest.raises(ControlError) as caught:
        json_check.check(route.body, body)
    assert caught.value.field == field and str(caught.value).startswith(f"{field}: expected")


def test_a_blank_file_names_the_yaml_field() -> None:
    with pytest.raises(ControlError) as caught:
        typed_steps({"yaml": "  \n"})
    assert caught.value.field == "yaml" and caught.value.problem.startswith("yaml: expected")
