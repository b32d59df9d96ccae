"""The recorder: ordered, numbered records, retention that keeps violations, and rendering."""

from __future__ import annotations

import json

import pytest

from fakeding.core.recorder import Record, Recorder


def test_records_keep_insertion_order_and_number_from_one() -> None:
    rec = Recorder()
    a = rec.add(0.5, "connect", client="app1")
    b = rec.add(0.25, "push", messageId="m1")  # order is insertion order, not time order
    c = rec.add(1.0, "ack", messageId="m1", code=200)
    assert [r.seq for r in (a, b, c)] == [1, 2, 3]
    assert rec.records == [a, b, c]
    assert list(rec) == [a, b, c]
    assert len(rec) == 3 and rec.total == 3


def test_add_returns_an_immutable_record_with_its_fields() -> None:
    r = Recorder().add(2.0, "api", route="POST /x", status=200)
    assert r == Record(1, 2.0, "api", {"route": "POST /x", "status": 200})
    with pytest.raises(AttributeError):
        r.kind = "other"  # type: ignore[misc]


def test_of_kind_filters_and_keeps_order() -> None:
    rec = Recorder()
    rec.add(0, "push", n=1)
    rec.add(0, "ack", n=2)
    rec.add(0, "push", n=3)
    rec.add(0, "api", n=4)
    assert [r.fields["n"] for r in rec.of_kind("push")] == [1, 3]
    assert [r.fields["n"] for r in rec.of_kind("push", "api")] == [1, 3, 4]
    assert rec.of_kind("violation") == []


def test_violations_are_listed_separately() -> None:
    rec = Recorder()
    rec.add(0, "push")
    v = rec.add(1, "violation", reason="bad ack")
    assert rec.violations == [v]


def test_limit_keeps_only_the_newest_records_but_seq_keeps_counting() -> None:
    rec = Recorder(limit=3)
    for i in range(5):
        rec.add(float(i), "push", n=i)
    assert [r.fields["n"] for r in rec] == [2, 3, 4]
    assert [r.seq for r in rec] == [3, 4, 5]
    assert len(rec) == 3 and rec.total == 5


def test_limit_never_drops_violations() -> None:
    rec = Recorder(limit=2)
    first = rec.add(0, "violation", reason="first")
    for i in range(10):
        rec.add(float(i), "push", n=i)
    second = rec.add(11, "violation", reason="second")
    assert rec.violations == [first, second]
    assert first not in rec.records  # dropped from the log, still in violations
    assert [r.kind for r in rec] == ["push", "violation"]


def test_returned_lists_are_copies() -> None:
    rec = Recorder()
    rec.add(0, "violation", reason="x")
    rec.records.clear()
    rec.violations.clear()
    assert len(rec) == 1 and len(rec.violations) == 1


def test_iteration_is_safe_while_adding() -> None:
    rec = Recorder()
    rec.add(0, "push")
    for _ in rec:
        rec.add(1, "ack")
    assert len(rec) == 2


def test_to_dict_puts_seq_t_and_kind_first_and_rounds_t() -> None:
    r = Recorder().add(1.23456789, "ack", messageId="m1", code=200)
    d = r.to_dict()
    assert d == {"seq": 1, "t": 1.234568, "kind": "ack", "messageId": "m1", "code": 200}
    assert list(d) == ["seq", "t", "kind", "messageId", "code"]


def test_to_json_lines_is_one_object_per_line() -> None:
    rec = Recorder()
    rec.add(0.1, "push", topic="/v1.0/im/bot/messages/get", text="你好")
    rec.add(0.2, "ack", code=200)
    out = rec.to_json_lines()
    assert out.endswith("\n")
    lines = out.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"seq": 1, "t": 0.1, "kind": "push", "topic": "/v1.0/im/bot/messages/get", "text": "你好"},
        {"seq": 2, "t": 0.2, "kind": "ack", "code": 200},
    ]
    assert "你好" in lines[0]  # kept readable, not \u-escaped


def test_to_json_lines_of_chosen_records_and_of_nothing() -> None:
    rec = Recorder()
    rec.add(0, "push", n=1)
    rec.add(0, "ack", n=2)
    assert rec.to_json_lines(rec.of_kind("ack")) == '{"seq": 2, "t": 0, "kind": "ack", "n": 2}\n'
    assert Recorder().to_json_lines() == ""


@pytest.mark.parametrize(
    ("kind", "arrow"),
    [
        ("push", ">"),
        ("redeliver", ">"),
        ("ack", "<"),
        ("api", "<"),
        ("webhook", "<"),
        ("connect", "<"),
        ("violation", "="),
        ("message", "="),
        ("card.update", "="),
    ],
)
def test_str_starts_with_the_direction_arrow(kind: str, arrow: str) -> None:
    assert str(Record(1, 0.0, kind, {})) == f"{arrow} +0.000s {kind} {{}}"


def test_str_shows_time_in_ms_and_sorted_fields() -> None:
    r = Record(7, 12.3456, "push", {"topic": "t", "messageId": "m1", "n": 2})
    assert str(r) == '> +12.346s push {"messageId": "m1", "n": 2, "topic": "t"}'


def test_unserialisable_values_are_recorded_as_their_str() -> None:
    r = Recorder().add(0.0, "violation", reason="x", frame=b"\x00")
    assert str(r) == '= +0.000s violation {"frame": "b\'\\\\x00\'", "reason": "x"}'


def test_add_later_makes_the_fields_when_first_read_and_cleans_them_as_add_does() -> None:
    made: list[int] = []

    def make(route: str, secret: str) -> dict[str, object]:
        made.append(1)
        return {"route": route, "request": {"appSecret": secret, "n": float("nan")}}

    rec = Recorder()
    later = rec.add_later(1.0, "api", make, "POST /x", "s3cret-value")
    assert made == [] and later.seq == 1 and rec.total == 1  # numbered and kept, not yet made
    eager = Recorder().add(
        1.0, "api", route="POST /x", request={"appSecret": "s3cret-value", "n": float("nan")}
    )
    assert later == eager and later.fields["request"]["appSecret"] == "s3cr…***"
    assert later.fields is later.fields and made == [1]  # made once


def test_a_record_whose_fields_cannot_be_made_still_reads() -> None:
    def make() -> dict[str, object]:
        raise ValueError("broken bytes")

    rec = Recorder().add_later(0.5, "api", make)
    assert rec.fields == {"unreadable": "ValueError: broken bytes"} and "unreadable" in str(rec)
