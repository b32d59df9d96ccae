"""The control API against its OpenAPI document, both ways: every route the server has is
documented, and every documented route answers its example in the documented shape."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import requests
import yaml

from fakeding import ThreadedFakeDing
from fakeding.core.control_spec import ROUTES, document
from tests.fakeding.card_helpers import sdk_client


def _served(fake: ThreadedFakeDing) -> dict[str, Any]:
    response = requests.get(fake.http_url + "/_fakeding/openapi.json", timeout=5)
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def test_the_served_document_is_openapi_3_and_matches_the_table(fakeding: ThreadedFakeDing) -> None:
    doc = _served(fakeding)
    assert doc == json.loads(json.dumps(document()))
    assert doc["openapi"].startswith("3.")
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"], (method, path)
            for answer in op["responses"].values():
                (media,) = answer["content"].values()
                jsonschema.Draft202012Validator.check_schema(media["schema"])


def test_every_control_route_of_the_server_is_documented(fakeding: ThreadedFakeDing) -> None:
    app = fakeding.fake.web_app
    assert app is not None
    served = {
        (r.method, str(r.resource.canonical))
        for r in app.router.routes()
        if r.resource is not None
        and str(r.resource.canonical).startswith("/_fakeding/")
        and r.method != "HEAD"
    }
    documented = {
        (method.upper(), path) for path, ops in _served(fakeding)["paths"].items() for method in ops
    }
    assert served - documented == set(), "routes without documentation"
    assert documented - served == set(), "documented routes the server lacks"


def _make_example_card(fake: ThreadedFakeDing) -> None:
    """The card the click example names: an interactive card with a request button 'yes'."""
    card = {
        "config": {"autoLayout": True},
        "contents": [
            {
                "type": "action",
                "actions": [
                    {
                        "type": "button",
                        "label": {"type": "text", "text": "Yes"},
                        "actionType": "request",
                        "id": "yes",
                        "value": "{}",
                    }
                ],
            }
        ],
    }
    answer = requests.post(
        fake.http_url + "/v1.0/im/v1.0/robot/interactiveCards/send",
        headers={"x-acs-dingtalk-access-token": sdk_client().get_access_token()},
        json={
            "cardTemplateId": "StandardCard",
            "openConversationId": "cidExample",
            "cardBizId": "card-example",
            "robotCode": "fakeding-client",
            "cardData": json.dumps(card),
        },
        timeout=5,
    )
    assert answer.status_code == 200, answer.text


def _content(answer: requests.Response, media: str) -> Any:
    """The answer's content as the document describes it (the first event of a stream)."""
    if media == "text/event-stream":
        for line in answer.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                return json.loads(line[len("data: ") :])
        raise AssertionError("the event stream ended without an event")
    if media == "application/yaml":
        return yaml.safe_load(answer.text)
    if media == "application/json":
        return answer.json()
    return answer.text


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_documented_route_answers_in_its_documented_shape(fakeding: ThreadedFakeDing, route: Any) -> None:
    _make_example_card(fakeding)
    op = _served(fakeding)["paths"][route.path][route.method.lower()]
    path = route.path
    query: dict[str, str] = {}
    for p in op.get("parameters", []):
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", p["example"])
        else:
            query[p["name"]] = p["example"]
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "schema" in body and "example" in body:
        jsonschema.validate(body["example"], body["schema"])
    ((media, documented),) = op["responses"]["200"]["content"].items()
    answer = requests.request(
        route.method, fakeding.http_url + path, params=query, json=body.get("example"), timeout=5, stream=True
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith(media)
    jsonschema.validate(_content(answer, media), documented["schema"])
    answer.close()
    if "x-bad-example" in op:
        refused = requests.request(
            route.method, fakeding.http_url + path, params=query, json=op["x-bad-example"], timeout=5
        )
        assert refused.status_code == 400, refused.text
        jsonschema.validate(refused.json(), op["responses"]["400"]["content"]["application/json"]["schema"])
    else:
        assert "400" not in op["responses"]
    fakeding.reset()  # the example click and message wait for a robot that is not there


def test_patched_settings_take_effect_now_and_keep_the_run(fakeding: ThreadedFakeDing) -> None:
    base = fakeding.http_url + "/_fakeding/settings"
    token = sdk_client().get_access_token()
    changed = requests.patch(base, json={"qps_limit": 1}, timeout=5).json()
    assert changed["qps_limit"] == 1 and requests.get(base, timeout=5).json() == changed
    assert fakeding.timeline(["api"]), "the token call before the change is still recorded"
    route = fakeding.http_url + "/v1.0/robot/groupMessages/send"
    body = {
        "robotCode": "fakeding-client",
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "hi"}),
        "openConversationId": "cidQps",
    }
    headers = {"x-acs-dingtalk-access-token": token}
    first = requests.post(route, json=body, headers=headers, timeout=5)
    second = requests.post(route, json=body, headers=headers, timeout=5)
    assert first.status_code == 200
    assert second.status_code == 403
    assert second.json()["code"] == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"


def test_settings_errors_name_the_setting(fakeding: ThreadedFakeDing) -> None:
    base = fakeding.http_url + "/_fakeding/settings"
    for body, field, word in [
        ({"host": "0.0.0.0"}, "host", "no such setting"),
        ({"token_ttl": None}, "token_ttl", "cannot be switched off"),
        ({"max_redeliveries": 1.5}, "max_redeliveries", "whole number"),
    ]:
        answer = requests.patch(base, json=body, timeout=5)
        assert answer.status_code == 400 and answer.json()["field"] == field
        assert word in answer.json()["error"]
