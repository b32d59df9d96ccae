"""AI-card mode (``cardMode: "ai"``): each answer lives in one card instance.

The same conversation as interactive mode (``Responder``: throttle, retries, webhook fallback,
repair, progress records and recovery) on another card surface:

* thinking: ``POST /v1.0/card/instances/createAndDeliver`` with ``callbackType: STREAM`` (in
  ``mode: "http"``: ``HTTP`` and the route key ``http_mode`` registered) into
  the group (``IM_GROUP``) or the 1:1 robot chat (``IM_ROBOT``), ``flowStatus`` "1". A create
  that finds its ``outTrackId`` taken (a retry after a lost answer, or a robot finishing what a
  dead one started) counts as sent: the id is derived from the message, so the card is ours.
* streaming: ``PUT /v1.0/card/streaming`` with the full text (``isFull``); the streaming API
  has its own rate budget (the pacer is per API), and a streaming update is best effort.
* closing: one more streaming call with the final text and notice, ``isFinalize`` (finished)
  or ``isError`` (failed: agent error, timeout, interruption); retried like a final card.
* feedback: a click's ack answers ``userPrivateData`` ("You rated ..." for that user only);
  in a group the shared tally is updated afterwards (``PUT /v1.0/card/instances`` by key).

Card variables: ``bot.core.ai_cards``.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from itertools import count
from typing import Any

import dingtalk_stream

from bot.core import ai_cards
from bot.core.incoming import Incoming, Plan
from bot.im_robots.dingtalk_stream.conversation import Final, Responder
from bot.im_robots.dingtalk_stream.handlers import FeedbackHandler
from bot.im_robots.dingtalk_stream.openapi import CARD_ROUTE_KEY, OpenApiCallError
from bot.storage.store import Answer, Progress

log = logging.getLogger("bot.ai_card")
CREATE_ROUTE = "/v1.0/card/instances/createAndDeliver"
STREAM_ROUTE = "/v1.0/card/streaming"
INSTANCE_ROUTE = "/v1.0/card/instances"
NOTICE_ROOM = 600  # bytes of content kept free for the notices that close a card


class AiCardResponder(Responder):
    """``Responder`` whose card is an AI card instance."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # streaming guids must be new across robot processes (a restarted robot streams again
        # into the same card, and the platform ignores a guid it has seen)
        self._nonce = secrets.token_hex(6)
        self._calls = count(1)

    def _guid(self, card_id: str) -> str:
        return f"{card_id[:16]}-{self._nonce}-{next(self._calls)}"

    async def serve(self, inc: Incoming, plan: Plan, prior: Progress | None = None) -> None:
        if plan.action == "answer" and prior is not None and prior.state == "answered":
            # taken over after the answer was kept: close the card as the dead robot would have
            await self._finish(
                inc,
                plan.question,
                prior.answer,
                prior.notice or None,
                bool(prior.card_id),
                failed=ai_cards.is_failure(prior.notice, self.cfg.locale),
            )
            return
        await super().serve(inc, plan, prior)

    def _fit(self, answer: str) -> tuple[str, str]:
        return ai_cards.fit_bytes(answer, self.cfg.max_card_chars, ai_cards.MAX_CONTENT_BYTES - NOTICE_ROOM)

    async def _create_card(self, inc: Incoming, question: str, at: list[tuple[str, str]]) -> None:
        cfg = self.cfg
        params = ai_cards.thinking_params(question, inc.msg_id, cfg.locale)
        body: dict[str, Any] = {
            "cardTemplateId": cfg.ai_card_template_id,
            "outTrackId": inc.card_biz_id,
            "cardData": {"cardParamMap": params},
            "callbackType": "STREAM",
            "imGroupOpenSpaceModel": {"supportForward": True},
            "imRobotOpenSpaceModel": {"supportForward": True},
            "userIdType": 1,
        }
        if self.api.card_callback_url is not None:  # mode "http": clicks come over HTTP
            body.update(callbackType="HTTP", callbackRouteKey=CARD_ROUTE_KEY)
        if inc.is_group:
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{inc.conversation_id}"
            body["imGroupOpenDeliverModel"] = {"robotCode": cfg.client_id, "atUserIds": dict(at)}
        else:
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{inc.sender_staff_id}"
            body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT"}
        try:
            await self.api.call("POST", CREATE_ROUTE, body)
        except OpenApiCallError as exc:
            if exc.code != "param.cardAlreadyExist":
                raise
            log.info("AI card %s exists already (an earlier attempt made it); using it", inc.card_biz_id)

    def _stream_body(self, inc: Incoming, content: str, **flags: bool) -> dict[str, Any]:
        return {
            "outTrackId": inc.card_biz_id,
            "guid": self._guid(inc.card_biz_id),
            "key": ai_cards.CONTENT_KEY,
            "content": content,
            "isFull": True,
            "isFinalize": flags.get("finalize", False),
            "isError": flags.get("error", False),
        }

    async def _stream_update(
        self,
        inc: Incoming,
        question: str,
        so_far: str,
        *,
        max_wait: float = 0.5,
        on_send: Callable[[], None] | None = None,
    ) -> None:
        shown, _ = self._fit(so_far)
        if not shown.strip():
            return  # the platform refuses empty streaming content; the card keeps thinking
        await self.api.call(
            "PUT",
            STREAM_ROUTE,
            self._stream_body(inc, shown),
            best_effort=True,
            max_wait=max_wait,
            on_send=on_send,
        )

    def _final_card(
        self, inc: Incoming, question: str, shown: str, notice: str | None, failed: bool
    ) -> Final:
        # one guid for the closing call and its retries: a retry after a lost answer is a no-op
        content = ai_cards.final_content(shown, notice)
        return self._stream_body(inc, content, finalize=not failed, error=failed)

    async def _update_final(self, inc: Incoming, final: Final) -> None:
        try:
            await self.api.call("PUT", STREAM_ROUTE, final)
        except OpenApiCallError as exc:
            if exc.code != "param.stream.cardFailed" or not final.get("isError"):
                raise  # (a failed card refusing another isError: it is closed already)
        self.emit("card.closed", msg=inc.msg_id, state="failed" if final.get("isError") else "finished")

    async def show_tally(self, card_id: str, known: Answer) -> None:
        """A group's shared count of votes, written into the card after a click's ack."""
        tally = Counter(f.rating for f in await self.storage.feedback(card_id))
        body = {
            "outTrackId": card_id,
            "cardData": {"cardParamMap": ai_cards.tally_params(tally, known.locale)},
            "cardUpdateOptions": {"updateCardDataByKey": True},
        }
        try:
            await self.api.call("PUT", INSTANCE_ROUTE, body)
            self.emit("card.tally", card=card_id, votes=sum(tally.values()))
        except OpenApiCallError as exc:
            log.warning("could not show the tally on AI card %s: %s", card_id, exc)


class AiFeedbackHandler(FeedbackHandler):
    """Feedback on AI cards: the clicking user's vote in the ack (private data), the group's
    tally in the shared card data afterwards."""

    def parse(self, msg: dingtalk_stream.CardCallbackMessage) -> tuple[str, str] | None:
        return ai_cards.feedback_of((msg.content or {}).get("cardPrivateData"))

    def answer_for(self, rating: str) -> Any:
        return ai_cards.vote_response(rating, self.cfg.locale)

    async def _show_vote(self, card_id: str, msg_id: str, known: Answer, rating: str) -> None:
        self.emit("card.vote", card=card_id, rating=rating, private=True)
        if known.is_group and isinstance(self.responder, AiCardResponder):
            await self.responder.show_tally(card_id, known)
