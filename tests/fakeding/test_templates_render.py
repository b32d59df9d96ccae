"""The template renderer (``fakeding.core.templates``): exports written here, drawn per user."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakeding.core.templates import Template, TemplateError, parse_export, render
from fakeding.core.templates.expressions import Scope, evaluate_text

HERE = Path(__file__).parent / "templates"


def load(name: str) -> Template:
    return parse_export((HERE / name).read_bytes(), template_id=name[:-5], source=name)


def export(
    widget: str,
    variables: list[dict[str, Any]] | None = None,
    extension: dict[str, Any] | None = None,
    kind: str = "standard",
) -> dict[str, Any]:
    editor = {"variableList": variables or [], "extension": extension or {}}
    return {"editorData": json.dumps(editor), "widgetInfo": widget, "type": kind, "mode": "card"}


# -- the interactive template: an input, a submit button, a private submitted state ------------
FORM_DATA = {"title": "Quick question", "tag": "survey", "question": "**What** next?", "submitted": "false"}


def test_form_before_submit_shows_the_input_and_the_button() -> None:
    view = render(load("question_form.json"), FORM_DATA, {}, {}, card_id="card-1")
    assert view.lines() == [
        "Quick question",
        "survey",
        "**What** next?",
        "---",
        "[input local_answer: Type your answer]",
        "[button Submit -> submit]",
    ]
    assert view.unknown == []


def test_a_tap_sends_exactly_the_payload_the_layout_describes() -> None:
    view = render(load("question_form.json"), FORM_DATA, {}, {"local_answer": "Cards"}, card_id="card-1")
    [button] = view.buttons()
    assert button.payload == {
        "actionType": "0",
        "cardInstanceId": "card-1",
        "actionId": "submit",
        "actionData": {"cardPrivateData": {"params": {"local_answer": "Cards"}, "actionIds": ["submit"]}},
    }
    assert button.callback == {"actionIds": ["submit"], "params": {"local_answer": "Cards"}}
    assert "[input local_answer: Cards]" in view.lines()  # what the user typed shows


def test_private_submitted_state_is_per_user() -> None:
    template = load("question_form.json")
    mine = render(template, FORM_DATA, {"submitted": "true", "private_answer": "Cards"}, {})
    theirs = render(template, FORM_DATA, {}, {})
    assert mine.lines()[-1] == "Submitted: Cards" and mine.buttons() == []
    assert theirs.lines()[-1] == "[button Submit -> submit]"


def test_a_private_variable_falls_back_to_the_public_value() -> None:
    view = render(
        load("question_form.json"), {**FORM_DATA, "submitted": "true", "private_answer": "for all"}, {}, {}
    )
    assert view.lines()[-1] == "Submitted: for all"


# -- the AI template: flow states, a streaming markdown variable, a loop, a failed state -------
AI_DATA = {
    "content": "Hello **world**",
    "sources": json.dumps(
        [{"title": "Guide", "url": "https://example.com/g"}, {"title": "FAQ", "url": "https://example.com/f"}]
    ),
}


@pytest.mark.parametrize(
    ("status", "lines"),
    [
        ("1", ["[loading]", "Thinking…"]),
        ("2", ["Hello **world**"]),
        (
            "3",
            [
                "Hello **world**",
                "Sources (2)",
                "[button 1. Guide (dtOpenLink)]",
                "[button 2. FAQ (dtOpenLink)]",
            ],
        ),
        ("5", ["Something went wrong, please try again."]),
    ],
)
def test_ai_card_draws_each_flow_state(status: str, lines: list[str]) -> None:
    view = render(load("ai_answer.json"), {**AI_DATA, "flowStatus": status})
    assert view.lines() == lines
    assert view.unknown == []


def test_ai_template_declares_its_states_and_markdown_variable() -> None:
    template = load("ai_answer.json")
    assert template.is_ai and template.ai_statuses == (1, 2, 3, 5)
    assert template.markdown_variables() == ["content"]
    assert template.variables["sources"].type == "loopArray"


def test_loop_links_open_their_own_url() -> None:
    view = render(load("ai_answer.json"), {**AI_DATA, "flowStatus": "3"})
    assert [b.src for b in view.buttons()] == ["https://example.com/g", "https://example.com/f"]


# -- every element and function of the reference ----------------------------------------------
def test_every_element_is_drawn_or_reported_once() -> None:
    widget = (
        '<LinearLayout><ListLayout listData="@data{data.cardData.rows}">'
        "<FastTextView text=\"@subdata{'name'}\"/></ListLayout>"
        '<FastTextView text="plain"/><DDRichTextView attributedText="# md"/>'
        '<ImageView imageUrl="https://example.com/a.png"/><View height="1np"/>'
        '<DDIconView text="::icon::"/><DDLoadingView/><DDEventView/>'
        '<DDAnimationView/><DDCSSStyleView/><DDChartView chartData="@data{data.cardData.c}"/>'
        "<MysteryView/><MysteryView/></LinearLayout>"
    )
    template = parse_export(
        export(widget, [{"name": "rows", "type": "loopArray"}, {"name": "c", "type": "chart"}]),
        template_id="t",
        source="t",
    )
    chart = '{"type": "lineChart", "data": [{"x": "a", "y": 1}, {"x": "b", "y": 2}]}'
    view = render(template, {"rows": '[{"name": "a"}, {"name": "b"}]', "c": chart})
    assert view.lines() == [
        "a",
        "b",
        "plain",
        "# md",
        "[image https://example.com/a.png]",
        "---",
        "[loading]",
        "[chart lineChart, 2 points]",  # an element, not its data dumped
        "[unknown element MysteryView]",
        "[unknown element MysteryView]",
    ]
    assert view.unknown == ["<MysteryView>"]


CASES = [
    ("@triple{'x','a','b'}", "a"),
    ("@triple{'false','a','b'}", "b"),
    ("@triple{'','a','b'}", "b"),
    ("@equal{'1',@toStr{1}}", True),
    ("@not{'true'}", False),
    ("@and{'a','b'}", True),
    ("@or{'','0'}", False),
    ("@greater{'10','9'}", True),
    ("@less{'2','1'}", False),
    ("@len{'钉钉'}", 2),
    ("@toStr{12}", "12"),
    ("@toLong{'7.9'}", 7),
    ("@toDouble{'2.5'}", 2.5),
    ("@concat{'a',1,'b'}", "a1b"),
    ("@substr{'abcdef',1,3}", "bcd"),
    ("@add{1,2}", 3),
    ("@sub{5,2}", 3),
    ("@mul{2,3}", 6),
    ("@div{7,2}", 3.5),
    ("@div{1,0}", 0),
    ("@floor{'2.7'}", 2),
    ("@dtDarkModeAdapter{'#FFF','#000'}", "#FFF"),
    ("@dtWidgetAvailable{'DDRichTextView'}", True),
    ("@dtWidgetAvailable{'Nope'}", False),
    ("@linearGradient{'#000','#fff'}", "linear-gradient(#000,#fff)"),
    ("@dtMapAppend{null,'a',1,'b',@dtArrayAppend{null,'x','y'}}", {"a": "1", "b": ["x", "y"]}),
    ("@data{data.cardData.title}", "T"),
    ("@data{'data.localData.v'}", "L"),
    ("@data{data.cardData.missing}", None),
    ("text &amp; @toStr{'more'}", "text &amp; more"),
]


@pytest.mark.parametrize(("expression", "value"), CASES)
def test_expression_functions(expression: str, value: Any) -> None:
    scope = Scope({"data": {"cardData": {"title": "T"}, "localData": {"v": "L"}}})
    assert evaluate_text(expression, scope) == value
    assert scope.unknown == set()


def test_loop_functions_read_the_current_item() -> None:
    scope = Scope({}).looping({"name": "n", "deep": {"x": "y"}}, 4)
    assert evaluate_text("@subdata{'name'}", scope) == "n"
    assert evaluate_text("@dtArrayIterator{'deep.x'}", scope) == "y"
    assert evaluate_text("@add{@subdataIndex{},1}", scope) == 5


def test_an_unknown_function_is_shown_and_reported_not_raised() -> None:
    widget = "<LinearLayout><FastTextView text=\"@dtMagic{'x'}\"/></LinearLayout>"
    template = parse_export(export(widget), template_id="t", source="t")
    view = render(template, {})
    assert view.lines() == ["[unknown @dtMagic]"]
    assert view.unknown == ["@dtMagic"]


def test_an_unbalanced_expression_names_itself() -> None:
    with pytest.raises(TemplateError, match=r"expected ',' or '}'.*found"):
        evaluate_text("@concat{'a' 'b'}", Scope({}))


# -- bad exports ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"not json", ["form.json", "$:", "not JSON"]),
        ([1], ["$:", "expected an object"]),
        ({"widgetInfo": "<a/>"}, ["$.editorData", "expected an object"]),
        ({"editorData": "{", "widgetInfo": "<a/>"}, ["$.editorData", "not JSON"]),
        ({"editorData": "{}"}, ["$.widgetInfo", "expected the layout"]),
        ({"editorData": "{}", "widgetInfo": "<a>"}, ["$.widgetInfo", "well-formed"]),
        (
            {"editorData": '{"variableList": [{"type": "string"}]}', "widgetInfo": "<a/>"},
            ["$.editorData.variableList[0].name", "expected a variable name"],
        ),
        (
            {"editorData": '{"extension": {"aiStatusList": "all"}}', "widgetInfo": "<a/>"},
            ["$.editorData.extension.aiStatusList", "expected a list"],
        ),
    ],
)
def test_a_bad_export_names_file_path_and_expectation(raw: Any, words: list[str]) -> None:
    with pytest.raises(TemplateError) as info:
        parse_export(raw, template_id="form", source="form.json")
    for word in words:
        assert word in str(info.value)
