"""What users do, as pure functions of the platform: writing a message, clicking a card button.

Each intent checks its input (``ControlError`` naming the field), records what the user did
and returns what the Stream engine must deliver; the composition root (``FakeDing``) pushes
it. Nothing here touches a socket or reads a clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fakeding.core import jsonsafe, messages
from fakeding.core.cards import Card
from fakeding.core.cards.model import drawn_data
from fakeding.core.exceptions import ControlError
from fakeding.core.messages import Sender
from fakeding.core.platform import App, Platform, session_tag
from fakeding.core.record_kinds import RecordKind
from fakeding.core.templates import render as render_template


@dataclass(frozen=True)
class UserMessage:
    app: App
    msg_id: str
    conversation_id: str
    data: dict[str, Any]  # the robot-message callback payload
    deliver: bool  # False: recorded only (a group message that does not @ the robot)


@dataclass(frozen=True)
class Click:
    card: Card
    staff_id: str
    data: dict[str, Any]  # the card-callback payload
    key: str  # what identifies this click in deliveries and reports


def write_message(
    p: Platform,
    t: float,
    *,
    now_ms: int,
    text: str | None,
    conversation_id: str,
    conversation_type: str,
    title: str | None,
    staff_id: str,
    nick: str | None,
    msgtype: str,
    content: dict[str, Any] | None,
    at_bot: bool,
    client_id: str | None,
    at_users: tuple[str, ...] = (),
) -> UserMessage:
    """A user writes in a conversation; returns the payload the robot must get."""
    if conversation_type not in ("group", "single"):
        raise ControlError(
            "conversation.type", f"expected 'group' or 'single', found {jsonsafe.echo(conversation_type)}"
        )
    if msgtype not in messages.MSG_TYPES:
        raise ControlError(
            "msgtype", f"expected one of {', '.join(messages.MSG_TYPES)}, found {jsonsafe.echo(msgtype)}"
        )
    if msgtype == "text" and not isinstance(text, str):
        raise ControlError("text", f"a text message needs a string, found {jsonsafe.echo(text)}")
    if not staff_id:
        raise ControlError("sender.staffId", "must be a non-empty string")
    app = p.app(client_id)
    conv = p.conversation(conversation_id, conversation_type, title)
    sender = Sender(staff_id, nick)
    session = p.new_session(t, app.client_id, conv, sender)
    if conv.type == "single":
        p.direct[(app.client_id, staff_id)] = conv.id
    else:  # a message for this app's robot in a group: the robot is in that group
        p.members.setdefault(conv.id, set()).add(app.client_id)
    if msgtype != "text" and content is None:
        code = p.ids.code("dl")
        p.files[code] = (f"{msgtype}.bin", f"fakeding {msgtype} {code}".encode())
        content = messages.default_content(msgtype, code, text)
    msg_id = p.ids.msg_id()
    session.msg_id = msg_id
    data = messages.robot_message(
        msg_id=msg_id,
        conversation=conv,
        sender=sender,
        sender_id="$:LWCP_v1:$" + staff_id,
        robot_code=app.robot_code,
        corp_id=p.settings.corp_id,
        chatbot_user_id=app.chatbot_user_id,
        create_at_ms=now_ms,
        webhook_url=f"{p.http_url}/robot/sendBySession?session={session.key}",
        webhook_expires_ms=now_ms + int(round(p.settings.webhook_ttl * 1000)),
        msgtype=msgtype,
        text=text,
        content=content,
        at_bot=at_bot,
        at_users=at_users if conv.type == "group" else (),
    )
    shown = text if msgtype == "text" else f"[{msgtype}] {text or ''}".strip()
    p.note(t, conv.id, f"user:{staff_id}", msgtype, shown or "", ref=msg_id)
    deliver = (
        conv.type == "single"
        or at_bot
        or bool(p.settings.extra.get("deliver_group_messages_without_at", False))
    )
    p.recorder.add(
        t,
        RecordKind.MESSAGE,
        client=app.client_id,
        conversation=conv.id,
        sender=staff_id,
        msgtype=msgtype,
        msgId=msg_id,
        atBot=at_bot,
        delivered=deliver,
        session=session_tag(session.key),
    )  # what its webhook replies name (answers by cause)
    return UserMessage(app, msg_id, conv.id, data, deliver)


def click_button(
    p: Platform,
    t: float,
    card_id: str,
    *,
    staff_id: str,
    button_id: str,
    params: dict[str, Any] | None = None,
) -> Click:
    """A user clicks a card button; returns the card-callback payload for the robot."""
    try:
        card = p.cards.get(card_id)
    except KeyError as exc:
        raise ControlError("cardBizId", str(exc.args[0]) if exc.args else str(exc)) from None
    if card.kind == "interactive":
        buttons = {b.id: b for b in card.buttons()}
        if button_id not in buttons:
            raise ControlError(
                "buttonId",
                f"card {card_id} has request buttons "
                f"{sorted(buttons) or 'none'}, found {jsonsafe.echo(button_id)}",
            )
        value = buttons[button_id].value
        if isinstance(value, str):
            try:  # a lone surrogate in it would poison the callback's JSON text
                value = jsonsafe.loads(value, what="the button's value")
            except jsonsafe.BadJson:
                value = {"value": jsonsafe.text(value, len(value))}
        label = buttons[button_id].label
    elif p.templates.get(card.template_id) is not None:
        # the caller's params are the user's local input; the layout decides what is sent
        value, label = _template_tap(p, card, staff_id, button_id, params)
        params = None
    else:
        value, label = {}, button_id
    if params:
        value = {**(value if isinstance(value, dict) else {}), **params}
    content = json.dumps({"cardPrivateData": {"actionIds": [button_id], "params": value}}, ensure_ascii=False)
    data = {
        "extension": "{}",
        "corpId": p.settings.corp_id,
        "spaceType": "im",
        "userIdType": 1,
        "type": "actionCallback",
        "userId": staff_id,
        "content": content,
        "spaceId": card.conversation_id or card.single_user or "",
        "outTrackId": card.id,
        "value": content,
    }
    conv_id = p.conversation_of(card.client_id, card.conversation_id, card.single_user)
    p.note(t, conv_id, f"user:{staff_id}", "click", label, ref=card.id)
    p.recorder.add(t, RecordKind.CLICK, client=card.client_id, card=card.id, user=staff_id, button=button_id)
    return Click(card, staff_id, data, key=f"click:{card.id}:{staff_id}:{p.recorder.total}")


def _template_tap(
    p: Platform, card: Card, staff_id: str, button_id: str, params: dict[str, Any] | None
) -> tuple[dict[str, Any], str]:
    """The params a template card's button sends for this user, as its ``@dtSendOutData``
    describes them (``params`` given by the caller are the user's local input)."""
    template = p.templates.get(card.template_id)
    assert template is not None
    private = card.private_data.get(staff_id, {})
    view = render_template(template, drawn_data(card), private, params or {}, card_id=card.id)
    taps = {
        tuple((b.callback or {}).get("actionIds") or [])[:1]: b
        for b in view.buttons()
        if b.callback is not None
    }
    button = taps.get((button_id,))
    if button is None:
        shown = sorted(ids[0] for ids in taps if ids)
        raise ControlError(
            "buttonId",
            f"card {card.id} (template {template.id}) shows user "
            f"{staff_id} the buttons {shown or 'none'}, found "
            f"{jsonsafe.echo(button_id)}",
        )
    return dict((button.callback or {}).get("params") or {}), button.text or button_id


def answer_click(p: Platform, t: float, click: Click, response: Any, after: float) -> None:
    """The robot answered a card callback ``after`` seconds; apply its card changes in time."""
    if after > p.settings.card_callback_timeout:
        p.recorder.add(
            t,
            RecordKind.VIOLATION,
            card=click.card.id,
            reason=f"card callback answered after {after:.3f} s, the platform "
            f"waits {p.settings.card_callback_timeout:g} s",
        )
        return
    changed = p.cards.apply_callback_response(t, click.card.id, click.staff_id, response)
    if changed is not None:
        p.note_card(t, changed, "callback")
