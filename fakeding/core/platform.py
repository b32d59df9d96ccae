"""The platform's state and rules, free of I/O: apps, tickets, tokens, session webhooks,
conversations and transcripts, rate limits and scopes.

Every method takes ``t`` (seconds since start) or reads nothing time-related at all; the
HTTP and websocket adapters pass the clock's reading in. Rule failures raise ``OpenApiError``
carrying the real platform's status and code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.callbacks import loopback_url
from fakeding.core.cards import CARD_ROUTES, Card, CardStore
from fakeding.core.cards.template_checks import limit_warnings, new_findings, template_findings
from fakeding.core.custom_robots import TOO_FAST, CustomRobot, CustomRobots, Post
from fakeding.core.exceptions import ConfigError, OpenApiError
from fakeding.core.faults import FaultPlan
from fakeding.core.ids import IdFactory, stable_ids
from fakeding.core.jsonsafe import echo
from fakeding.core.limits import WindowLimiter
from fakeding.core.messages import Conversation, Sender
from fakeding.core.record_kinds import RecordKind
from fakeding.core.recorder import Recorder
from fakeding.core.settings import ALL_SCOPES, Settings
from fakeding.core.templates.markdown import markdown_quirks
from fakeding.core.templates.registry import TemplateRegistry

SUBSCRIPTION_TYPES = ("EVENT", "CALLBACK", "SYSTEM")
WEBHOOK_MSGTYPES = ("text", "markdown", "actionCard", "link", "feedCard")
STREAMING_PATH = "/v1.0/card/streaming"

# Which permission scope each OpenAPI route needs: the card routes' own come from CARD_ROUTES.
MESSAGE_SCOPE_ROUTES = {
    "/v1.0/robot/oToMessages/batchSend": "qyapi_robot_sendmsg",
    "/v1.0/robot/groupMessages/send": "qyapi_robot_sendmsg",
}
ROUTE_SCOPES = {path: route.scope for (_, path), route in CARD_ROUTES.items()} | MESSAGE_SCOPE_ROUTES


# Every string ever set as some app's ``client_secret`` (by ``App.__setattr__``, which the
# dataclass's ``__init__`` goes through too): a superset of the registered apps' secrets, so a
# string not in it is no app's secret without looking at any app. Grows by rotation only.
_EVER_APP_SECRETS: set[str] = set()


@dataclass
class App:
    client_id: str
    client_secret: str
    app_id: str
    robot_code: str
    chatbot_user_id: str
    scopes: frozenset[str] = ALL_SCOPES
    subscriptions: list[dict[str, str]] = field(default_factory=list)
    # HTTP mode: robot messages are POSTed here instead of pushed over Stream (loopback only).
    callback_url: str | None = None
    # Set through the inner off-duty-prompt API: the card shown while the robot is offline.
    off_duty_prompt: dict[str, Any] | None = None
    # callbackRouteKey -> (apiSecret, callbackUrl) for cards created with callbackType HTTP.
    card_callbacks: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "client_secret" and isinstance(value, str):  # however set: add_app, a test...
            _EVER_APP_SECRETS.add(value)
            self.__dict__.setdefault("secrets_ever", set()).add(value)  # this app's, rotated too
        super().__setattr__(name, value)

    def describe(self) -> dict[str, Any]:
        """The app as the control API shows it (never its secret)."""
        return {
            "clientId": self.client_id,
            "appId": self.app_id,
            "robotCode": self.robot_code,
            "scopes": sorted(self.scopes),
            "callbackUrl": self.callback_url,
            "offDutyPrompt": self.off_duty_prompt,
            "cardCallbackRoutes": {k: url for k, (_, url) in self.card_callbacks.items()},
        }


@dataclass
class Session:
    key: str
    client_id: str
    conversation: Conversation
    sender: Sender
    expires_at: float
    msg_id: str | None = None  # the message whose session webhook this is


def session_tag(key: str | None) -> str | None:
    """A session webhook's key as records name it: enough to match a reply to its message,
    useless for posting (the key itself works as a credential)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12] if key else None


@dataclass
class TranscriptEntry:
    t: float
    conversation_id: str
    who: str  # "user:<staffId>" | "bot"
    kind: str  # text | picture | ... | markdown | card | webhook:<msgtype> | custom:<msgtype>
    text: str
    ref: str | None = None  # msgId for user messages, card id for cards
    data: dict[str, Any] | None = None  # custom robots: the message part and its @ list

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"t": round(self.t, 6), "who": self.who, "kind": self.kind, "text": self.text}
        if self.ref is not None:
            d["ref"] = self.ref
        if self.data is not None:
            d["data"] = self.data
        return d


class Apps(dict[str, App]):
    """The registered apps by clientId, remembering every secret any of them ever had (``ever``):
    records are masked when first read, maybe after an app was rotated, replaced or removed."""

    def __init__(self) -> None:
        super().__init__()
        self.ever: set[str] = set()

    def _retire(self, client_id: str) -> None:
        """Keep the secrets of the app under ``client_id`` (if any) as it is replaced or goes."""
        app = self.get(client_id)
        if app is not None:
            self.ever |= app.__dict__["secrets_ever"]

    def __setitem__(self, client_id: str, app: App) -> None:
        self._retire(client_id)
        self.ever |= app.__dict__["secrets_ever"]
        super().__setitem__(client_id, app)

    def __delitem__(self, client_id: str) -> None:
        self._retire(client_id)
        super().__delitem__(client_id)

    def pop(self, client_id: str, *default: Any) -> Any:
        self._retire(client_id)
        return super().pop(client_id, *default)

    def secret(self, value: str) -> bool:
        """Whether ``value`` is or was the secret of an app here."""
        if value in self.ever:
            return True
        for app in self.values():  # noqa: SIM110 (a plain loop: no generator per string)
            if value in app.__dict__["secrets_ever"]:  # rotated in place, as tests do
                return True
        return False


def _card_fields(
    card: str, version: int, via: str, conversation: str | None, user: str | None, flow: Any
) -> dict[str, Any]:
    """The fields of a ``card.send``/``card.update`` record."""
    return {
        "card": card,
        "version": version,
        "via": via,
        "conversation": conversation,
        "user": user,
        "flowStatus": flow,
    }


class Platform:
    def __init__(self, settings: Settings, *, incarnation: str = "") -> None:
        self.settings = settings
        self.apps = Apps()
        # Where the platform's servers listen; set by whoever binds them (``FakeDing.start``).
        self.http_url = ""
        self.ws_endpoint = ""
        self.ids = IdFactory(settings.seed, incarnation=incarnation)
        # Custom group robots are configuration, like apps: they outlive resets.
        self.custom_robots = CustomRobots(settings.webhook_per_minute)
        # Card templates: those loaded at start outlive resets (see TemplateRegistry).
        self.templates = TemplateRegistry()
        # Every token and ticket ever issued, across resets: records are masked when read,
        # which may be long after the tables of live ones have forgotten them.
        self.issued: set[str] = set()
        self.reset(first=True)

    # -- lifecycle ------------------------------------------------------------------------
    def reset(self, seed: int | None = None, *, sessions: bool = False, first: bool = False) -> None:
        """Forget what happened: records, cards, transcripts, conversations, webhook sessions,
        files, faults and rate windows. Registered apps stay; so do issued tokens, unused
        tickets and each app's subscriptions, so a connected robot keeps working, unless
        ``sessions`` is true: then tokens, tickets and subscriptions go too."""
        s = self.settings
        if not first:
            self.ids.renew(s.seed if seed is None else seed)
        # Listeners (live views) follow the platform across resets.
        self.recorder = Recorder(
            s.recorder_limit, getattr(self, "recorder", Recorder()).listeners, is_secret=self.is_secret
        )
        if not first:
            self.templates.reset()
        self.cards = CardStore(s, self.ids, self.templates)
        self.faults = FaultPlan()
        if first or sessions:
            self.tickets: dict[str, tuple[str, float, list[dict[str, str]]]] = {}
            self.used_tickets: dict[str, float] = {}  # ticket -> when it would have expired
            self.tokens: dict[str, tuple[str, float]] = {}
            for app in self.apps.values():
                app.subscriptions = []
        self.sessions: dict[str, Session] = {}
        self.conversations: dict[str, Conversation] = {}
        self.direct: dict[tuple[str, str], str] = {}  # (clientId, staffId) -> 1:1 conversation
        # group -> apps whose robot a user's message there was for (it is in that group), and
        # apps whose robot was added to it; groups, like conversations, are forgotten by resets
        self.members: dict[str, set[str]] = {}
        self.joined: dict[str, set[str]] = {}
        self.transcript: list[TranscriptEntry] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # downloadCode -> (file name, bytes)
        # media_id -> (clientId, type, file name, bytes), from the legacy /media/upload
        self.media: dict[str, tuple[str, str, str, bytes]] = {}
        self.qps = WindowLimiter(s.qps_limit, 1.0)
        self.route_qps = {route: WindowLimiter(n, 1.0) for route, n in s.qps_routes.items()}
        self.webhook_limit = WindowLimiter(s.webhook_per_minute, 60.0)
        self.custom_robots.use_limit(s.webhook_per_minute)
        self.metered = 0  # metered calls since the last reset (a run is a month's start)

    def use_settings(self, settings: Settings) -> None:
        """New rules from now on; what happened stays (rate windows restart if their limit moved)."""
        old, self.settings = self.settings, settings
        self.cards.use_settings(settings)
        if settings.qps_limit != old.qps_limit:
            self.qps = WindowLimiter(settings.qps_limit, 1.0)
        if settings.qps_routes != old.qps_routes:
            self.route_qps = {route: WindowLimiter(n, 1.0) for route, n in settings.qps_routes.items()}
        if settings.webhook_per_minute != old.webhook_per_minute:
            self.webhook_limit = WindowLimiter(settings.webhook_per_minute, 60.0)
            self.custom_robots.use_limit(settings.webhook_per_minute)

    def is_secret(self, value: str) -> bool:
        """Whether ``value`` is or was an app secret, an issued token or a ticket (never
        recorded). Once true, true for good: the recorder masks some records when read."""
        if value in self.issued:  # every token and ticket, live, used or long gone
            return True
        if value in self.custom_robots.secrets:
            return True
        if value not in _EVER_APP_SECRETS:  # the common case: every recorded string asks
            return False
        return self.apps.secret(value)

    def trim(self, t: float) -> None:
        """Apply ``history_limit``: forget the oldest cards, transcript lines and sessions."""
        limit = self.settings.history_limit
        if limit is None:
            return
        self.cards.trim(limit)
        if len(self.transcript) > limit:
            del self.transcript[: len(self.transcript) - limit]
        sessions = self.sessions
        if len(sessions) > limit:
            # Over the limit: the expired go, then the oldest. Sessions are kept in the order they
            # were made and all live ``webhook_ttl``, so the expired are the oldest: trimming from
            # the front is that rule at the cost of what it removes, not a scan of every session
            # (which cost each message O(history_limit) once the limit was reached).
            while sessions:
                oldest = next(iter(sessions))
                if len(sessions) <= limit and sessions[oldest].expires_at >= t:
                    break
                del sessions[oldest]

    def add_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        scopes: frozenset[str] | set[str] | None = None,
        robot_code: str | None = None,
        callback_url: str | None = None,
    ) -> App:
        if not client_id or not client_secret:
            raise ConfigError(
                f"an app needs a non-empty clientId and clientSecret, found {echo(client_id)}/***"
            )
        if callback_url is not None:
            callback_url = loopback_url(callback_url, "callbackUrl")
        # Ids derive from the clientId, not the run's seed, so they survive a reset.
        digest = stable_ids(client_id)
        app = App(
            client_id=client_id,
            client_secret=client_secret,
            app_id=digest.uuid(),
            robot_code=robot_code or client_id,
            chatbot_user_id="$:LWCP_v1:$" + digest.token()[:24],
            scopes=frozenset(scopes) if scopes is not None else ALL_SCOPES,
            callback_url=callback_url,
        )
        previous = self.apps.get(client_id)
        if previous is not None:  # re-registering keeps what the app set through the APIs
            app.off_duty_prompt, app.card_callbacks = previous.off_duty_prompt, previous.card_callbacks
        self.apps[client_id] = app
        return app

    def app(self, client_id: str | None) -> App:
        if client_id is None:
            if not self.apps:
                raise ConfigError("no app is registered; add one with add_app or --app")
            return next(iter(self.apps.values()))  # the first registered app is the default
        try:
            return self.apps[client_id]
        except KeyError:
            known = ", ".join(self.apps) or "none"
            raise ConfigError(f"no app with clientId {client_id!r}; registered: {known}") from None

    # -- gateway --------------------------------------------------------------------------
    def open_connection(self, t: float, body: Any) -> str:
        if not isinstance(body, dict):
            raise OpenApiError(400, "invalidParameter", "body must be a JSON object")
        for name in ("clientId", "clientSecret"):
            if not isinstance(body.get(name), str) or not body.get(name):
                raise OpenApiError(
                    400, "invalidParameter", f"{name} is required and must be a non-empty string"
                )
        subs = body.get("subscriptions")
        if not isinstance(subs, list):
            raise OpenApiError(
                400, "invalidParameter", f"subscriptions must be an array, found {type(subs).__name__}"
            )
        for i, sub in enumerate(subs):
            if (
                not isinstance(sub, dict)
                or sub.get("type") not in SUBSCRIPTION_TYPES
                or not isinstance(sub.get("topic"), str)
            ):
                raise OpenApiError(
                    400,
                    "invalidParameter",
                    f"subscriptions[{i}] must be {{type: EVENT|CALLBACK|SYSTEM, topic: string}}, "
                    f"found {echo(sub)}",
                )
            if sub["type"] == "EVENT" and sub["topic"] != "*":
                raise OpenApiError(
                    400,
                    "invalidParameter",
                    f"subscriptions[{i}]: EVENT topic must be '*', found {echo(sub['topic'])}",
                )
        app = self.apps.get(body["clientId"])
        if app is None or app.client_secret != body["clientSecret"]:
            raise OpenApiError(401, "authFailed", "鉴权失败 (clientId or clientSecret is wrong)")
        ticket = self.ids.ticket()
        self._drop_expired_tickets(t)
        self.tickets[ticket] = (app.client_id, t + self.settings.ticket_ttl, list(subs))
        self.issued.add(ticket)
        return ticket

    def _drop_expired_tickets(self, t: float) -> None:
        """Unused and used tickets past their life are forgotten (oldest first, so each call
        costs what it drops): a flood of gateway calls cannot grow memory without bound. A
        forgotten ticket is simply unknown, which is what an expired one is too."""
        for table in (self.tickets, self.used_tickets):
            while table:
                first = next(iter(table))
                entry = table[first]
                expires_at = entry[1] if isinstance(entry, tuple) else entry
                if expires_at >= t - self.settings.ticket_ttl:  # a grace period for late use
                    break
                del table[first]

    def consume_ticket(self, t: float, ticket: str | None) -> tuple[App, list[dict[str, str]]]:
        if not ticket:
            raise OpenApiError(401, "ticketInvalid", "the ticket query parameter is missing")
        if ticket in self.used_tickets:
            raise OpenApiError(
                401, "ticketUsed", "this ticket was already used; open a new connection for a new one"
            )
        entry = self.tickets.pop(ticket, None)
        if entry is None:
            raise OpenApiError(401, "ticketInvalid", "unknown ticket")
        client_id, expires_at, subs = entry
        self.used_tickets[ticket] = expires_at
        if t > expires_at:
            raise OpenApiError(
                401,
                "ticketExpired",
                f"ticket expired {t - expires_at:.1f} s ago (tickets live {self.settings.ticket_ttl:g} s)",
            )
        app = self.apps[client_id]
        app.subscriptions = subs
        return app, subs

    # -- tokens ---------------------------------------------------------------------------
    def issue_token(self, t: float, app_key: Any, app_secret: Any) -> tuple[str, int]:
        app = self.apps.get(app_key) if isinstance(app_key, str) else None
        if app is None or app.client_secret != app_secret:
            raise OpenApiError(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        ttl = self.settings.token_ttl
        for token, (owner, expires_at) in self.tokens.items():
            if owner == app.client_id and expires_at > t:
                self.tokens[token] = (owner, t + ttl)  # same token, extended, as documented
                return token, int(ttl)
        token = self.ids.token()
        self.tokens[token] = (app.client_id, t + ttl)
        self.issued.add(token)
        return token, int(ttl)

    def authenticate(self, t: float, token: str | None) -> App:
        if not token:
            raise OpenApiError(
                400,
                "InvalidAuthentication",
                "不合法的access_token (x-acs-dingtalk-access-token header missing)",
            )
        entry = self.tokens.get(token)
        if entry is None:
            raise OpenApiError(400, "InvalidAuthentication", "不合法的access_token")
        client_id, expires_at = entry
        if t >= expires_at:
            raise OpenApiError(400, "InvalidAuthentication", "不合法的access_token (expired)")
        return self.apps[client_id]

    def expire_tokens(self, t: float, client_id: str | None = None) -> int:
        n = 0
        for token, (owner, _) in list(self.tokens.items()):
            if client_id is None or owner == client_id:
                self.tokens[token] = (owner, t)
                n += 1
        return n

    def check_scope(self, app: App, path: str) -> None:
        if not self.settings.enforce_scopes:
            return
        scope = ROUTE_SCOPES.get(path)
        if scope is None or scope in app.scopes:
            return
        if scope.startswith("Card."):
            # Observed on the real platform: missing card scopes surface as 500 unknownError.
            raise OpenApiError(500, "unknownError", f"未知错误 (the app lacks scope {scope})")
        raise OpenApiError(
            403,
            "Forbidden.AccessDenied.AccessTokenPermissionDenied",
            f"没有调用该接口的权限 (the app lacks scope {scope})",
        )

    def meter(self, app: App, method: str, path: str) -> None:
        """Count one metered call against the organisation's monthly quota; past it, refuse as
        DingTalk does (a refused call is not counted)."""
        quota = self.settings.monthly_quota
        if quota is not None and self.metered >= quota:
            raise OpenApiError(
                403,
                "Forbidden.AccessDenied.ApiCountLimitForOrg",
                f"组织的接口调用次数已超出上限 (this organisation's {quota} metered calls a month "
                f"are used up, refused {method} {path} by app {app.client_id}): raise "
                f"monthly_quota, or make fewer calls per answer",
            )
        self.metered += 1
        if path == STREAMING_PATH and not self.settings.ai_card_streaming:
            raise OpenApiError(
                403,
                "Forbidden.AccessDenied.AccessTokenPermissionDenied",
                "AI卡片流式更新权限 is not enabled for this organisation (ai_card_streaming is "
                "off): enable the paid AI-card streaming permission, or update cards with "
                "PUT /v1.0/card/instances",
            )

    def check_qps(self, t: float, app: App, method: str, path: str) -> None:
        limiter = self.route_qps.get(f"{method} {path}", self.qps)
        if not limiter.allow((app.client_id, method, path), t):
            raise OpenApiError(
                403,
                "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                f"调用该接口超过了限流阈值 (more than {limiter.limit} calls per second "
                f"to {method} {path} for this app)",
            )

    # -- conversations, sessions, transcript ------------------------------------------------
    def conversation(self, cid: str, type_: str, title: str | None) -> Conversation:
        conv = self.conversations.get(cid)
        if conv is None or conv.type != type_ or (title and conv.title != title):
            conv = Conversation(cid, type_, title or (conv.title if conv else None))
            self.conversations[cid] = conv
        return conv

    def new_session(self, t: float, client_id: str, conv: Conversation, sender: Sender) -> Session:
        key = self.ids.session_key()
        session = Session(key, client_id, conv, sender, t + self.settings.webhook_ttl)
        self.sessions[key] = session
        return session

    def conversation_of(self, client_id: str, conversation_id: str | None, user: str | None) -> str:
        """Where a bot message landed: the group, or the user's 1:1 chat with the robot."""
        if conversation_id:
            return conversation_id
        return self.direct.get((client_id, user or ""), f"single:{user}")

    def note(
        self,
        t: float,
        conversation_id: str,
        who: str,
        kind: str,
        text: str,
        ref: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.transcript.append(TranscriptEntry(t, conversation_id, who, kind, text, ref, data))

    def join_group(self, conversation_id: str, client_id: str) -> None:
        """A group admin adds the app's robot to a group (until the next reset)."""
        self.app(client_id)
        self.joined.setdefault(conversation_id, set()).add(client_id)

    def robots_in(self, conversation_id: str) -> set[str]:
        return self.members.get(conversation_id, set()) | self.joined.get(conversation_id, set())

    def check_member(self, client_id: str, conversation_id: str, field: str) -> None:
        """A robot posts only to groups it is in: a group the fake knows the robots of, and
        this app's robot not among them, is refused as DingTalk refuses it (and is the robot's
        bug: it mixed up groups or apps)."""
        # Asked by every card send and update to a group: decided without building the union.
        members, joined = self.members.get(conversation_id, ()), self.joined.get(conversation_id, ())
        if client_id in members or client_id in joined or not (members or joined):
            return
        robots = self.robots_in(conversation_id)
        raise OpenApiError(
            400,
            "invalidParameter.robotCode.notExsit",
            f"机器人不存在,请检查机器人是否在群内: {field} {conversation_id!r} is a group with the "
            f"robots of {sorted(robots)}, not app {client_id!r}'s; post with the token of a robot "
            f"in that group, or add this one (join_group / POST /_fakeding/groups)",
            violation=True,
        )

    def add_custom_robot(self, robot: CustomRobot) -> CustomRobot:
        """A group owner adds a custom robot to a group."""
        return self.custom_robots.add(robot)

    def custom_robot_send(
        self, t: float, wall_ms: int, query: dict[str, str], remote: str, body: Any
    ) -> Post:
        """``POST /robot/send``: judged by the robot's security settings; what passes lands
        in its group's transcript as ``custom:<msgtype>``."""
        post = self.custom_robots.post(t, wall_ms, query, remote, body)
        if post.errcode == 0 and post.robot is not None and post.msgtype is not None:
            if post.robot.conversation_id not in self.conversations:
                self.conversation(post.robot.conversation_id, "2", None)
            self.note(
                t,
                post.robot.conversation_id,
                "bot",
                f"custom:{post.msgtype}",
                post.text,
                data={"robot": post.robot.name, **post.data},
            )
        return post

    def note_card(self, t: float, card: Card, source: str) -> None:
        """Record a card version (``source``: send/create/update/deliver/stream/callback) and,
        for a card that reached a conversation, its line in the transcript."""
        kind = RecordKind.CARD_SEND if source in ("send", "create") else RecordKind.CARD_UPDATE
        # Plain values, as ``add`` would defer them; made by ``_card_fields`` from a tuple instead
        # of a kept keyword dict: every card call records one (measured: ~4% of the lane's CPU).
        self.recorder.add_later(
            t,
            kind,
            _card_fields,
            card.id,
            len(card.versions),
            source,
            card.conversation_id,
            card.single_user,
            card.flow_status,
        )
        self._check_card(t, card)
        if source in ("send", "create"):
            self.trim(t)
        if source in ("send", "deliver"):
            conv = self.conversation_of(card.client_id, card.conversation_id, card.single_user)
            self.note(t, conv, "bot", "card", card_title(card), ref=card.id)

    def _check_card(self, t: float, card: Card) -> None:
        """Record what the newest version breaks: its template (violations) and documented
        limits (warnings). A card of an unregistered template is checked for limits only."""
        template = self.templates.get(card.template_id)
        findings = []
        for version in card.versions[card.checked :]:
            findings += limit_warnings(self.settings, card, version)
            if template is not None:
                findings += template_findings(template, card, version)
        card.checked = len(card.versions)
        for finding in new_findings(card, findings):
            self.recorder.add(t, finding.kind, card=card.id, template=card.template_id, reason=finding.reason)

    def note_markdown(self, t: float, where: str, text: str) -> None:
        """A robot's markdown message (``sampleMarkdown``, a webhook's markdown): what users will
        see differently from what was written is a warning."""
        for quirk in markdown_quirks(text, "robot"):
            self.recorder.add(t, RecordKind.WARNING, reason=f"{where}: markdown: {quirk}")

    def webhook(self, t: float, key: str | None, body: Any) -> tuple[Session | None, dict[str, Any]]:
        """A session-webhook reply; the answer mimics the platform (HTTP 200 with errcode)."""
        session = self.sessions.get(key or "")
        if session is None or t > session.expires_at:
            return session, {"errcode": 300001, "errmsg": "session 不存在 (expired or unknown)"}
        if not isinstance(body, dict):
            return session, {"errcode": 40035, "errmsg": "缺少参数 json (body must be an object)"}
        if "msgtype" not in body and "contentType" in body:
            return session, self._graph_reply(t, session, body)
        msgtype = body.get("msgtype")
        if msgtype not in WEBHOOK_MSGTYPES:
            return session, {
                "errcode": 40035,
                "errmsg": f"不合法的参数 msgtype: expected one of "
                f"{', '.join(WEBHOOK_MSGTYPES)}, found {echo(msgtype)}",
            }
        part = body.get(msgtype)
        if not isinstance(part, dict):
            return session, {"errcode": 40035, "errmsg": f"缺少参数 {msgtype}"}
        if not self.webhook_limit.allow((session.client_id,), t):
            return session, {"errcode": TOO_FAST[0], "errmsg": TOO_FAST[1]}
        text = webhook_text(msgtype, part)
        if msgtype == "markdown":
            self.note_markdown(t, "session webhook", str(part.get("text", "")))
        self.note(t, session.conversation.id, "bot", f"webhook:{msgtype}", text)
        return session, {"errcode": 0, "errmsg": "ok"}

    def _graph_reply(self, t: float, session: Session, body: dict[str, Any]) -> dict[str, Any]:
        """An AI-assistant (graph) reply: ``{"contentType": "ai_card", "content": {...}}``."""
        kind, content = body.get("contentType"), body.get("content")
        if kind not in GRAPH_CONTENT_TYPES or not isinstance(content, dict):
            return {
                "errcode": 40035,
                "errmsg": f"不合法的参数 contentType: expected one of "
                f"{', '.join(GRAPH_CONTENT_TYPES)} with a content object, "
                f"found {echo(kind)}",
            }
        if not self.webhook_limit.allow((session.client_id,), t):
            return {"errcode": TOO_FAST[0], "errmsg": TOO_FAST[1]}
        data = content.get("cardData")
        text = data.get("content") if isinstance(data, dict) else content.get("content")
        self.note(t, session.conversation.id, "bot", f"webhook:{kind}", str(text or ""))
        return {"errcode": 0, "errmsg": "ok"}


GRAPH_CONTENT_TYPES = ("ai_card", "markdown", "text")


def webhook_text(msgtype: str, part: dict[str, Any]) -> str:
    if msgtype == "text":
        return str(part.get("content", ""))
    if msgtype in ("markdown", "actionCard"):
        return str(part.get("text", ""))
    return str(part.get("title") or part.get("text") or "")


def card_title(card: Card) -> str:
    """How a card shows in a transcript: its header title, else its first text."""
    data = card.current
    header = data.get("header") if isinstance(data, dict) else None
    if isinstance(header, dict):
        title = header.get("title")
        if isinstance(title, dict):
            return str(title.get("text", ""))
    return str(data.get("title") or data.get("markdown") or card.template_id)[:80]
