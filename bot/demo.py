"""``python -m bot demo``: the fake platform and this robot (FAQ agent) in one process.

Users ask in a group and in a 1:1 chat, one clicks a feedback button; then the transcript and
every card's update timeline are printed. Real time, loopback only, about five seconds. Then
the fake and the robot keep serving, so you can chat with the robot in the emulator page at the
printed address, until Ctrl-C; ``--exit`` ends the demo after the script (tests, CI).
``--card-mode ai`` answers with AI cards (card instances) and shows each user's private vote.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.templates import TEMPLATES
from bot.testing.report import card_state
from bot.testing.session import open_harness
from fakeding.core.api import FakeDingAPI
from fakeding.core.describe import Refs
from fakeding.core.render import card_lines
from fakeding.server import FakeDing

QUESTIONS = {
    "en": [
        ("alice", "Alice", "cidSupportGroup==", "group", "How do I reset my password?"),
        ("bob", "Bob", "cidBobDirect==", "single", "Can I get a refund for my plan?"),
        ("carol", "Carol", "cidSupportGroup==", "group", "Do you support single sign-on?"),
    ],
    "zh": [
        ("alice", "小李", "cidSupportGroup==", "group", "如何重置密码？"),
        ("bob", "小王", "cidBobDirect==", "single", "如何申请退款？"),
        ("carol", "小张", "cidSupportGroup==", "group", "如何联系人工客服？"),
    ],
}


async def _demo(locale: str, stay: bool, card_mode: str = "interactive") -> None:
    robot = {"agent": {"name": "faq", "delay": 0.12}, "locale": locale, "cardMode": card_mode}
    async with open_harness(robot=robot, epoch=None) as h:
        fake = h.fake
        for template in sorted(TEMPLATES.glob("*.json")):  # our cards, as imported into the app
            fake.add_template(template.name.removesuffix(".json"), template, keep=True)
        print(f"fake DingTalk on {fake.http_url}; robot connected over Stream ({fake.ws_endpoint})\n")
        for staff, nick, cid, kind, text in QUESTIONS[locale]:
            fake.send_message(
                text,
                conversation_id=cid,
                conversation_type=kind,
                title="Acme support" if kind == "group" else None,
                staff_id=staff,
                nick=nick,
            )
            await asyncio.sleep(0.3)
        await h.settle(step=0.05)
        first = fake.card_objects()[0]
        # the button sends what our template's layout (or the interactive card's JSON) says
        fake.click(first.id, staff_id="alice", button_id="feedback_helpful")
        await h.settle(step=0.05)
        await asyncio.sleep(0.2)
        report(h.fake)
        if stay:
            await _serve_until_stopped(fake)


async def _serve_until_stopped(fake: FakeDing) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"\nchat with the robot in your browser: {fake.http_url}/")
    print("(the fake and the robot keep serving; Ctrl-C stops them)", flush=True)
    await stop.wait()
    print("stopped.")


def report(fake: FakeDingAPI) -> None:
    refs = Refs()
    print("== Transcript ==")
    for e in fake.transcript_entries():
        who = e.who.removeprefix("user:")
        what = (
            f"{refs('card', e.ref)} «{e.text}»"
            if e.kind == "card"
            else (f"clicked «{e.text}» on {refs('card', e.ref)}" if e.kind == "click" else e.text)
        )
        print(f"+{e.t:6.3f}s [{e.conversation_id}] {who}: {what}")
    for card in fake.card_objects():
        print(f"\n== {refs('card', card.id)}: update timeline ==")
        for i, v in enumerate(card.versions, 1):
            print(f"+{v.t:6.3f}s v{i} {v.source:<8} {card_state(v.card_data)}")
        print("final state:")
        view = fake.card_view(card.id) if card.kind == "instance" else None
        shown = [_node_line(n) for n in view["nodes"]] if view is not None else card_lines(card.current)
        for line in shown:
            print(f"    {line}")
        for user, private in sorted(card.private_data.items()):
            print(f"    (seen by {user} only) " + "; ".join(f"{k}: {v}" for k, v in sorted(private.items())))
    feedback = [r for r in fake.recorder.records if r.kind == "bot.feedback"]
    print(f"\nfeedback recorded: {[(r.fields['user'], r.fields['rating']) for r in feedback]}")
    print(f"protocol violations: {len(fake.violations)}")


def _node_line(node: dict[str, object]) -> str:
    kind, text = node["kind"], str(node["text"])
    return {"button": f"[ {text} ]", "divider": "---", "loading": "…"}.get(str(kind), text)


def run_demo(locale: str = "en", *, stay: bool = False, card_mode: str = "interactive") -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    asyncio.run(_demo(locale, stay, card_mode))
    return 0
