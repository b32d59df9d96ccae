"""Fault specs (``parse_fault``) and the counting of armed faults (``FaultPlan``)."""

from __future__ import annotations

from typing import Any

import pytest

from fakeding.core.exceptions import ControlError
from fakeding.core.faults import KINDS, Fault, FaultPlan, parse_fault, route_matches

STREAM = "/v1.0/card/streaming"


def _field(spec: Any) -> ControlError:
    with pytest.raises(ControlError) as exc:
        parse_fault(spec)
    return exc.value


# -- parse_fault: accepted specs ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["drop_connection", "disconnect", "zombie", "expire_token"])
def test_parse_fault_accepts_each_connection_and_token_kind(kind: str) -> None:
    f = parse_fault({"kind": kind, "clientId": "app1"})
    assert (f.kind, f.client_id, f.nth, f.count, f.at) == (kind, "app1", 1, 1, None)
    assert f.describe() == {"kind": kind, "clientId": "app1"}


def test_parse_fault_accepts_client_id_in_snake_case() -> None:
    assert parse_fault({"kind": "zombie", "client_id": "app2"}).client_id == "app2"


@pytest.mark.parametrize("action", ["drop", "delay", "duplicate"])
def test_parse_fault_accepts_each_frame_action(action: str) -> None:
    f = parse_fault(
        {"kind": "frame", "action": action, "nth": 3, "delay": 1.5, "topic": "/v1.0/im/bot/messages/get"}
    )
    assert (f.action, f.nth, f.delay, f.topic) == (action, 3, 1.5, "/v1.0/im/bot/messages/get")


def test_parse_fault_api_fail_with_status_code_message_and_count() -> None:
    f = parse_fault(
        {
            "kind": "api",
            "route": f"PUT {STREAM}",
            "status": 403,
            "code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
            "message": "slow down",
            "count": 2,
            "nth": 2,
        }
    )
    assert (f.route, f.status, f.code, f.message, f.count, f.nth) == (
        f"PUT {STREAM}",
        403,
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "slow down",
        2,
        2,
    )


def test_parse_fault_api_defaults_to_500_system_busy() -> None:
    f = parse_fault({"kind": "api", "route": STREAM})
    assert (f.status, f.code, f.message) == (500, "system.busy", "fault injected by fakeding")


def test_parse_fault_api_delay_without_status_is_a_pure_delay() -> None:
    f = parse_fault({"kind": "api", "route": STREAM, "delay": 2})
    assert f.status == 200 and f.delay == 2.0 and isinstance(f.delay, float)


def test_parse_fault_api_delay_with_status_keeps_the_status() -> None:
    f = parse_fault({"kind": "api", "route": STREAM, "delay": 0.5, "status": 504})
    assert (f.status, f.delay) == (504, 0.5)


def test_parse_fault_at_is_seconds_as_float() -> None:
    f = parse_fault({"kind": "disconnect", "at": 3})
    assert f.at == 3.0 and isinstance(f.at, float)


def test_parse_fault_keeps_the_spec_it_was_given() -> None:
    spec = {"kind": "frame", "action": "drop"}
    f = parse_fault(spec)
    spec["action"] = "delay"
    assert f.describe() == {"kind": "frame", "action": "drop"}


# -- parse_fault: rejected specs name the field ---------------------------------------------------


@pytest.mark.parametrize("spec", [["kind", "zombie"], "zombie", None])
def test_parse_fault_rejects_a_non_object(spec: Any) -> None:
    assert _field(spec).field == "fault"


@pytest.mark.parametrize("kind", [None, "explode", "ZOMBIE", 3])
def test_parse_fault_rejects_an_unknown_kind(kind: Any) -> None:
    spec = {} if kind is None else {"kind": kind}
    err = _field(spec)
    assert err.field == "kind"
    assert repr(kind) in err.problem
    assert all(k in err.problem for k in KINDS)


def test_parse_fault_rejects_unknown_keys_naming_the_first() -> None:
    err = _field({"kind": "zombie", "zz": 1, "bogus": 2})
    assert err.field == "bogus"
    assert "unknown field" in err.problem and "clientId" in err.problem


@pytest.mark.parametrize("action", [None, "reorder", "DROP"])
def test_parse_fault_rejects_a_bad_frame_action(action: Any) -> None:
    spec: dict[str, Any] = {"kind": "frame"}
    if action is not None:
        spec["action"] = action
    err = _field(spec)
    assert err.field == "action"
    assert repr(action) in err.problem and "duplicate" in err.problem


@pytest.mark.parametrize("name", ["nth", "count"])
@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True, None])
def test_parse_fault_rejects_a_bad_nth_or_count(name: str, value: Any) -> None:
    err = _field({"kind": "frame", "action": "drop", name: value})
    assert err.field == name
    assert err.problem == f"expected an integer from 1 to 1000000, found {value!r}"


@pytest.mark.parametrize("name", ["delay", "at"])
@pytest.mark.parametrize("value", [-0.1, "1", True, None, [1]])
def test_parse_fault_rejects_a_bad_delay_or_at(name: str, value: Any) -> None:
    err = _field({"kind": "api", "route": STREAM, name: value})
    assert err.field == name
    limit = {"delay": 3600, "at": 86400}[name]
    assert err.problem == f"expected a number of seconds from 0 to {limit}, found {value!r}"


@pytest.mark.parametrize(
    ("name", "value", "limit"),
    [("delay", 1e308, "3600"), ("delay", 3600.5, "3600"), ("at", 86_401, "86400"), ("at", 1e308, "86400")],
)
def test_parse_fault_bounds_delays_and_times(name: str, value: float, limit: str) -> None:
    """A 1e308 s delay used to be armed (a timer that never fires); now the error names the
    field, the limit and the value."""
    err = _field({"kind": "frame", "action": "delay", name: value})
    assert err.field == name
    assert err.problem == f"expected a number of seconds from 0 to {limit}, found {value!r}"
    assert parse_fault({"kind": "frame", "action": "delay", name: float(limit)})


@pytest.mark.parametrize("name", ["nth", "count"])
def test_parse_fault_bounds_counts(name: str) -> None:
    err = _field({"kind": "frame", "action": "drop", name: 10**400})
    assert err.field == name
    assert err.problem.startswith("expected an integer from 1 to 1000000, found 1000000000")
    assert err.problem.endswith("... (401 characters)")  # a huge value is not echoed whole
    assert getattr(parse_fault({"kind": "frame", "action": "drop", name: 1_000_000}), name) == 1_000_000


@pytest.mark.parametrize("route", [None, "", "streaming", 42])
def test_parse_fault_rejects_a_bad_api_route(route: Any) -> None:
    spec: dict[str, Any] = {"kind": "api"}
    if route is not None:
        spec["route"] = route
    err = _field(spec)
    assert err.field == "route"
    assert repr(route) in err.problem


@pytest.mark.parametrize("status", [99, 600, "500", 500.0, None])
def test_parse_fault_rejects_a_bad_api_status(status: Any) -> None:
    err = _field({"kind": "api", "route": STREAM, "status": status})
    assert err.field == "status"
    assert err.problem == f"expected an HTTP status 100-599, found {status!r}"


def test_control_error_text_starts_with_the_field() -> None:
    err = _field({"kind": "api", "route": STREAM, "status": 700})
    assert str(err).startswith("status: ")


# -- route matching -------------------------------------------------------------------------------


def test_route_with_method_matches_only_that_method() -> None:
    assert route_matches(f"PUT {STREAM}", "PUT", STREAM)
    assert route_matches(f"put {STREAM}", "PUT", STREAM)
    assert not route_matches(f"PUT {STREAM}", "POST", STREAM)


def test_route_without_method_matches_every_method() -> None:
    assert route_matches(STREAM, "PUT", STREAM)
    assert route_matches(STREAM, "POST", STREAM)


def test_route_path_must_match_exactly() -> None:
    assert not route_matches("/v1.0/card", "PUT", STREAM)
    assert not route_matches(f"PUT {STREAM}", "PUT", STREAM + "/x")
    assert not route_matches("/v1.0/card/instances", "POST", "/v1.0/card/instances/deliver")


# -- FaultPlan counting ---------------------------------------------------------------------------


def _plan(*specs: dict[str, Any]) -> tuple[FaultPlan, list[Fault]]:
    plan = FaultPlan()
    faults = [parse_fault(s) for s in specs]
    for f in faults:
        plan.arm(f)
    return plan, faults


def _calls(
    plan: FaultPlan, n: int, client: str | None = "app1", method: str = "PUT", path: str = STREAM
) -> list[bool]:
    return [plan.on_call(client, method, path) is not None for _ in range(n)]


def test_nth_one_fires_on_the_next_matching_call_only() -> None:
    plan, (f,) = _plan({"kind": "api", "route": STREAM})
    assert _calls(plan, 3) == [True, False, False]
    assert (f.seen, f.fired, f.exhausted) == (1, 1, True)


def test_nth_counts_from_arming_not_from_earlier_calls() -> None:
    plan = FaultPlan()
    assert plan.on_call("app1", "PUT", STREAM) is None  # nothing armed: not counted anywhere
    assert plan.on_call("app1", "PUT", STREAM) is None
    f = parse_fault({"kind": "api", "route": STREAM, "nth": 2})
    plan.arm(f)
    assert _calls(plan, 3) == [False, True, False]


def test_count_fails_that_many_calls_in_a_row() -> None:
    plan, (f,) = _plan({"kind": "api", "route": STREAM, "nth": 2, "count": 3})
    assert _calls(plan, 6) == [False, True, True, True, False, False]
    assert f.fired == 3


def test_non_matching_calls_do_not_count_towards_nth() -> None:
    plan, _ = _plan({"kind": "api", "route": f"PUT {STREAM}", "nth": 2})
    assert plan.on_call("app1", "POST", STREAM) is None
    assert plan.on_call("app1", "PUT", "/v1.0/card/instances") is None
    assert _calls(plan, 2) == [False, True]


def test_path_only_route_counts_calls_of_any_method() -> None:
    plan, _ = _plan({"kind": "api", "route": STREAM, "nth": 2})
    assert plan.on_call("app1", "POST", STREAM) is None
    assert plan.on_call("app1", "PUT", STREAM) is not None


def test_client_filter_skips_other_apps_without_counting_them() -> None:
    plan, (f,) = _plan({"kind": "api", "route": STREAM, "clientId": "app1", "nth": 2})
    assert _calls(plan, 3, client="app2") == [False, False, False]
    assert f.seen == 0
    assert _calls(plan, 2, client="app1") == [False, True]


def test_fault_without_client_applies_to_every_app() -> None:
    plan, _ = _plan({"kind": "api", "route": STREAM, "count": 2})
    assert plan.on_call("app1", "PUT", STREAM) is not None
    assert plan.on_call("app2", "PUT", STREAM) is not None


def test_on_call_returns_the_armed_fault_itself() -> None:
    plan, (f,) = _plan({"kind": "api", "route": STREAM, "status": 429})
    assert plan.on_call("app1", "PUT", STREAM) is f


def test_frame_faults_and_api_faults_are_counted_separately() -> None:
    plan, (frame_fault, api_fault) = _plan(
        {"kind": "frame", "action": "drop", "nth": 2}, {"kind": "api", "route": STREAM, "nth": 2}
    )
    assert plan.on_frame("app1", "/v1.0/im/bot/messages/get") is None
    assert plan.on_call("app1", "PUT", STREAM) is None
    assert plan.on_frame("app1", "/v1.0/im/bot/messages/get") is frame_fault
    assert plan.on_call("app1", "PUT", STREAM) is api_fault


def test_frame_fault_with_topic_counts_only_that_topic() -> None:
    plan, (f,) = _plan({"kind": "frame", "action": "duplicate", "topic": "/v1.0/card/instances/callback"})
    assert plan.on_frame("app1", "/v1.0/im/bot/messages/get") is None
    assert plan.on_frame("app1", "/v1.0/card/instances/callback") is f
    assert plan.on_frame("app1", "/v1.0/card/instances/callback") is None


def test_connection_kinds_are_never_matched_by_frames_or_calls() -> None:
    plan, _ = _plan({"kind": "zombie"}, {"kind": "expire_token"})
    assert plan.on_frame("app1", "/v1.0/im/bot/messages/get") is None
    assert plan.on_call("app1", "PUT", STREAM) is None


def test_two_armed_faults_fire_in_arming_order() -> None:
    plan, (first, second) = _plan(
        {"kind": "api", "route": STREAM, "code": "a"}, {"kind": "api", "route": STREAM, "code": "b"}
    )
    assert plan.on_call("app1", "PUT", STREAM) is first
    assert plan.on_call("app1", "PUT", STREAM) is second
    assert plan.on_call("app1", "PUT", STREAM) is None


def test_reset_disarms_everything() -> None:
    plan, _ = _plan({"kind": "api", "route": STREAM})
    plan.reset()
    assert plan.armed == []
    assert plan.on_call("app1", "PUT", STREAM) is None
