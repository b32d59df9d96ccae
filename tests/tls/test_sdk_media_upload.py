"""The SDK's picture round trip, unmodified, against ``fakeding serve --tls --proxy-port 0``:
``extract_image_from_incoming_message`` downloads the user's picture and re-uploads it with
``upload_to_dingtalk``, which hard-codes ``https://oapi.dingtalk.com/media/upload``. The robot is a
child process that knows only what ``/_fakeding/env?lang=python`` hands out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

from .serving import child, clean_env, serve_tls

ROBOT = Path(__file__).with_name("picture_robot.py")


def test_a_picture_is_downloaded_reuploaded_and_sent_as_a_media_id(ca_dir: Path, tmp_path: Path) -> None:
    with serve_tls(ca_dir, "--proxy-port", "0") as fake:
        env = clean_env(
            {
                **fake.env_for("python")["env"],
                "DINGTALK_CLIENT_ID": "fakeding-client",
                "DINGTALK_CLIENT_SECRET": "fakeding-secret",
            }
        )
        assert "DINGTALK_OPENAPI_ENDPOINT" not in env
        with child([sys.executable, str(ROBOT)], env, tmp_path) as robot:
            robot.wait(lambda s: s == "endpoint https://api.dingtalk.com", "the live endpoint")
            fake.wait_for("connect", timeout=60)
            fake.control(
                "POST",
                "messages",
                {
                    "conversation": {"id": "cidPics", "type": "group", "title": "Pictures"},
                    "sender": {"staffId": "alice", "nick": "Alice"},
                    "msgtype": "picture",
                },
            )
            media_line = robot.wait(lambda s: s.startswith("media "), "the re-uploaded media ids", 60)
            sent = robot.wait(lambda s: s.startswith("sent "), "the group message", 60)
            ack = fake.wait_for("ack")
        assert ack["code"] == 200, ack
        (media_id,) = json.loads(media_line.removeprefix("media "))
        assert isinstance(media_id, str) and media_id.startswith("@"), media_line
        assert sent.startswith("sent 200 "), sent
        api = fake.control("GET", "timeline?kind=api")
        (upload,) = [r for r in api if r["route"] == "POST /media/upload"]
        assert upload["status"] == 200 and upload["response"]["media_id"] == media_id
        # The bytes uploaded are the picture the user sent: as many as its download serves.
        (download,) = [r for r in api if r["route"] == "POST /v1.0/robot/messageFiles/download"]
        url = download["response"]["downloadUrl"]
        picture = requests.get(url, verify=fake.ca, timeout=10).content
        assert picture and upload["request"]["bytes"] == len(picture)
        assert upload["request"]["filename"] == "image.png" and upload["request"]["type"] == "image"
        said = fake.control("GET", "conversations/cidPics")
        assert [e["text"] for e in said][-1] == "[image image.png]", said
        assert fake.control("GET", "violations") == []
