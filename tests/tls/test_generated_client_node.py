"""The official generated OpenAPI client for Node (npm ``@alicloud/dingtalk``, from a committed
lockfile), unmodified, against ``fakeding serve --tls``: over HTTPS with the fake's CA (from
``/_fakeding/env?lang=node``) and its ``Config`` endpoint pointed at the fake (its HTTP layer
ignores proxies), every route the fake serves that it covers answers in a shape its models parse
with no field lost."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.node_install import npm_ci

from .serving import ROOT, clean_env, serve_tls
from .test_node_sdk import node_binary

CLIENT_DIR = ROOT / "tests" / "node" / "alicloud"
GROUP = "cidNodeGenerated=="


def test_the_node_generated_client_parses_every_answer_whole(ca_dir: Path) -> None:
    npm_ci(CLIENT_DIR)
    with serve_tls(ca_dir, "--proxy-port", "0") as fake:
        env = clean_env({**fake.env_for("node")["env"], "DINGTALK_ENDPOINT": fake.url.split("://", 1)[1]})
        done = subprocess.run(
            [str(node_binary()), "calls.cjs", "fakeding-client", "fakeding-secret", GROUP],
            cwd=CLIENT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        parsed: dict[str, Any] = json.loads(done.stdout)
        answers = {
            r["route"]: r["response"] for r in fake.control("GET", "timeline?kind=api") if r["status"] == 200
        }
        cards = {c["cardBizId"]: c for c in fake.control("GET", "cards")}
        violations = fake.control("GET", "violations")
    assert len(parsed) == 8
    for route, model in parsed.items():
        sent = answers[route]
        if route == "POST /v1.0/oauth2/accessToken":  # the token is masked in the record
            assert set(model) == set(sent) and model["expireIn"] == sent["expireIn"]
            continue
        assert model == sent, route
    versions = [v["cardData"]["content"] for v in cards["node-ai-1"]["versions"]]
    assert versions == ["", "", "streamed", "final"][-len(versions) :] and versions[-1] == "final"
    assert len(cards["node-card-1"]["versions"]) == 2
    assert violations == []
