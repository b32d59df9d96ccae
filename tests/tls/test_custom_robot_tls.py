"""An alerting tool that hard-codes ``https://oapi.dingtalk.com/robot/send`` reaches a custom
robot that ``serve --tls --config`` set up, through the proxy, knowing only its environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .serving import ROOT, clean_env, serve_tls

CONFIG = """
[[custom_robots]]
accessToken = "alert-token-0123456789"
conversationId = "cidOncall"
keywords = ["alert"]
name = "Alertmanager"
"""
TOOL = """
import json, requests
url = "https://oapi.dingtalk.com/robot/send?access_token=alert-token-0123456789"
ok = requests.post(url, json={"msgtype": "markdown",
                              "markdown": {"title": "alert: api down", "text": "#### 5xx"}},
                   timeout=10).json()
refused = requests.post(url, json={"msgtype": "text", "text": {"content": "hello"}},
                        timeout=10).json()
print(json.dumps([ok, refused]))
"""


def test_a_tool_posts_to_oapi_dingtalk_com_robot_send(ca_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "fakeding.toml"
    config.write_text(CONFIG)
    with serve_tls(ca_dir, "--proxy-port", "0", "--config", str(config)) as fake:
        banner = "\n".join(fake.lines.seen)
        assert "custom robot 'Alertmanager' in cidOncall" in banner
        assert "alert-token-0123456789" not in banner  # the token is shown by its prefix
        env = clean_env(fake.env_for("python")["env"])
        done = subprocess.run(
            [sys.executable, "-c", TOOL], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        ok, refused = json.loads(done.stdout)
        assert ok == {"errcode": 0, "errmsg": "ok"}
        assert refused == {"errcode": 310000, "errmsg": "keywords not in content"}
        (line,) = fake.control("GET", "conversations/cidOncall")
        assert line["kind"] == "custom:markdown" and line["text"] == "alert: api down\n#### 5xx"
