"""What the platform accepts but a user never sees: a card checked against its template, and
documented limits that DingTalk's own examples break.

Why: real DingTalk answers 200 to a ``cardParamMap`` key, private key or streaming ``key`` the
template does not bind, and the user gets a blank card (the most reported robot failure). With
the template registered, each such call is a **violation** naming the template, the key and
what to do. Documented limits the platform does not seem to enforce (DingTalk's own examples
exceed them) are **warnings**: recorded, never refused unless ``strict_limits`` asks.

Pure: a card's newest version in, findings out; each finding is reported once per card.
"""

from __future__ import annotations

from dataclasses import dataclass

from fakeding.core.cards.checks import nbytes
from fakeding.core.cards.model import Card, CardVersion, drawn_data
from fakeding.core.record_kinds import RecordKind
from fakeding.core.settings import Settings
from fakeding.core.templates import AI_STATUS_NAMES, Template, render
from fakeding.core.templates.markdown import markdown_quirks

# keys every card may carry without a template variable (the AI-card flow status)
SYSTEM_KEYS = frozenset({"flowStatus"})


@dataclass(frozen=True)
class Finding:
    kind: RecordKind  # VIOLATION or WARNING
    key: str  # what makes it the same finding again (reported once per card)
    reason: str


def template_findings(template: Template, card: Card, version: CardVersion) -> list[Finding]:
    """Violations of ``card`` against ``template`` after ``version``."""
    found: list[Finding] = []
    name = f"card {card.id} (template {template.id})"
    declared = sorted(template.variables)
    listing = ", ".join(declared) or "none"
    if version.source in ("create", "update", "callback"):
        for key in version.card_data:
            if key not in template.variables and key not in SYSTEM_KEYS:
                found.append(
                    Finding(
                        RecordKind.VIOLATION,
                        f"param:{key}",
                        (
                            f"{name}: cardParamMap key {key!r} is not a variable of the template, so "
                            f"nothing on the card shows it (declared: {listing}); send a declared key "
                            f"or add {key!r} to the template in the card platform"
                        ),
                    )
                )
        for user, values in sorted(card.private_data.items()):
            for key in values:
                if key not in template.variables and key not in SYSTEM_KEYS:
                    found.append(
                        Finding(
                            RecordKind.VIOLATION,
                            f"private:{key}",
                            (
                                f"{name}: privateData key {key!r} (user {user}) is not a variable of "
                                f"the template, so that user sees nothing of it (declared: {listing}); "
                                f"send a declared key or add {key!r} to the template"
                            ),
                        )
                    )
    if version.source == "stream":
        key = str(version.extra.get("key", ""))
        markdown = ", ".join(template.markdown_variables()) or "none"
        var = template.variable(key)
        if var is None:
            found.append(
                Finding(
                    RecordKind.VIOLATION,
                    f"stream:{key}",
                    (
                        f"{name}: streaming key {key!r} is not a variable of the template, so the "
                        f"card stays blank (its markdown variables: {markdown}); stream into one of "
                        f"them, or add {key!r} as a markdown variable bound by the streaming component"
                    ),
                )
            )
        elif var.type != "markdown":
            found.append(
                Finding(
                    RecordKind.VIOLATION,
                    f"stream-type:{key}",
                    (
                        f"{name}: streaming into {key!r}, a {var.type} variable; the client streams "
                        f"only into markdown variables (this template's: {markdown}); stream into one "
                        f"of them or make {key!r} markdown"
                    ),
                )
            )
    found += _flow_findings(template, card, version, name)
    if card.finalized or (card.kind == "instance" and not template.is_ai):
        found += _markdown_warnings(template, card, name)
    return found


def _markdown_warnings(template: Template, card: Card, name: str) -> list[Finding]:
    """Markdown that users will see differently from what its author meant (warnings)."""
    surface = "ai" if template.is_ai else "card"
    found: list[Finding] = []
    for key in template.markdown_variables():
        value = card.current.get(key)
        if not isinstance(value, str):
            continue
        for quirk in markdown_quirks(value, surface):
            found.append(
                Finding(
                    RecordKind.WARNING, f"markdown:{key}:{quirk[:40]}", f"{name}: markdown {key!r}: {quirk}"
                )
            )
    return found


def _flow_findings(template: Template, card: Card, version: CardVersion, name: str) -> list[Finding]:
    if not template.is_ai:
        return []
    found: list[Finding] = []
    states = ", ".join(AI_STATUS_NAMES.get(s, str(s)) for s in template.ai_statuses)
    if card.finalized and 3 not in template.ai_statuses:
        found.append(
            Finding(
                RecordKind.VIOLATION,
                "flow:finished",
                (
                    f"{name}: the card was finished but the template has no finished state (it "
                    f"draws: {states}); enable the finished state in the card platform"
                ),
            )
        )
    if card.failed and 5 not in template.ai_statuses:
        found.append(
            Finding(
                RecordKind.VIOLATION,
                "flow:failed",
                (
                    f"{name}: the card was failed but the template has no failed state (it draws: "
                    f"{states}), so users keep seeing the last state; enable the failed state in the "
                    "card platform, or finish the card with the error as its text"
                ),
            )
        )
    closing = version.source in ("stream", "update", "callback", "create")
    if closing and card.finalized and 3 in template.ai_statuses:
        view = render(template, drawn_data(card), None, None, card_id=card.id)
        if not view.visible_text().strip():
            found.append(
                Finding(
                    RecordKind.VIOLATION,
                    "final:blank",
                    (
                        f"{name}: the card finished with nothing visible (its data: "
                        f"{', '.join(sorted(card.current)) or 'none'}); put the answer into a variable "
                        "the finished state shows"
                    ),
                )
            )
    return found


def limit_warnings(settings: Settings, card: Card, version: CardVersion) -> list[Finding]:
    """Documented limits the platform is not known to enforce (its own examples exceed them)."""
    found: list[Finding] = []
    limit = settings.card_param_value_max_bytes
    if limit is not None and version.source in ("create", "update", "callback"):
        for key, value in version.card_data.items():
            size = nbytes(value) if isinstance(value, str) else 0
            if size > limit:
                found.append(
                    Finding(
                        RecordKind.WARNING,
                        f"value:{key}",
                        (
                            f"card {card.id}: cardParamMap value {key!r} is {size} bytes, over the "
                            f"documented {limit}-byte limit; DingTalk's own AI-card example sends "
                            "larger values and works, so it is accepted (strict_limits refuses it)"
                        ),
                    )
                )
    stream_limit = settings.stream_content_max_bytes
    if version.source == "stream":
        key = str(version.extra.get("key", ""))
        text = version.card_data.get(key, "")
        size = nbytes(text) if isinstance(text, str) else 0
        if stream_limit is not None and size > stream_limit:
            found.append(
                Finding(
                    RecordKind.WARNING,
                    f"stream-total:{key}",
                    (
                        f"card {card.id}: streamed text of {key!r} is {size} bytes, over the "
                        f"documented {stream_limit}-byte streaming limit; DingTalk's own examples "
                        "stream longer answers, so it is accepted (strict_limits refuses a longer "
                        "update)"
                    ),
                )
            )
        if version.extra.get("empty"):
            found.append(
                Finding(
                    RecordKind.WARNING,
                    "stream-empty",
                    (
                        f"card {card.id}: an empty streaming update (no content, not finalizing) into "
                        f"{key!r}; the docs refuse it, DingTalk's own AI-card example sends one as the "
                        "'inputting' state, so it is accepted (strict_limits refuses it)"
                    ),
                )
            )
    return found


def new_findings(card: Card, findings: list[Finding]) -> list[Finding]:
    """The findings not reported for ``card`` yet (each is reported once per card)."""
    if not findings:  # the usual card version: asked at every send and update
        return findings
    fresh = [f for f in findings if f.key not in card.reported]
    card.reported.update(f.key for f in fresh)
    return fresh
