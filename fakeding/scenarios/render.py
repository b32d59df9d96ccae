"""The scenario report: transcript, each card's final state, and the timeline (pure).

Volatile ids become stable references in order of appearance (``card#1``, ``msg#2``,
``conn#1``); conversation ids become the scenario's names; times are virtual offsets.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ..recorder import Record
from ..render import card_lines, element_ids, markdown_chars
from .runner import ScenarioResult, is_final

HIDDEN_API = ("/v1.0/im/v1.0/robot/interactiveCards/send", "/v1.0/im/robots/interactiveCards")


class Refs:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, str]] = {}

    def __call__(self, prefix: str, value: Any) -> str:
        if value is None:
            return "-"
        table = self.tables.setdefault(prefix, {})
        key = str(value)
        if key not in table:
            table[key] = f"{prefix}#{len(table) + 1}"
        return table[key]


def render(result: ScenarioResult) -> str:
    refs = Refs()
    for card in result.cards:
        refs("card", card.id)
    s = result.scenario.data
    out = [f"# {s['name']}"]
    if s.get("description"):
        out.append(str(s["description"]).strip())
    out += ["", "## Transcript"]
    for e in result.transcript:
        conv = result.conversations.get(e.conversation_id, e.conversation_id)
        who = e.who.removeprefix("user:")
        if e.kind == "card":
            text = f"{refs('card', e.ref)} «{e.text}»"
        elif e.kind == "click":
            text = f"clicked «{e.text}» on {refs('card', e.ref)}"
        elif not e.text.strip():
            text = f"(blank: {len(e.text)} whitespace chars)"
        else:
            text = _clip(e.text, 160)
        out.append(f"+{e.t:.3f}s [{conv}] {who}: {text}")
    summary = (s.get("report") or {}).get("timeline") == "summary"
    out += ["", "## Cards"]
    counts = [sum(1 for v in c.versions if v.source == "update") for c in result.cards]
    if summary and counts:
        # Which of many simultaneous answers had a streaming update skipped under the rate
        # limit depends on scheduling order; the totals and the per-second timeline do not.
        out.append(f"{len(counts)} cards; updates per card: min {min(counts)}, "
                   f"max {max(counts)}, total {sum(counts)}")
    for card, updates in zip(result.cards, counts, strict=True):
        cid = card.conversation_id or result.direct.get(card.single_user or "", "")
        conv = result.conversations.get(cid, cid or f"1:1 {card.single_user}")
        state = "final" if is_final(card) else "NOT FINAL"
        count = "" if summary else f" · {updates} update(s)"
        out.append(f"### {refs('card', card.id)} · {conv}{count} · {state}")
        out += [f"    {line}" for line in card_lines(card.current)]
    if summary:
        out += ["", "## Timeline (summary: calls per second of virtual time)"]
        out += summary_lines(result)
    else:
        out += ["", "## Timeline"]
        out += timeline_lines(result, refs)
    if result.expectations:
        out += ["", "## Expectations"]
        for x in result.expectations:
            mark = "ok" if x.ok else "FAILED"
            rel = "at most " if x.name == "max_updates_per_card" else ""
            out.append(f"- {x.name}: expected {rel}{x.expected}, found {x.found} ({mark})")
    return "\n".join(line.rstrip() for line in out) + "\n"


def timeline_lines(result: ScenarioResult, refs: Refs) -> list[str]:
    cards = {c.id: c for c in result.cards}
    lines: list[str] = []
    # consecutive "no update" decisions of one message: (msg ref, reason, count, first t, last t)
    held: tuple[str, str, int, float, float] | None = None

    def flush() -> None:
        nonlocal held
        if held:
            msg, reason, count, first, last = held
            what = "wait" if reason == "wait" else "no update (cap of updates reached)"
            span = f" x{count} (until +{last:.3f}s)" if count > 1 else ""
            lines.append(f"+{first:.3f}s throttle {msg} {what}{span}")
            held = None

    for rec in result.records:
        if rec.kind == "bot.throttle" and not rec.fields.get("update"):
            msg = refs("msg", rec.fields.get("msg"))
            reason = str(rec.fields.get("reason"))
            if held and held[0] == msg and held[1] == reason:
                held = (msg, reason, held[2] + 1, held[3], rec.t)
                continue
            flush()
            held = (msg, reason, 1, rec.t, rec.t)
            continue
        line = describe(rec, refs, cards, result.conversations)
        if line is None:
            continue
        flush()
        lines.append(f"+{rec.t:.3f}s {line}")
    flush()
    return lines


def summary_lines(result: ScenarioResult) -> list[str]:
    """One line per virtual second with traffic: pushes, acks, card calls by outcome."""
    buckets: dict[int, Counter[str]] = defaultdict(Counter)
    for rec in result.records:
        second = int(rec.t)
        if rec.kind in ("push", "redeliver", "ack", "card.send", "card.update", "webhook",
                        "violation", "fault"):
            buckets[second][rec.kind] += 1
        elif rec.kind == "api" and rec.fields["status"] != 200:
            buckets[second][f"api {rec.fields['status']}"] += 1
        elif rec.kind in ("bot.card.final", "bot.card.stream.skipped", "bot.api.retry"):
            buckets[second][rec.kind.removeprefix("bot.")] += 1
    lines = []
    for second in sorted(buckets):
        counts = buckets[second]
        lines.append(f"+{second}s " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return lines


def describe(rec: Record, refs: Refs, cards: dict[str, Any],  # noqa: C901 - one case per kind
             convs: dict[str, str]) -> str | None:
    f = rec.fields
    k = rec.kind
    if k == "connect":
        return f"connect {refs('conn', f['connection'])}"
    if k == "disconnect":
        extra = f" ({f['fault']})" if f.get("fault") else ""
        return f"disconnect {refs('conn', f['connection'])} code={f.get('code')}{extra}"
    if k in ("push", "redeliver"):
        if f.get("type") == "SYSTEM":
            return f"{k} SYSTEM {f['topic']} → {refs('conn', f['connection'])}"
        what = _payload_ref(f, refs)
        extra = "".join(f" [{v}]" for v in (f.get("swallowed"), f.get("fault")) if v)
        return f"{k} {what} attempt={f['attempt']} → {refs('conn', f['connection'])}{extra}"
    if k == "queued":
        return f"queued {_payload_ref(f, refs)} (no live connection)"
    if k == "ack":
        if f.get("topic") == "ping":
            return None
        if str(f.get("key", "")).startswith(("disconnect:", "ping:")):
            return f"ack SYSTEM {f['topic']} code={f['code']}"
        return f"ack {_payload_ref(f, refs)} code={f['code']} after={f['after']:.3f}s"
    if k == "message":
        conv = convs.get(f["conversation"], f["conversation"])
        delivered = "" if f.get("delivered") else " (not delivered: no @robot in a group)"
        return f"user {f['sender']} → [{conv}] {refs('msg', f['msgId'])} {f['msgtype']}{delivered}"
    if k == "click":
        return f"click {refs('card', f['card'])} by {f['user']} on {f['button']}"
    if k in ("card.send", "card.update"):
        card = cards.get(f["card"])
        if card is None:
            return f"{k} {refs('card', f['card'])} v{f['version']}"
        data = card.versions[f["version"] - 1].card_data
        return f"{k} {refs('card', f['card'])} v{f['version']} {_card_state(data)}"
    if k == "api":
        route = f["route"]
        if f["status"] == 200 and (route.endswith(HIDDEN_API) or "oauth2" in route
                                   or "gateway" in route):
            return None
        code = f"{f['status']}"
        resp = f.get("response")
        if isinstance(resp, dict) and resp.get("code"):
            code += f" {resp['code']}"
        return f"api {route} → {code}"
    if k == "webhook":
        conv = convs.get(f.get("conversation") or "", f.get("conversation"))
        return f"webhook [{conv}] {f.get('msgtype')} errcode={f['errcode']}"
    if k == "fault":
        if f.get("fired"):
            delay = f" after {f['delay']:g}s" if f.get("delay") else ""
            return f"fault fired: {f['route']} → {f['status']} {f['code']}{delay}"
        details = " ".join(f"{a}={b}" for a, b in sorted(f.items()) if a != "fault")
        return f"fault {f.get('fault')} {details}".rstrip()
    if k == "violation":
        return f"VIOLATION {f.get('reason')}"
    if k.startswith("bot."):
        return _bot_event(k[4:], f, refs)
    return f"{k} {f}"


def _bot_event(kind: str, f: dict[str, Any], refs: Refs) -> str | None:
    msg = refs("msg", f["msg"]) if "msg" in f else ""
    if kind == "throttle":
        return f"throttle {msg} {f['reason']} → update ({f['chars']} chars)"
    if kind in ("stream.connected", "card.thinking", "message"):
        return None if kind != "message" else f"robot got {msg} → {f['plan']}"
    if kind == "card.final":
        return None
    fields = " ".join(f"{a}={_short(b, refs)}" for a, b in sorted(f.items()) if a != "msg")
    return f"robot {kind} {msg} {fields}".replace("  ", " ").rstrip()


def _short(value: Any, refs: Refs) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return refs("card", value)
    return str(value)


def _payload_ref(f: dict[str, Any], refs: Refs) -> str:
    key = str(f.get("key", ""))
    if key.startswith("click:"):
        return f"click({refs('card', key.split(':')[1])})"
    return refs("msg", key)


def _card_state(data: Any) -> str:
    ids = element_ids(data)
    if "thinking" in ids:
        return "thinking"
    chars = markdown_chars(data, "answer")
    parts = ["final" if "feedback" in ids else "streaming", f"answer={chars} chars"]
    if "notice" in ids:
        parts.append("notice")
    if "vote" in ids:
        parts.append("vote")
    return " ".join(parts)


def _clip(text: str, n: int) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"
