"""The parity ledger: every OpenAPI route and Stream topic the official SDKs use, and how far
the fake serves it. ``python -m fakeding.parity`` writes ``docs/PARITY.md`` from ``ROWS``;
``--check`` exits 1 when the file is stale. A test holds the table against the running server
(every route it serves has a row marked implemented, and every such row a route) and against
the topics the Stream engine pushes.

Facts about the SDKs come from the protocol reference (Python 0.24.3, Node 2.1.5, Go v0.9.1,
Java 1.3.13); "tested through" names the clients this repository's tests drive it with.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PY, NODE, GO, JAVA, TEA = "Python", "Node", "Go", "Java", "robots (OpenAPI SDK)"
TOOLS = "alerting and CI tools (custom group robot)"
SDK_PY, HTTP, RAW_WS = "Python SDK", "HTTP (requests)", "raw websocket"
GEN_PY = "alibabacloud-dingtalk (generated client)"
GEN_NODE = "@alicloud/dingtalk (generated client, Node)"
DOC = Path(__file__).resolve().parents[1] / "docs" / "PARITY.md"


@dataclass(frozen=True)
class Row:
    kind: str  # "route" | "topic"
    what: str  # "POST /v1.0/..." or "CALLBACK /v1.0/..."
    host: str  # api | oapi | handed out | stream
    used_by: tuple[str, ...]
    implemented: bool
    tested: tuple[str, ...]
    differences: str = ""

    @property
    def method_path(self) -> tuple[str, str]:
        method, _, path = self.what.partition(" ")
        return method, path


LIMIT_1KB = (
    "the docs' 1 KB cardParamMap value (create/update docs) vs DingTalk's own AI-card "
    "example, which sends larger chart values (open-dingtalk/dingtalk-card-examples, "
    "'AI 卡片同时更新普通变量和流式变量'): a warning, refused only with strict_limits"
)

ROWS: tuple[Row, ...] = (
    Row(
        "route",
        "POST /v1.0/gateway/connections/open",
        "api",
        (PY, NODE, GO, JAVA),
        True,
        (SDK_PY, HTTP),
        "the advertised endpoint is ws:// unless TLS mode says otherwise",
    ),
    Row("route", "POST /v1.0/oauth2/accessToken", "api", (PY, TEA), True, (SDK_PY, HTTP, GEN_PY, GEN_NODE)),
    Row(
        "route",
        "GET /gettoken",
        "oapi",
        (NODE,),
        True,
        (HTTP,),
        "errors are errcode 40089 on HTTP 200, as observed",
    ),
    Row(
        "route",
        "POST /media/upload",
        "oapi",
        (PY,),
        True,
        (SDK_PY, HTTP),
        "the SDK hard-codes https://oapi.dingtalk.com, so it needs TLS mode (tested through "
        "the proxy with extract_image_from_incoming_message); one size limit (media_max_bytes) "
        "for every type; error errcodes partly a modelling choice",
    ),
    Row(
        "route",
        "POST /robot/sendBySession",
        "handed out",
        (PY, NODE, GO, JAVA),
        True,
        (SDK_PY, HTTP),
        "msgtypes of the custom-robot webhook; 20/min per robot (errcode 130101)",
    ),
    Row(
        "route",
        "POST /robot/send",
        "oapi",
        (TOOLS,),
        True,
        (HTTP,),
        "the custom group robot: keywords, signature (one-hour window) and IP allowlist; "
        "errcodes as users quote them: 300001 token is not exist, 310000 sign not match / "
        "invalid timestamp / keywords not in content / ip not in whitelist, 130101 over 20 a "
        "minute (then blocked 10 min), 40035 bad body; which part of a message keywords are "
        "looked for in, and the check order, are modelling choices",
    ),
    Row(
        "route",
        "POST /v1.0/im/v1.0/robot/interactiveCards/send",
        "api",
        (PY, TEA),
        True,
        (SDK_PY, HTTP, GEN_PY, GEN_NODE),
    ),
    Row(
        "route",
        "PUT /v1.0/im/robots/interactiveCards",
        "api",
        (PY, TEA),
        True,
        (SDK_PY, HTTP, GEN_PY, GEN_NODE),
    ),
    Row(
        "route",
        "POST /v1.0/card/instances",
        "api",
        (PY, TEA),
        True,
        (SDK_PY, HTTP, GEN_PY),
        "without registered templates any cardTemplateId exists and keys are not checked; with "
        "them (serve --templates, PUT /_fakeding/templates/{id}) an unknown id is 400 "
        "param.templateNotExist (the create-card doc's error list: open.dingtalk.com "
        "create-card-instances / create-and-deliver-cards), and keys the template does not "
        "declare are violations, not refusals (the platform answers 200 and the card is "
        "blank: msgContent-vs-content field reports); " + LIMIT_1KB,
    ),
    Row(
        "route",
        "PUT /v1.0/card/instances",
        "api",
        (PY, TEA),
        True,
        (SDK_PY, HTTP, GEN_PY, GEN_NODE),
        LIMIT_1KB,
    ),
    Row("route", "POST /v1.0/card/instances/deliver", "api", (PY, TEA), True, (SDK_PY, HTTP, GEN_PY)),
    Row(
        "route",
        "POST /v1.0/card/instances/createAndDeliver",
        "api",
        (PY, TEA),
        True,
        (SDK_PY, HTTP, GEN_PY, GEN_NODE),
        "templates and limits as POST /v1.0/card/instances",
    ),
    Row(
        "route",
        "PUT /v1.0/card/streaming",
        "api",
        (PY, TEA),
        True,
        (SDK_PY, HTTP, GEN_PY, GEN_NODE),
        "with a registered template, a key it does not declare or that is not markdown, and "
        "finishing/failing where it has no such state, are violations (field reports: "
        "zfanswer/dify-on-dingtalk#2, chzealot/dingtalk-dify-connector#3); the docs' 3 KB "
        "total (streaming-update doc) vs longer answers in DingTalk's own examples "
        "(open-dingtalk/dingtalk-card-examples): a warning; the docs' "
        "param.stream.contentEmpty vs DingTalk's own example ('AI 卡片同时更新普通变量和流式变量"
        "/python/index.py' streams content '' to switch the card to inputting): accepted "
        "with a warning, and the card is drawn inputting; strict_limits refuses both",
    ),
    Row(
        "route",
        "POST /v1.0/robot/oToMessages/batchSend",
        "api",
        (TEA,),
        True,
        (HTTP, GEN_PY, GEN_NODE),
        "media ids in msgParam must come from /media/upload",
    ),
    Row("route", "POST /v1.0/robot/groupMessages/send", "api", (TEA,), True, (HTTP, GEN_PY, GEN_NODE)),
    Row("route", "POST /v1.0/robot/messageFiles/download", "api", (PY, TEA), True, (SDK_PY, GEN_PY)),
    Row(
        "route",
        "GET /_files/{code}",
        "handed out",
        (PY,),
        True,
        (SDK_PY,),
        "the downloadUrl the fake hands out; no expiry",
    ),
    Row(
        "route",
        "POST /v1.0/innerApi/robot/stream/away/template/update",
        "api",
        (PY,),
        True,
        (SDK_PY,),
        "undocumented inner API: the answer {success, result} is a modelling choice; "
        "the prompt is kept, never shown to users",
    ),
    Row(
        "route",
        "POST /v1.0/card/callbacks/register",
        "api",
        (TEA,),
        True,
        (HTTP, GEN_PY),
        "callback URLs must be loopback; without apiSecret one is generated",
    ),
    Row(
        "topic",
        "CALLBACK /v1.0/im/bot/messages/get",
        "stream",
        (PY, NODE, GO, JAVA),
        True,
        (SDK_PY, RAW_WS),
        "an app with a callback URL gets these POSTed instead (HTTP mode)",
    ),
    Row(
        "topic",
        "CALLBACK /v1.0/card/instances/callback",
        "stream",
        (PY, NODE, GO, JAVA),
        True,
        (SDK_PY, RAW_WS),
        "cards with callbackType HTTP are POSTed to their registered route",
    ),
    Row(
        "topic",
        "CALLBACK /v1.0/graph/api/invoke",
        "stream",
        (PY, NODE, GO, JAVA),
        True,
        (SDK_PY,),
        "the request body carries the text and a session webhook, which accepts "
        "{contentType: ai_card, content}",
    ),
    Row(
        "topic",
        "EVENT *",
        "stream",
        (PY, NODE, GO, JAVA),
        True,
        (SDK_PY,),
        "event headers eventType/eventId/eventCorpId/eventBornTime/eventUnifiedAppId; an ack "
        "with status LATER or code != 200 is redelivered, not a violation",
    ),
    Row(
        "topic",
        "SYSTEM ping",
        "stream",
        (PY, NODE, GO, JAVA),
        True,
        (SDK_PY, RAW_WS),
        "off unless system_ping_interval is set",
    ),
    Row(
        "topic",
        "SYSTEM disconnect",
        "stream",
        (PY, NODE, GO, JAVA),
        True,
        (SDK_PY, RAW_WS),
        "sent by the disconnect fault; the socket closes disconnect_close_after s later",
    ),
)


def render(rows: Sequence[Row] = ROWS) -> str:
    lines = [
        "# Parity ledger",
        "",
        "Generated by `python -m fakeding.parity` from `fakeding/parity.py`; do not edit by "
        "hand (a test fails when this file is stale).",
        "",
        "Every OpenAPI route and Stream topic the official DingTalk SDKs (Python 0.24.3, Node "
        "2.1.5, Go v0.9.1, Java 1.3.13) or robots' generated OpenAPI clients use. *Tested "
        "through* names the clients this repository's tests drive the fake with.",
        "",
    ]
    for kind, title in (("route", "OpenAPI routes"), ("topic", "Stream topics")):
        lines += [
            f"## {title}",
            "",
            "| | host | used by | implemented | tested through | known differences |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            if r.kind == kind:
                lines.append(
                    f"| `{r.what}` | {r.host} | {', '.join(r.used_by)} | "
                    f"{'yes' if r.implemented else 'no'} | "
                    f"{', '.join(r.tested) or '—'} | {r.differences or '—'} |"
                )
        lines.append("")
    from fakeding.core.profiles import parity_lines

    lines += parity_lines()
    done = sum(r.implemented for r in rows)
    lines.append(f"{done} of {len(rows)} implemented.")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = render()
    if args == ["--check"]:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is stale; run: python -m fakeding.parity", file=sys.stderr)
            return 1
        return 0
    if args:
        print("usage: python -m fakeding.parity [--check]", file=sys.stderr)
        return 2
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
