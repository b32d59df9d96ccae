"""The platform's rules, free of I/O: gateway, tickets, tokens, scopes, QPS and webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from fakeding.core.exceptions import ConfigError, OpenApiError
from fakeding.core.messages import Conversation, Sender
from fakeding.core.platform import ROUTE_SCOPES, Platform, Session
from fakeding.core.settings import ALL_SCOPES, Settings

CID, SECRET = "app1", "secret1"
BOT_SUB = {"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}
STREAMING = "/v1.0/card/streaming"


def _platform(**settings: Any) -> Platform:
    p = Platform(Settings(**settings))
    p.add_app(CID, SECRET)
    return p


def _gateway_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clientId": CID,
        "clientSecret": SECRET,
        "subscriptions": [BOT_SUB],
        "ua": "dingtalk-sdk-python/v0.24.3-union",
        "localIp": "10.0.0.5",
    }
    body.update(overrides)
    return body


def _error(fn: Any, *args: Any) -> OpenApiError:
    with pytest.raises(OpenApiError) as exc:
        fn(*args)
    return exc.value


# -- apps -----------------------------------------------------------------------------------------


def test_add_app_derives_stable_ids_from_the_client_id() -> None:
    a = Platform(Settings()).add_app(CID, SECRET)
    b = Platform(Settings(seed=99)).add_app(CID, "other")
    assert (a.app_id, a.chatbot_user_id) == (b.app_id, b.chatbot_user_id)
    assert a.robot_code == CID and a.scopes == ALL_SCOPES
    assert a.chatbot_user_id.startswith("$:LWCP_v1:$")


@pytest.mark.parametrize(("cid", "secret"), [("", "s"), ("c", "")])
def test_add_app_needs_id_and_secret(cid: str, secret: str) -> None:
    with pytest.raises(ConfigError, match="non-empty clientId and clientSecret"):
        Platform(Settings()).add_app(cid, secret)


def test_app_lookup_defaults_to_the_first_app_and_names_the_registered_apps() -> None:
    p = _platform()
    assert p.app(None).client_id == CID
    p.add_app("app2", "s2")
    assert p.app(None).client_id == CID
    assert p.app("app2").client_secret == "s2"
    with pytest.raises(ConfigError, match="no app is registered"):
        Platform(Settings()).app(None)
    with pytest.raises(ConfigError, match="no app with clientId 'nope'; registered: app1, app2"):
        p.app("nope")


# -- gateway --------------------------------------------------------------------------------------


def test_gateway_issues_a_url_safe_ticket() -> None:
    ticket = _platform().open_connection(0.0, _gateway_body())
    assert len(ticket) == 36 and all(c in "0123456789abcdef-" for c in ticket)


@pytest.mark.parametrize("body", [None, [], "x"])
def test_gateway_body_must_be_an_object(body: Any) -> None:
    err = _error(_platform().open_connection, 0.0, body)
    assert (err.status, err.code, err.message) == (400, "invalidParameter", "body must be a JSON object")


@pytest.mark.parametrize("name", ["clientId", "clientSecret"])
@pytest.mark.parametrize("value", [None, "", 5])
def test_gateway_credentials_are_required_strings(name: str, value: Any) -> None:
    body = _gateway_body(**{name: value})
    if value is None:
        del body[name]
    err = _error(_platform().open_connection, 0.0, body)
    assert (err.status, err.code) == (400, "invalidParameter")
    assert err.message == f"{name} is required and must be a non-empty string"


@pytest.mark.parametrize(("subs", "found"), [(None, "NoneType"), ({"type": "EVENT"}, "dict"), ("*", "str")])
def test_gateway_subscriptions_must_be_an_array(subs: Any, found: str) -> None:
    body = _gateway_body(subscriptions=subs)
    if subs is None:
        del body["subscriptions"]
    err = _error(_platform().open_connection, 0.0, body)
    assert (err.status, err.code) == (400, "invalidParameter")
    assert err.message == f"subscriptions must be an array, found {found}"


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "WEBHOOK", "topic": "x"},
        {"type": "CALLBACK"},
        {"type": "CALLBACK", "topic": 1},
        "CALLBACK",
        {"topic": "*"},
    ],
)
def test_gateway_each_subscription_needs_type_and_topic(bad: Any) -> None:
    err = _error(_platform().open_connection, 0.0, _gateway_body(subscriptions=[BOT_SUB, bad]))
    assert (err.status, err.code) == (400, "invalidParameter")
    assert err.message.startswith("subscriptions[1] must be {type: EVENT|CALLBACK|SYSTEM, topic:")
    assert repr(bad) in err.message


def test_gateway_event_topic_must_be_star() -> None:
    subs = [{"type": "EVENT", "topic": "chat_update_title"}]
    err = _error(_platform().open_connection, 0.0, _gateway_body(subscriptions=subs))
    assert (err.status, err.code) == (400, "invalidParameter")
    assert err.message == "subscriptions[0]: EVENT topic must be '*', found 'chat_update_title'"


def test_gateway_accepts_event_star_system_and_an_empty_list() -> None:
    p = _platform()
    subs = [{"type": "EVENT", "topic": "*"}, {"type": "SYSTEM", "topic": "ping"}, BOT_SUB]
    assert p.open_connection(0.0, _gateway_body(subscriptions=subs))
    assert p.open_connection(0.0, _gateway_body(subscriptions=[]))


@pytest.mark.parametrize(("cid", "secret"), [(CID, "wrong"), ("unknown", SECRET)])
def test_gateway_wrong_credentials_are_401_auth_failed(cid: str, secret: str) -> None:
    err = _error(_platform().open_connection, 0.0, _gateway_body(clientId=cid, clientSecret=secret))
    assert (err.status, err.code) == (401, "authFailed")
    assert err.message.startswith("鉴权失败")
    assert err.body("RID") == {"code": "authFailed", "message": err.message, "requestid": "RID"}


# -- tickets --------------------------------------------------------------------------------------


def test_ticket_gives_the_app_and_its_subscriptions() -> None:
    p = _platform()
    subs = [BOT_SUB, {"type": "CALLBACK", "topic": "/v1.0/card/instances/callback"}]
    ticket = p.open_connection(0.0, _gateway_body(subscriptions=subs))
    app, got = p.consume_ticket(1.0, ticket)
    assert app.client_id == CID and got == subs
    assert p.apps[CID].subscriptions == subs


def test_ticket_is_single_use() -> None:
    p = _platform()
    ticket = p.open_connection(0.0, _gateway_body())
    p.consume_ticket(0.0, ticket)
    err = _error(p.consume_ticket, 0.0, ticket)
    assert (err.status, err.code) == (401, "ticketUsed")
    assert "already used" in err.message


def test_each_gateway_call_gives_a_new_ticket() -> None:
    p = _platform()
    first = p.open_connection(0.0, _gateway_body())
    second = p.open_connection(0.0, _gateway_body())
    assert first != second
    p.consume_ticket(0.0, second)
    p.consume_ticket(0.0, first)


def test_ticket_expires_after_ticket_ttl() -> None:
    p = _platform(ticket_ttl=90.0)
    on_time = p.open_connection(10.0, _gateway_body())
    late = p.open_connection(10.0, _gateway_body())
    assert p.consume_ticket(100.0, on_time)[0].client_id == CID  # exactly 90 s: still valid
    err = _error(p.consume_ticket, 100.5, late)
    assert (err.status, err.code) == (401, "ticketExpired")
    assert err.message == "ticket expired 0.5 s ago (tickets live 90 s)"


def test_an_expired_ticket_cannot_be_retried() -> None:
    p = _platform(ticket_ttl=1.0)
    ticket = p.open_connection(0.0, _gateway_body())
    assert _error(p.consume_ticket, 5.0, ticket).code == "ticketExpired"
    assert _error(p.consume_ticket, 5.0, ticket).code == "ticketUsed"


@pytest.mark.parametrize(
    ("ticket", "message"),
    [
        (None, "the ticket query parameter is missing"),
        ("", "the ticket query parameter is missing"),
        ("not-a-ticket", "unknown ticket"),
    ],
)
def test_missing_or_unknown_ticket_is_invalid(ticket: str | None, message: str) -> None:
    err = _error(_platform().consume_ticket, 0.0, ticket)
    assert (err.status, err.code, err.message) == (401, "ticketInvalid", message)


def test_reset_keeps_apps_sessions_and_tokens_but_forgets_what_happened() -> None:
    p = _platform()
    ticket = p.open_connection(0.0, _gateway_body())
    p.consume_ticket(0.0, p.open_connection(0.0, _gateway_body()))
    token, _ = p.issue_token(0.0, CID, SECRET)
    p.note(0.0, "cidG", "user:alice", "text", "hi")
    p.reset()
    assert p.apps[CID].subscriptions == _gateway_body()["subscriptions"]
    assert p.consume_ticket(1.0, ticket)[0].client_id == CID  # an unused ticket still works
    assert p.authenticate(1.0, token).client_id == CID
    assert p.transcript == [] and len(p.recorder) == 0
    assert p.app(CID).client_secret == SECRET


def test_reset_with_sessions_forgets_tickets_tokens_and_subscriptions() -> None:
    p = _platform()
    ticket = p.open_connection(0.0, _gateway_body())
    p.consume_ticket(0.0, p.open_connection(0.0, _gateway_body()))
    token, _ = p.issue_token(0.0, CID, SECRET)
    p.reset(sessions=True)
    assert p.apps[CID].subscriptions == []
    assert _error(p.consume_ticket, 0.0, ticket).code == "ticketInvalid"
    assert _error(p.authenticate, 0.0, token).code == "InvalidAuthentication"
    assert p.app(CID).client_secret == SECRET


# -- tokens ---------------------------------------------------------------------------------------


def test_token_is_issued_for_two_hours() -> None:
    p = _platform()
    token, ttl = p.issue_token(0.0, CID, SECRET)
    assert ttl == 7200 and len(token) == 32
    assert p.authenticate(7199.9, token).client_id == CID


@pytest.mark.parametrize(("key", "secret"), [(CID, "wrong"), ("nope", SECRET), (None, None), (5, SECRET)])
def test_token_needs_the_right_credentials(key: Any, secret: Any) -> None:
    err = _error(_platform().issue_token, 0.0, key, secret)
    assert (err.status, err.code, err.message) == (
        400,
        "invalidClientIdOrSecret",
        "无效的clientId或者clientSecret",
    )


def test_token_asked_again_in_its_lifetime_is_the_same_and_extended() -> None:
    p = _platform(token_ttl=100.0)
    token, _ = p.issue_token(0.0, CID, SECRET)
    again, ttl = p.issue_token(60.0, CID, SECRET)
    assert again == token and ttl == 100
    assert p.authenticate(150.0, token).client_id == CID  # would have expired at 100 without
    assert _error(p.authenticate, 160.0, token).code == "InvalidAuthentication"


def test_expired_token_is_400_invalid_authentication_and_a_new_one_is_issued() -> None:
    p = _platform(token_ttl=100.0)
    token, _ = p.issue_token(0.0, CID, SECRET)
    err = _error(p.authenticate, 100.0, token)
    assert (err.status, err.code) == (400, "InvalidAuthentication")
    assert err.message == "不合法的access_token (expired)"
    fresh, _ = p.issue_token(100.0, CID, SECRET)
    assert fresh != token
    assert p.authenticate(100.0, fresh).client_id == CID


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "不合法的access_token (x-acs-dingtalk-access-token header missing)"),
        ("", "不合法的access_token (x-acs-dingtalk-access-token header missing)"),
        ("f" * 32, "不合法的access_token"),
    ],
)
def test_missing_or_unknown_token_is_invalid_authentication(token: str | None, message: str) -> None:
    err = _error(_platform().authenticate, 0.0, token)
    assert (err.status, err.code, err.message) == (400, "InvalidAuthentication", message)
    assert err.body("R") == {"code": "InvalidAuthentication", "message": message, "requestid": "R"}


def test_tokens_of_two_apps_are_distinct_and_authenticate_their_own_app() -> None:
    p = _platform()
    p.add_app("app2", "s2")
    t1, _ = p.issue_token(0.0, CID, SECRET)
    t2, _ = p.issue_token(0.0, "app2", "s2")
    assert t1 != t2
    assert p.authenticate(0.0, t1).client_id == CID
    assert p.authenticate(0.0, t2).client_id == "app2"


def test_expire_tokens_stops_only_that_apps_tokens() -> None:
    p = _platform()
    p.add_app("app2", "s2")
    t1, _ = p.issue_token(0.0, CID, SECRET)
    t2, _ = p.issue_token(0.0, "app2", "s2")
    assert p.expire_tokens(5.0, CID) == 1
    assert _error(p.authenticate, 5.0, t1).code == "InvalidAuthentication"
    assert p.authenticate(5.0, t2).client_id == "app2"
    assert p.expire_tokens(6.0) == 2
    assert _error(p.authenticate, 6.0, t2).code == "InvalidAuthentication"


# -- scopes ---------------------------------------------------------------------------------------


def test_missing_streaming_scope_is_500_unknown_error() -> None:
    p = _platform()
    app = p.add_app("narrow", "s", scopes=ALL_SCOPES - {"Card.Streaming.Write"})
    err = _error(p.check_scope, app, STREAMING)
    assert (err.status, err.code) == (500, "unknownError")
    assert "Card.Streaming.Write" in err.message
    p.check_scope(app, "/v1.0/card/instances")  # other card routes need another scope


@pytest.mark.parametrize("path", sorted(p for p, s in ROUTE_SCOPES.items() if s == "qyapi_robot_sendmsg"))
def test_missing_robot_send_scope_is_403_permission_denied(path: str) -> None:
    p = _platform()
    app = p.add_app("narrow", "s", scopes=ALL_SCOPES - {"qyapi_robot_sendmsg"})
    err = _error(p.check_scope, app, path)
    assert (err.status, err.code) == (403, "Forbidden.AccessDenied.AccessTokenPermissionDenied")
    assert "qyapi_robot_sendmsg" in err.message
    p.check_scope(app, STREAMING)


def test_scopes_are_not_checked_when_enforcement_is_off() -> None:
    p = _platform(enforce_scopes=False)
    app = p.add_app("none", "s", scopes=set())
    p.check_scope(app, STREAMING)
    p.check_scope(app, "/v1.0/robot/groupMessages/send")


def test_all_scopes_pass_every_route() -> None:
    p = _platform()
    for path in ROUTE_SCOPES:
        p.check_scope(p.app(CID), path)


# -- QPS ------------------------------------------------------------------------------------------


def test_twenty_calls_a_second_then_403_qps_limit() -> None:
    p = _platform()
    app = p.app(CID)
    for i in range(20):
        p.check_qps(i * 0.04, app, "PUT", STREAMING)
    err = _error(p.check_qps, 0.9, app, "PUT", STREAMING)
    assert (err.status, err.code) == (403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
    assert "more than 20 calls per second to PUT /v1.0/card/streaming" in err.message


def test_qps_recovers_once_the_window_has_passed() -> None:
    p = _platform()
    app = p.app(CID)
    for _ in range(20):
        p.check_qps(0.0, app, "PUT", STREAMING)
    assert _error(p.check_qps, 0.5, app, "PUT", STREAMING).code.endswith("QpsLimitForAppkeyAndApi")
    p.check_qps(1.0, app, "PUT", STREAMING)
    for _ in range(19):
        p.check_qps(1.0, app, "PUT", STREAMING)
    assert _error(p.check_qps, 1.5, app, "PUT", STREAMING).status == 403


def test_qps_is_per_app_and_per_api() -> None:
    p = _platform()
    other = p.add_app("app2", "s2")
    app = p.app(CID)
    for _ in range(20):
        p.check_qps(0.0, app, "PUT", STREAMING)
    p.check_qps(0.0, app, "PUT", "/v1.0/card/instances")
    p.check_qps(0.0, app, "POST", STREAMING)
    p.check_qps(0.0, other, "PUT", STREAMING)


def test_qps_limit_follows_settings_and_can_be_switched_off() -> None:
    p = _platform(qps_limit=2)
    app = p.app(CID)
    p.check_qps(0.0, app, "PUT", STREAMING)
    p.check_qps(0.0, app, "PUT", STREAMING)
    assert "more than 2 calls per second" in _error(p.check_qps, 0.0, app, "PUT", STREAMING).message
    unlimited = _platform(qps_limit=None)
    for _ in range(500):
        unlimited.check_qps(0.0, unlimited.app(CID), "PUT", STREAMING)


# -- session webhooks -----------------------------------------------------------------------------


def _session(p: Platform, t: float = 0.0, cid: str = "cidG1") -> Session:
    conv = p.conversation(cid, "group", "Support")
    return p.new_session(t, CID, conv, Sender("alice"))


def _text(content: str = "hi") -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}, "at": {"atUserIds": ["alice"]}}


def test_webhook_reply_is_ok_and_joins_the_transcript() -> None:
    p = _platform()
    s = _session(p, 0.0)
    session, out = p.webhook(1.0, s.key, _text("pong"))
    assert session is s and out == {"errcode": 0, "errmsg": "ok"}
    assert [(e.conversation_id, e.who, e.kind, e.text) for e in p.transcript] == [
        ("cidG1", "bot", "webhook:text", "pong")
    ]


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ({"msgtype": "markdown", "markdown": {"title": "T", "text": "**b**"}}, "**b**"),
        ({"msgtype": "actionCard", "actionCard": {"title": "T", "text": "card"}}, "card"),
        ({"msgtype": "link", "link": {"title": "L", "text": "x"}}, "L"),
        ({"msgtype": "feedCard", "feedCard": {"links": []}}, ""),
    ],
)
def test_webhook_accepts_each_custom_robot_msgtype(body: dict[str, Any], shown: str) -> None:
    p = _platform()
    _, out = p.webhook(0.0, _session(p).key, body)
    assert out["errcode"] == 0
    assert p.transcript[-1].text == shown


def test_webhook_session_expires_after_webhook_ttl() -> None:
    p = _platform(webhook_ttl=5400.0)
    s = _session(p, 10.0)
    assert p.webhook(5410.0, s.key, _text())[1]["errcode"] == 0
    session, out = p.webhook(5410.5, s.key, _text())
    assert session is s
    assert out["errcode"] == 300001 and out["errmsg"].startswith("session 不存在")


@pytest.mark.parametrize("key", [None, "", "0" * 32])
def test_webhook_unknown_session_is_300001(key: str | None) -> None:
    session, out = _platform().webhook(0.0, key, _text())
    assert session is None and out["errcode"] == 300001


def test_webhook_21st_message_in_a_minute_is_130101() -> None:
    p = _platform()
    s = _session(p)
    codes = [p.webhook(i * 2.0, s.key, _text(str(i)))[1]["errcode"] for i in range(21)]
    assert codes == [0] * 20 + [130101]
    assert p.webhook(40.0, s.key, _text())[1] == {
        "errcode": 130101,
        "errmsg": "send too fast, exceed 20 times per minute",
    }
    assert len(p.transcript) == 20  # throttled messages are not shown
    assert p.webhook(60.0, s.key, _text())[1]["errcode"] == 0  # the 0 s message left the window


def test_webhook_limit_is_per_robot_across_sessions() -> None:
    p = _platform()
    first, second = _session(p, cid="cidA"), _session(p, cid="cidB")
    for _ in range(20):
        assert p.webhook(0.0, first.key, _text())[1]["errcode"] == 0
    assert p.webhook(1.0, second.key, _text())[1]["errcode"] == 130101


def test_webhook_limit_can_be_switched_off() -> None:
    p = _platform(webhook_per_minute=None)
    s = _session(p)
    assert {p.webhook(0.0, s.key, _text())[1]["errcode"] for _ in range(50)} == {0}


@pytest.mark.parametrize("msgtype", [None, "image", "TEXT", 1])
def test_webhook_bad_msgtype_is_40035_naming_msgtype(msgtype: Any) -> None:
    p = _platform()
    body: dict[str, Any] = {"text": {"content": "x"}}
    if msgtype is not None:
        body["msgtype"] = msgtype
    _, out = p.webhook(0.0, _session(p).key, body)
    assert out["errcode"] == 40035
    assert out["errmsg"] == (
        f"不合法的参数 msgtype: expected one of text, markdown, actionCard, link, feedCard, found {msgtype!r}"
    )
    assert p.transcript == []


def test_webhook_msgtype_without_its_part_is_40035_naming_the_part() -> None:
    p = _platform()
    _, out = p.webhook(0.0, _session(p).key, {"msgtype": "markdown", "text": {"content": "x"}})
    assert out == {"errcode": 40035, "errmsg": "缺少参数 markdown"}


@pytest.mark.parametrize("body", [None, [], "text"])
def test_webhook_body_must_be_an_object(body: Any) -> None:
    p = _platform()
    _, out = p.webhook(0.0, _session(p).key, body)
    assert out["errcode"] == 40035 and "body must be an object" in out["errmsg"]


def test_invalid_webhook_messages_do_not_use_up_the_limit() -> None:
    p = _platform(webhook_per_minute=1)
    s = _session(p)
    for _ in range(3):
        assert p.webhook(0.0, s.key, {"msgtype": "bogus"})[1]["errcode"] == 40035
    assert p.webhook(0.0, s.key, _text())[1]["errcode"] == 0


# -- conversations --------------------------------------------------------------------------------


def test_conversation_is_reused_and_updated_when_its_title_changes() -> None:
    p = _platform()
    first = p.conversation("cid1", "group", "Old")
    assert p.conversation("cid1", "group", None) is first
    renamed = p.conversation("cid1", "group", "New")
    assert renamed == Conversation("cid1", "group", "New")
    assert p.conversations["cid1"] is renamed


def test_tickets_past_their_life_are_forgotten_so_a_flood_stays_bounded() -> None:
    p = _platform(ticket_ttl=90.0)
    for i in range(1000):
        p.open_connection(float(i) / 100, _gateway_body())  # unused, all within 10 s
    used = p.open_connection(10.0, _gateway_body())
    p.consume_ticket(10.0, used)
    assert len(p.tickets) == 1000 and len(p.used_tickets) == 1
    p.open_connection(400.0, _gateway_body())  # long after: everything older is dropped
    assert len(p.tickets) == 1 and p.used_tickets == {}
    assert _error(p.consume_ticket, 400.0, used).code == "ticketInvalid"


@pytest.mark.parametrize(("ttl", "kept"), [(2.0, [3, 4]), (100.0, [2, 3, 4])])
def test_history_limit_forgets_expired_sessions_then_the_oldest(ttl: float, kept: list[int]) -> None:
    p = _platform(history_limit=3, webhook_ttl=ttl)
    made = [_session(p, float(t)) for t in range(5)]
    p.trim(4.5)
    assert list(p.sessions) == [made[i].key for i in kept]
