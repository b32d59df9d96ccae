"""Cards drawn as DingTalk draws them, in every version and on every surface (issue 19's last
gaps): each version with each user's private data of then (the fake's view, the emulator's
history, the scenario report), designer components (ProgressBar, Tag, CheckableTags) and charts
as elements rather than their texts or data, and markdown in reports as the client draws it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from fakeding import ThreadedFakeDing
from fakeding.core.templates import parse_export, render
from fakeding.core.templates.markdown import to_text
from fakeding.testing.scenarios.render import drawn_lines
from tests.fakeding.test_templates_platform import FORM, HERE, call, create

# -- every version with the private data of then -----------------------------------------------


def _submitted_later(fake: ThreadedFakeDing) -> None:
    """A form card alice submits in its third version (create, deliver, then the update)."""
    fake.add_template(FORM, HERE / "question_form.json")
    made = create(fake, FORM, {"title": "Q", "question": "**Which** one?", "submitted": "false"}, "f2")
    assert made.status_code == 200, made.text
    updated = call(
        fake,
        "PUT",
        "/v1.0/card/instances",
        {
            "outTrackId": "f2",
            "privateData": {"alice": {"cardParamMap": {"submitted": "true", "private_answer": "Cards"}}},
            "cardUpdateOptions": {"updatePrivateDataByKey": True},
        },
    )
    assert updated.status_code == 200, updated.text


def _texts(view: dict[str, Any] | None) -> list[str]:
    assert view is not None
    return [f"{n['kind']}:{n['text']}" for n in view["nodes"]]


def test_each_version_is_drawn_with_the_private_data_of_then(fakeding: ThreadedFakeDing) -> None:
    _submitted_later(fakeding)
    before = _texts(fakeding.card_view("f2", user="alice", version=2))
    after = _texts(fakeding.card_view("f2", user="alice", version=3))
    assert "button:Submit" in before and "text:Submitted: Cards" not in before
    assert "text:Submitted: Cards" in after and "button:Submit" not in after
    assert _texts(fakeding.card_view("f2", user="alice")) == after  # the latest by default
    assert "button:Submit" in _texts(fakeding.card_view("f2", user="bob", version=3))
    answer = requests.get(fakeding.http_url + "/_fakeding/cards/f2/view?user=alice&version=2", timeout=5)
    assert _texts(answer.json()) == before
    for bad in ("0", "9", "x"):
        refused = requests.get(fakeding.http_url + f"/_fakeding/cards/f2/view?version={bad}", timeout=5)
        assert refused.status_code == 400 and refused.json()["field"] == "version", refused.text


def test_the_report_lists_each_version_as_each_user_saw_it(fakeding: ThreadedFakeDing) -> None:
    _submitted_later(fakeding)
    platform = fakeding.fake.platform
    card = platform.cards.get("f2")
    lines = drawn_lines(card, {t.id: t for t in platform.templates.all()})
    versions = lines[lines.index("versions:") + 1 :]
    assert [line.split(")")[0].strip() for line in versions if line.startswith("  v")] == [
        "v1 (create",
        "v2 (deliver",
        "v3 (update",
    ]
    # alice's private view appears from the version that gave it to her, not before
    assert versions[-1] == "    as alice: Q / Which one? / --- / Submitted: Cards"
    assert not any("as alice" in line for line in versions[:-1])
    assert "Which one?" in lines  # markdown as drawn: **Which** loses its marks


# -- designer components and charts as elements ----------------------------------------------------
def _components_export() -> dict[str, Any]:
    tree = [
        {
            "componentName": "Card",
            "id": "node_card",
            "children": [
                {"componentName": "ProgressBar", "id": "node_bar", "props": {}},
                {"componentName": "Tag", "id": "node_tag", "props": {}},
                {"componentName": "CheckableTags", "id": "node_tags", "props": {}},
            ],
        }
    ]
    widget = (
        '<LinearLayout userId="node_card">'
        '<ListLayout listData="@data{data.cardData.steps}"><LinearLayout userId="node_bar">'
        "<FastTextView text=\"@subdata{'name'}\" />"
        "<FastTextView text=\"@concat{@toStr{@toLong{@floor{@subdata{'progress'}}}}, '%'}\" />"
        '<LinearLayout><LinearLayout width="12np" /></LinearLayout></LinearLayout></ListLayout>'
        '<LinearLayout userId="node_tag">'
        '<FastTextView text="@toStr{@data{data.cardData.tag}}" /></LinearLayout>'
        '<DDFlowLayout userId="node_tags" listData="@data{data.cardData.choices}">'
        "<LinearLayout><FastTextView text=\"@subdata{'label'}\" /></LinearLayout></DDFlowLayout>"
        '<DDChartView data="@data{data.cardData.chart}" />'
        "</LinearLayout>"
    )
    editor = {
        "schema": {"componentsTree": tree},
        "variableList": [
            {"name": "steps", "type": "loopArray"},
            {"name": "tag", "type": "string"},
            {"name": "choices", "type": "loopArray"},
            {"name": "chart", "type": "chart"},
        ],
    }
    return {"editorData": json.dumps(editor), "widgetInfo": widget, "type": "im", "mode": "card"}


DATA = {
    "steps": json.dumps([{"name": "Reading", "progress": 100}, {"name": "Charting", "progress": 60.5}]),
    "tag": "Finance",
    "choices": json.dumps([{"label": "Too long"}, {"label": "Wrong"}]),
    "chart": json.dumps({"type": "barChart", "data": [{"x": "a", "y": 1}, {"x": "b", "y": 3}]}),
}


def test_progress_bars_tags_and_charts_are_drawn_as_elements() -> None:
    template = parse_export(_components_export(), template_id="c", source="c")
    view = render(template, DATA)
    assert [(n.kind, n.text) for n in view.nodes if n.kind != "chart"] == [
        ("progress", "100%"),
        ("progress", "60%"),
        ("tag", "Finance"),
        ("tags", "Too long · Wrong"),
    ]
    assert view.lines() == [
        "[progress 100%]",
        "[progress 60%]",
        "[tag Finance]",
        "[tags Too long · Wrong]",
        "[chart barChart, 2 points]",
    ]
    assert view.unknown == []  # DDFlowLayout is a list, no longer an unknown element


def test_without_the_designer_tree_the_same_layout_is_its_texts() -> None:
    plain = _components_export()
    plain["editorData"] = json.dumps({**json.loads(plain["editorData"]), "schema": {}})
    view = render(parse_export(plain, template_id="c", source="c"), DATA)
    assert {n.kind for n in view.nodes} == {"text", "chart"}
    assert [n.text for n in view.nodes][:3] == ["Reading", "100%", "Charting"]


# -- markdown in reports as the client draws it ----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "surface", "drawn"),
    [
        ("# Title\n**bold** and *it*", "card", "Title\nbold and it"),
        ("line one\nline two", "ai", "line one line two"),  # a single newline is ignored
        ("line one\nline two", "card", "line one\nline two"),
        (
            "[docs](https://example.com) ![c](https://example.com/c.png)",
            "card",
            "docs (https://example.com) [image https://example.com/c.png]",
        ),
        ("[bad](javascript:x)", "card", "[bad](javascript:x)"),
        ("- a\n- b\n2. two\n> said", "card", "• a\n• b\n2. two\n│ said"),
        ('<font color="#FF0000">red</font><br>next', "card", "red\nnext"),
        ("| a | b |\n```\n**code**\n```", "card", "| a | b |\n```\n**code**\n```"),  # literal
    ],
)
def test_markdown_as_text_is_what_the_client_draws(text: str, surface: str, drawn: str) -> None:
    assert to_text(text, surface) == drawn
