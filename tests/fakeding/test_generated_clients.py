"""The official generated OpenAPI client (``alibabacloud-dingtalk``, what most teams call DingTalk's
OpenAPI with) against the fake: its ``Config`` endpoint pointed at the fake, every route the fake
serves that the client covers answers in a shape its models parse with no field lost (a model
read from the answer writes back exactly what the fake sent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_dingtalk.card_1_0 import client as card_client
from alibabacloud_dingtalk.card_1_0 import models as card
from alibabacloud_dingtalk.im_1_0 import client as im_client
from alibabacloud_dingtalk.im_1_0 import models as im
from alibabacloud_dingtalk.oauth2_1_0 import client as oauth_client
from alibabacloud_dingtalk.oauth2_1_0 import models as oauth
from alibabacloud_dingtalk.robot_1_0 import client as robot_client
from alibabacloud_dingtalk.robot_1_0 import models as robot
from alibabacloud_tea_openapi import models as open_api
from alibabacloud_tea_util import models as util

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing

GROUP = "cidGeneratedClients=="
RUNTIME = util.RuntimeOptions()


@pytest.fixture(scope="module")
def fake() -> Iterator[ThreadedFakeDing]:
    with ThreadedFakeDing() as server:
        yield server


@pytest.fixture
def config(fake: ThreadedFakeDing) -> open_api.Config:
    fake.reset()
    return open_api.Config(protocol="http", region_id="central", endpoint=fake.http_url.split("://", 1)[1])


@pytest.fixture
def token(config: open_api.Config) -> str:
    answer = oauth_client.Client(config).get_access_token(
        oauth.GetAccessTokenRequest(app_key=DEFAULT_CLIENT_ID, app_secret=DEFAULT_CLIENT_SECRET)
    )
    assert answer.status_code == 200
    return str(answer.body.access_token)


def sent(fake: ThreadedFakeDing, route: str) -> Any:
    """What the fake answered on ``route`` (the last such call)."""
    calls = [r for r in fake.timeline(["api"]) if r["route"] == route]
    assert calls, f"no call to {route}; routes called: {[r['route'] for r in fake.timeline(['api'])]}"
    assert calls[-1]["status"] == 200, calls[-1]
    return calls[-1]["response"]


def same(model_body: Any, fake: ThreadedFakeDing, route: str) -> None:
    """The model kept every field the fake sent."""
    assert model_body.to_map() == sent(fake, route)


def test_the_token_route_parses_whole(fake: ThreadedFakeDing, config: open_api.Config) -> None:
    answer = oauth_client.Client(config).get_access_token(
        oauth.GetAccessTokenRequest(app_key=DEFAULT_CLIENT_ID, app_secret=DEFAULT_CLIENT_SECRET)
    )
    recorded = sent(fake, "POST /v1.0/oauth2/accessToken")  # the token itself is masked there
    assert set(answer.body.to_map()) == set(recorded) == {"accessToken", "expireIn"}
    assert answer.body.expire_in == recorded["expireIn"] and answer.body.access_token


def test_robot_messages_and_file_downloads(
    fake: ThreadedFakeDing, config: open_api.Config, token: str
) -> None:
    client = robot_client.Client(config)
    oto = client.batch_send_otowith_options(
        robot.BatchSendOTORequest(
            robot_code=DEFAULT_CLIENT_ID,
            user_ids=["alice", "bob"],
            msg_key="sampleText",
            msg_param=json.dumps({"content": "hi"}),
        ),
        robot.BatchSendOTOHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(oto.body, fake, "POST /v1.0/robot/oToMessages/batchSend")
    assert oto.body.process_query_key
    group = client.org_group_send_with_options(
        robot.OrgGroupSendRequest(
            robot_code=DEFAULT_CLIENT_ID,
            open_conversation_id=GROUP,
            msg_key="sampleMarkdown",
            msg_param=json.dumps({"title": "T", "text": "**hi**"}),
        ),
        robot.OrgGroupSendHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(group.body, fake, "POST /v1.0/robot/groupMessages/send")
    assert [line["text"] for line in fake.transcript(GROUP)] == ["**hi**"]
    fake.send_message(msgtype="file", conversation_id=GROUP)  # a user sends a file
    code = _download_code(fake)
    download = client.robot_message_file_download_with_options(
        robot.RobotMessageFileDownloadRequest(download_code=code, robot_code=DEFAULT_CLIENT_ID),
        robot.RobotMessageFileDownloadHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(download.body, fake, "POST /v1.0/robot/messageFiles/download")
    assert download.body.download_url.startswith(fake.http_url)


def _download_code(fake: ThreadedFakeDing) -> str:
    codes = fake.call(lambda: list(fake.fake.platform.files))
    assert codes, "the file message left no downloadCode"
    return str(codes[-1])


def test_card_instances_streaming_and_callbacks(
    fake: ThreadedFakeDing, config: open_api.Config, token: str
) -> None:
    client = card_client.Client(config)
    create = client.create_card_with_options(
        card.CreateCardRequest(
            card_template_id="template-1.schema",
            out_track_id="track-1",
            callback_type="STREAM",
            card_data=card.CreateCardRequestCardData(card_param_map={"content": "", "title": "T"}),
            im_group_open_space_model=card.CreateCardRequestImGroupOpenSpaceModel(support_forward=True),
        ),
        card.CreateCardHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(create.body, fake, "POST /v1.0/card/instances")
    deliver = client.deliver_card_with_options(
        card.DeliverCardRequest(
            out_track_id="track-1",
            open_space_id=f"dtv1.card//IM_GROUP.{GROUP}",
            im_group_open_deliver_model=card.DeliverCardRequestImGroupOpenDeliverModel(
                robot_code=DEFAULT_CLIENT_ID
            ),
        ),
        card.DeliverCardHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(deliver.body, fake, "POST /v1.0/card/instances/deliver")
    streaming = client.streaming_update_with_options(
        card.StreamingUpdateRequest(
            out_track_id="track-1",
            guid="g-1",
            key="content",
            content="partial answer",
            is_full=True,
            is_finalize=False,
            is_error=False,
        ),
        card.StreamingUpdateHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(streaming.body, fake, "PUT /v1.0/card/streaming")
    update = client.update_card_with_options(
        card.UpdateCardRequest(
            out_track_id="track-1",
            card_data=card.UpdateCardRequestCardData(card_param_map={"content": "final"}),
            card_update_options=card.UpdateCardRequestCardUpdateOptions(update_card_data_by_key=True),
        ),
        card.UpdateCardHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(update.body, fake, "PUT /v1.0/card/instances")
    both = client.create_and_deliver_with_options(
        card.CreateAndDeliverRequest(
            card_template_id="template-1.schema",
            out_track_id="track-2",
            card_data=card.CreateAndDeliverRequestCardData(card_param_map={"content": "hi"}),
            open_space_id=f"dtv1.card//IM_GROUP.{GROUP}",
            im_group_open_space_model=card.CreateAndDeliverRequestImGroupOpenSpaceModel(support_forward=True),
            im_group_open_deliver_model=card.CreateAndDeliverRequestImGroupOpenDeliverModel(
                robot_code=DEFAULT_CLIENT_ID
            ),
        ),
        card.CreateAndDeliverHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(both.body, fake, "POST /v1.0/card/instances/createAndDeliver")
    assert both.body.result.deliver_results[0].success is True
    register = client.register_callback_with_options(
        card.RegisterCallbackRequest(
            callback_route_key="route-1",
            api_secret="s3cret-value",
            callback_url="http://127.0.0.1:9/callback",
        ),
        card.RegisterCallbackHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    recorded = sent(fake, "POST /v1.0/card/callbacks/register")  # apiSecret masked there
    parsed = register.body.to_map()
    assert parsed["result"].pop("apiSecret") == "s3cret-value"
    assert recorded["result"].pop("apiSecret") != "s3cret-value"
    assert parsed == recorded
    cards = {c["cardBizId"]: c for c in fake.cards()}
    versions = [(v["via"], v["cardData"]["content"]) for v in cards["track-1"]["versions"]]
    assert versions == [("create", ""), ("deliver", ""), ("stream", "partial answer"), ("update", "final")]
    assert cards["track-2"]["conversationId"] == GROUP
    fake.check()


def test_interactive_cards_send_and_update(
    fake: ThreadedFakeDing, config: open_api.Config, token: str
) -> None:
    client = im_client.Client(config)
    data = {
        "config": {"autoLayout": True},
        "header": {"title": {"type": "text", "text": "Q"}},
        "contents": [{"type": "markdown", "text": "thinking…", "id": "m"}],
    }
    send = client.send_robot_interactive_card_with_options(
        im.SendRobotInteractiveCardRequest(
            card_template_id="StandardCard",
            open_conversation_id=GROUP,
            card_biz_id="biz-9",
            robot_code=DEFAULT_CLIENT_ID,
            card_data=json.dumps(data),
            send_options=im.SendRobotInteractiveCardRequestSendOptions(at_all=False),
        ),
        im.SendRobotInteractiveCardHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(send.body, fake, "POST /v1.0/im/v1.0/robot/interactiveCards/send")
    data["contents"][0]["text"] = "the answer"
    update = client.update_robot_interactive_card_with_options(
        im.UpdateRobotInteractiveCardRequest(card_biz_id="biz-9", card_data=json.dumps(data)),
        im.UpdateRobotInteractiveCardHeaders(x_acs_dingtalk_access_token=token),
        RUNTIME,
    )
    same(update.body, fake, "PUT /v1.0/im/robots/interactiveCards")
    (shown,) = [c for c in fake.cards() if c["cardBizId"] == "biz-9"]
    assert len(shown["versions"]) == 2
    fake.check()
