"""DingTalk's markdown subset per surface (``fakeding.core.templates.markdown``)."""

from __future__ import annotations

import pytest

from fakeding.core.templates.markdown import markdown_quirks, to_html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("# Title", "<h1>Title</h1>"),
        ("### Small", "<h3>Small</h3>"),
        ("**bold** and *it*", "<p><b>bold</b> and <i>it</i></p>"),
        (
            "[docs](https://example.com/a)",
            '<p><a href="https://example.com/a" target="_blank" rel="noopener">docs</a></p>',
        ),
        ("[bad](javascript:alert(1))", "<p>[bad](javascript:alert(1))</p>"),
        ("![cat](https://example.com/c.png)", '<p><img alt="cat" src="https://example.com/c.png"></p>'),
        ("![x](@lAmedia)", "<p>[image @lAmedia]</p>"),
        ("- one\n- two", "<ul><li>one</li><li>two</li></ul>"),
        ("- a\n1. b\n\n- c", "<ul><li>a</li></ul><ol><li>b</li></ol><ul><li>c</li></ul>"),
        ("1. first", "<ol><li>first</li></ol>"),
        ("> quoted", "<blockquote>quoted</blockquote>"),
        ('<font color="#FF0000">red</font>', '<p><span style="color:#FF0000">red</span></p>'),
        ("<script>x</script>", "<p>&lt;script&gt;x&lt;/script&gt;</p>"),
        ("| a | b |\n|---|---|", '<p class="literal">| a | b |</p><p class="literal">|---|---|</p>'),
        ("```\ncode\n```", '<p class="literal">```</p><p class="literal">code</p><p class="literal">```</p>'),
    ],
)
def test_the_subset_dingtalk_draws(text: str, html: str) -> None:
    assert to_html(text, "card") == html


def test_ai_card_content_ignores_a_single_newline() -> None:
    assert to_html("one\ntwo\n\nthree", "ai") == "<p>one two</p><p>three</p>"
    assert to_html("one\ntwo", "card") == "<p>one<br>two</p>"


def test_quirks_that_change_what_users_see() -> None:
    text = "Intro\n| a | b |\n<div>x</div>\n![i](@lAmedia)"
    quirks = markdown_quirks(text, "ai")
    assert any("table without a blank line" in q for q in quirks)
    assert any("<div>" in q and "shown as text" in q for q in quirks)
    assert any("'@lAmedia' is not an http(s) URL" in q for q in quirks)
    assert any("single newline is ignored" in q for q in quirks)
    assert markdown_quirks("fine\n\n<font color=#f00>red</font>", "card") == []
