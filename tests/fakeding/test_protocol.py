"""Stream frames the fake writes and the client acks it accepts (``fakeding.core.stream.protocol``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakeding.core.exceptions import ProtocolViolation
from fakeding.core.stream import protocol
from fakeding.core.stream.protocol import Ack, frame, parse_ack


def _frame(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "type": "CALLBACK",
        "topic": protocol.TOPIC_BOT_MESSAGE,
        "message_id": "5ad3_1_0abc",
        "time_ms": 1700000000123,
        "data": {"text": {"content": "你好"}, "n": 1, "ok": True},
    }
    kwargs.update(overrides)
    return frame(**kwargs)


# -- frame() --------------------------------------------------------------------------------------


def test_frame_has_spec_version_type_headers_and_data_only() -> None:
    f = _frame()
    assert set(f) == {"specVersion", "type", "headers", "data"}
    assert f["specVersion"] == "1.0"
    assert f["type"] == "CALLBACK"


def test_frame_headers_are_all_strings_including_time() -> None:
    f = _frame(app_id="app-1", connection_id="conn-1")
    assert f["headers"] == {
        "appId": "app-1",
        "connectionId": "conn-1",
        "contentType": "application/json",
        "messageId": "5ad3_1_0abc",
        "time": "1700000000123",
        "topic": "/v1.0/im/bot/messages/get",
    }
    assert all(isinstance(v, str) for v in f["headers"].values())


def test_frame_without_app_and_connection_ids_leaves_those_headers_out() -> None:
    headers = _frame(type="SYSTEM", topic="ping")["headers"]
    assert "appId" not in headers and "connectionId" not in headers
    assert headers["topic"] == "ping"


def test_frame_data_is_a_json_string_of_the_given_object() -> None:
    f = _frame()
    assert isinstance(f["data"], str)
    assert json.loads(f["data"]) == {"text": {"content": "你好"}, "n": 1, "ok": True}
    assert "你好" in f["data"]  # not \u-escaped, as the platform writes it


def test_frame_survives_a_json_round_trip_unchanged() -> None:
    f = _frame(app_id="a", connection_id="c")
    assert json.loads(json.dumps(f)) == f


@pytest.mark.parametrize("type_", ["SYSTEM", "EVENT", "CALLBACK"])
def test_frame_accepts_each_platform_type(type_: str) -> None:
    assert _frame(type=type_)["type"] == type_


@pytest.mark.parametrize("type_", ["callback", "MESSAGE", ""])
def test_frame_rejects_an_unknown_type_naming_it(type_: str) -> None:
    with pytest.raises(ValueError) as exc:
        _frame(type=type_)
    assert repr(type_) in str(exc.value)
    assert "SYSTEM" in str(exc.value)


# -- parse_ack(): what the Python SDK sends -------------------------------------------------------


def _sdk_ack(message_id: str = "5ad3_1_0abc", **overrides: Any) -> dict[str, Any]:
    """An ack as ``dingtalk_stream.AckMessage.to_dict()`` serialises it."""
    ack: dict[str, Any] = {
        "code": 200,
        "headers": {"contentType": "application/json", "messageId": message_id},
        "message": "OK",
        "data": json.dumps({"response": "OK"}),
    }
    ack.update(overrides)
    return ack


def test_parse_ack_reads_a_python_sdk_callback_ack() -> None:
    raw = _sdk_ack()
    ack = parse_ack(json.dumps(raw))
    assert ack == Ack(code=200, message_id="5ad3_1_0abc", message="OK", data={"response": "OK"}, raw=raw)


def test_parse_ack_reads_a_python_sdk_card_callback_ack_with_a_null_response() -> None:
    ack = parse_ack(json.dumps(_sdk_ack(message="", data=json.dumps({"response": None}))))
    assert ack.code == 200 and ack.message == ""
    assert ack.data == {"response": None}


def test_parse_ack_reads_an_error_code_ack() -> None:
    ack = parse_ack(json.dumps(_sdk_ack(code=404, message="not implement", data="{}")))
    assert (ack.code, ack.message, ack.data) == (404, "not implement", {})


def test_parse_ack_reads_a_ping_ack_echoing_opaque() -> None:
    ack = parse_ack(json.dumps(_sdk_ack(data=json.dumps({"opaque": "o-1"}))))
    assert ack.data == {"opaque": "o-1"}


def test_parse_ack_keeps_non_json_data_as_the_raw_string() -> None:
    assert parse_ack(json.dumps(_sdk_ack(data="done"))).data == "done"


@pytest.mark.parametrize("data", ["", None])
def test_parse_ack_treats_empty_or_null_data_as_empty_string(data: Any) -> None:
    assert parse_ack(json.dumps(_sdk_ack(data=data))).data == ""


def test_parse_ack_defaults_a_missing_message_and_data() -> None:
    ack = parse_ack(json.dumps({"code": 200, "headers": {"messageId": "m1"}}))
    assert (ack.message, ack.data, ack.message_id) == ("", "", "m1")


def test_parse_ack_ignores_extra_headers() -> None:
    ack = parse_ack(json.dumps(_sdk_ack(headers={"messageId": "m9", "time": "1", "x": "y"})))
    assert ack.message_id == "m9"


# -- parse_ack(): malformed input -----------------------------------------------------------------


def _violation(text: str | bytes) -> str:
    with pytest.raises(ProtocolViolation) as exc:
        parse_ack(text)
    return str(exc.value)


def test_parse_ack_rejects_a_binary_frame() -> None:
    message = _violation(json.dumps(_sdk_ack()).encode())
    assert "binary frame" in message


def test_parse_ack_rejects_text_that_is_not_json() -> None:
    message = _violation("{code: 200")
    assert "unparsable" in message and "JSON object" in message


@pytest.mark.parametrize(
    ("text", "found"), [("[1, 2]", "list"), ('"ok"', "str"), ("200", "int"), ("null", "NoneType")]
)
def test_parse_ack_rejects_json_that_is_not_an_object(text: str, found: str) -> None:
    assert _violation(text) == f"expected a JSON object, found {found}"


def test_parse_ack_rejects_a_missing_code() -> None:
    raw = _sdk_ack()
    del raw["code"]
    assert _violation(json.dumps(raw)) == "ack 'code' must be an integer, found None"


@pytest.mark.parametrize(("code", "shown"), [("200", "'200'"), (200.0, "200.0"), (True, "True")])
def test_parse_ack_rejects_a_code_that_is_not_an_integer(code: Any, shown: str) -> None:
    assert _violation(json.dumps(_sdk_ack(code=code))) == (f"ack 'code' must be an integer, found {shown}")


def test_parse_ack_rejects_missing_headers() -> None:
    raw = _sdk_ack()
    del raw["headers"]
    assert _violation(json.dumps(raw)) == "ack 'headers' must be an object, found None"


def test_parse_ack_rejects_a_missing_message_id() -> None:
    message = _violation(json.dumps(_sdk_ack(headers={"contentType": "application/json"})))
    assert message == "ack 'headers.messageId' must be a non-empty string, found None"


@pytest.mark.parametrize(("mid", "shown"), [("", "''"), (17, "17")])
def test_parse_ack_rejects_an_empty_or_non_string_message_id(mid: Any, shown: str) -> None:
    message = _violation(json.dumps(_sdk_ack(headers={"messageId": mid})))
    assert message == f"ack 'headers.messageId' must be a non-empty string, found {shown}"


def test_parse_ack_rejects_a_non_string_message() -> None:
    assert _violation(json.dumps(_sdk_ack(message=5))) == "ack 'message' must be a string, found 5"


@pytest.mark.parametrize(
    ("data", "found"), [({"response": "OK"}, "dict"), ([1], "list"), (7, "int"), (False, "bool")]
)
def test_parse_ack_rejects_data_that_is_not_a_string(data: Any, found: str) -> None:
    assert _violation(json.dumps(_sdk_ack(data=data))) == (
        f"ack 'data' must be a string holding JSON, found {found}"
    )
