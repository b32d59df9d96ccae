"""``mode: "http"``: the platform POSTs each robot message to us, the way a serverless robot runs.

DingTalk signs each POST with headers ``timestamp`` (ms) and ``sign`` = Base64(HMAC-SHA256(
key=appSecret, msg=timestamp + "\\n" + appSecret)); a missing or wrong sign is refused with
401, a timestamp more than an hour off the wall clock (read afresh for every request) with 403.
The sign covers the timestamp only, so a captured one would carry any body for that hour: a
signature seen before is refused as a replay (409) unless it comes again within seconds for
another message (two messages signed in the same millisecond share it). A ``sessionWebhook``
must be on DingTalk's hosts or the configured endpoint, or the robot would POST its answer
wherever a body says. Bodies are read whole, up to ``MAX_BODY`` bytes (413 beyond), and parsed
strictly (``bot.core.strict_json``); every refusal is a JSON error. The answer
must come within the platform's time limit, so the handler only checks, claims the message in
the store and answers ``{}`` ("no reply now"); the cards and webhook replies follow from
background work, whose every step is a progress record in the store.

Card clicks (the feedback buttons) come over HTTP too: a robot without a Stream connection gets
no Stream card callbacks. At start-up the robot registers ``cardCallbackUrl`` (default: its own
address + ``<httpPath>card``) with ``POST /v1.0/card/callbacks/register`` (apiSecret: the app
secret); its cards then carry ``callbackUrl`` (interactive) or ``callbackType: HTTP`` and the
route key (AI cards). A click is signed with headers ``x-ddpaas-signature-timestamp`` (ms) and
``x-ddpaas-signature`` = Base64(HMAC-SHA256(key=apiSecret, msg=timestamp)); it is checked like
a message, recorded by the same ``FeedbackHandler.click`` as a Stream click and answered at
once (an AI card's "You rated ..." for the clicking user is in the answer).

Three ways to host it, sharing ``CallbackEndpoint`` (``http_endpoint``, no server in it):

* ``python -m bot run`` with ``mode: "http"``: ``HttpServer`` listens on
  ``listenHost:httpPort`` (path ``httpPath``) and the robot keeps its usual upkeep (owner
  lease, take-over of orphans, pruning);
* ``make_app(robot)``: an aiohttp application for any aiohttp host (gunicorn's aiohttp
  worker, ``aiohttp.web.run_app``);
* ``AsgiApp``: a plain ASGI callable for serverless platforms. An invocation sends its answer
  first and then, still inside the call, does the long work; afterwards it takes over what
  invocations that were killed or frozen left unfinished (their owner lease ran out), so no
  message stays on "thinking" as long as messages keep coming.

This module gathers the three (``http_endpoint``, ``http_aiohttp``, ``http_asgi``) under the name
deployments already use (``bot.im_robots.dingtalk_stream.http_mode:asgi_app``).
"""

from __future__ import annotations

from bot.im_robots.dingtalk_stream.http_aiohttp import HttpServer, make_app, read_whole, routes
from bot.im_robots.dingtalk_stream.http_asgi import AsgiApp, Receive, Scope, Send, asgi_app
from bot.im_robots.dingtalk_stream.http_endpoint import (
    BODY_TIMEOUT,
    CARD_SIGN,
    CARD_TIMESTAMP,
    DINGTALK_HOSTS,
    IDLE_TIMEOUT,
    MAX_BODY,
    MAX_SKEW,
    MAX_TIMESTAMP_DIGITS,
    REPLAY_MEMORY,
    REUSE_WINDOW,
    CallbackEndpoint,
    CallbackHost,
    Outcome,
    ReplayGuard,
    card_sign,
    check_card_signature,
    check_signature,
    expected_sign,
    webhook_refusal,
)

__all__ = [
    "BODY_TIMEOUT",
    "CARD_SIGN",
    "CARD_TIMESTAMP",
    "DINGTALK_HOSTS",
    "IDLE_TIMEOUT",
    "MAX_BODY",
    "MAX_SKEW",
    "MAX_TIMESTAMP_DIGITS",
    "REPLAY_MEMORY",
    "REUSE_WINDOW",
    "AsgiApp",
    "CallbackEndpoint",
    "CallbackHost",
    "HttpServer",
    "Outcome",
    "ReplayGuard",
    "Receive",
    "Scope",
    "Send",
    "asgi_app",
    "card_sign",
    "check_card_signature",
    "check_signature",
    "expected_sign",
    "make_app",
    "read_whole",
    "routes",
    "webhook_refusal",
]
