"""Robot message payloads exactly as the platform types them (pure).

``createAt``/``sessionWebhookExpiredTime`` are numbers (ms), ``conversationType`` is the string
"1" (1:1) or "2" (group), ``isInAtList``/``isAdmin`` are booleans, ``atUsers`` is an array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakeding.core.exceptions import ControlError

MSG_TYPES = ("text", "picture", "richText", "audio", "video", "file")


@dataclass(frozen=True)
class Conversation:
    id: str
    type: str  # "group" | "single"
    title: str | None = None

    @property
    def wire_type(self) -> str:
        return "2" if self.type == "group" else "1"


@dataclass(frozen=True)
class Sender:
    staff_id: str
    nick: str | None = None
    is_admin: bool = False


def default_content(msgtype: str, code: str, text: str | None) -> dict[str, Any]:
    """A plausible ``content`` object for non-text types; ``code`` is a download code."""
    if msgtype == "picture":
        return {"pictureDownloadCode": code, "downloadCode": code}
    if msgtype == "richText":
        parts: list[dict[str, Any]] = [{"text": text or "see picture"}]
        parts.append({"pictureDownloadCode": code, "downloadCode": code, "type": "picture"})
        return {"richText": parts}
    if msgtype == "audio":
        return {"downloadCode": code, "recognition": text or "", "duration": 3000}
    if msgtype == "video":
        return {"downloadCode": code, "duration": "5", "videoType": "mp4"}
    if msgtype == "file":
        return {
            "downloadCode": code,
            "fileName": text or "report.pdf",
            "spaceId": "space001",
            "fileId": code[:12],
        }
    raise ControlError("msgtype", f"expected one of {', '.join(MSG_TYPES)}, found {msgtype!r}")


def robot_message(
    *,
    msg_id: str,
    conversation: Conversation,
    sender: Sender,
    sender_id: str,
    robot_code: str,
    corp_id: str,
    chatbot_user_id: str,
    create_at_ms: int,
    webhook_url: str,
    webhook_expires_ms: int,
    msgtype: str,
    text: str | None,
    content: dict[str, Any] | None,
    at_bot: bool,
    at_users: tuple[str, ...] = (),
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "conversationId": conversation.id,
        "chatbotCorpId": corp_id,
        "chatbotUserId": chatbot_user_id,
        "msgId": msg_id,
        "senderNick": sender.nick or sender.staff_id,
        "isAdmin": sender.is_admin,
        "senderStaffId": sender.staff_id,
        "sessionWebhookExpiredTime": webhook_expires_ms,
        "createAt": create_at_ms,
        "senderCorpId": corp_id,
        "conversationType": conversation.wire_type,
        "senderId": sender_id,
        "sessionWebhook": webhook_url,
        "robotCode": robot_code,
        "msgtype": msgtype,
    }
    if conversation.type == "group":
        data["conversationTitle"] = conversation.title or conversation.id
        data["isInAtList"] = at_bot
        data["atUsers"] = [{"dingtalkId": chatbot_user_id}] if at_bot else []
        # other people @mentioned: their @nick stays in the text, as the client sends it
        data["atUsers"] += [{"dingtalkId": "$:LWCP_v1:$" + staff, "staffId": staff} for staff in at_users]
    if msgtype == "text":
        # In groups the platform strips the @mention and leaves a leading space.
        body = text or ""
        data["text"] = {"content": (" " + body) if conversation.type == "group" else body}
    else:
        data["content"] = content if content is not None else {}
    return data
