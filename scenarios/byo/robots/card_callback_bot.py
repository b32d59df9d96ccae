"""A card-callback robot: it sends a vote card and, on each click, updates it with the tally."""

from __future__ import annotations

import json

import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage


def vote_card(yes: int, no: int) -> dict[str, object]:
    return {"config": {"autoLayout": True}, "header": {"title": {"type": "text", "text": "Vote"}},
            "contents": [
                {"type": "markdown", "text": f"yes {yes} · no {no}", "id": "tally"},
                {"type": "action", "id": "act", "actions": [
                    {"type": "button", "label": {"type": "text", "text": "Yes"},
                     "actionType": "request", "status": "primary", "id": "yes",
                     "value": json.dumps({"vote": "yes"})},
                    {"type": "button", "label": {"type": "text", "text": "No"},
                     "actionType": "request", "status": "normal", "id": "no",
                     "value": json.dumps({"vote": "no"})}]}]}


class VoteBot(dingtalk_stream.ChatbotHandler):
    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
        incoming = ChatbotMessage.from_dict(callback.data)
        self.reply_card(vote_card(0, 0), incoming)
        return AckMessage.STATUS_OK, "OK"


class Clicks(dingtalk_stream.ChatbotHandler):  # a ChatbotHandler for its update_card()
    def __init__(self) -> None:
        super().__init__()
        self.votes = {"yes": 0, "no": 0}

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, object]:
        message = dingtalk_stream.CardCallbackMessage.from_dict(callback.data)
        private = message.content.get("cardPrivateData", {}) if isinstance(message.content, dict) else {}
        vote = (private.get("params") or {}).get("vote")
        if vote in self.votes:
            self.votes[vote] += 1
        self.update_card(message.card_instance_id, vote_card(self.votes["yes"], self.votes["no"]))
        return AckMessage.STATUS_OK, "OK"


def robot() -> dict[str, object]:
    """A factory: one handler per topic."""
    return {ChatbotMessage.TOPIC: VoteBot(),
            dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK: Clicks()}
