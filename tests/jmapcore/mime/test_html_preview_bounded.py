"""html_to_text: the visible text of an HTML part, linear and bounded (issue 8).

Python's html.parser (before 3.11.13) is quadratic on unterminated markup: a
64 KB part of repeated `<a b="` took 11-12 s. html_to_text parses with libxml2
(lxml) and reads at most MAX_HTML_CHARS characters.
"""
from __future__ import annotations

import pytest

from jmapcore.mime.preview import MAX_HTML_CHARS, html_to_text, make_preview
from tests.linear_run import sizes_run


def test_visible_text_without_scripts_styles_and_head() -> None:
    html = ("<html><head><title>Invoice</title><style>p{color:red}</style></head><body>"
            "<p>Dear&nbsp;alice,</p><script>steal()</script>your <b>order</b> shipped"
            "<!-- tracking --><template>hidden</template><div>bob&#x21;</div></body></html>")  # fmt: skip
    text = html_to_text(html)
    assert make_preview([text]) == "Dear\xa0alice, your order shipped bob!".replace("\xa0", " ")
    for hidden in ("Invoice", "color", "steal", "tracking", "hidden"):
        assert hidden not in text


def test_block_elements_are_separated() -> None:
    assert make_preview([html_to_text("<table><tr><td>a</td><td>b</td></tr></table>x<ul><li>1<li>2</ul>")]) == (
        "a b x 1 2"
    )
    assert make_preview([html_to_text("one<br>two<hr>three<h1>four</h1>five")]) == "one two three four five"


def test_garbage_and_empty_input() -> None:
    assert html_to_text("") == ""
    assert html_to_text("   ") == ""
    assert html_to_text("<!-- only a comment -->") == ""
    assert html_to_text("plain & simple") == "plain & simple"
    assert html_to_text("<?xml version='1.0' encoding='iso-8859-1'?><p>caf\u00e9</p>").strip() == "caf\u00e9"
    assert html_to_text("a\ud800b") == "a?b"  # a lone surrogate cannot reach libxml2
    assert "text" in html_to_text("<p <<< >>> text")


def test_text_nested_2000_deep_is_kept() -> None:
    assert "deep" in html_to_text("<div>" * 2000 + "deep")


def test_only_the_first_max_html_chars_are_read() -> None:
    html = "<p>" + "x" * MAX_HTML_CHARS + "</p><p>mallory was here</p>"
    text = html_to_text(html)
    assert "mallory" not in text
    assert text.strip() == "x" * (MAX_HTML_CHARS - 3)


# Hostile shapes, each at n and 16 n characters (16 n = MAX_HTML_CHARS).
SHAPES = {
    "unterminated-attributes": "'<a b=\"' * (n // 6)",
    "lone-angle-brackets": "'<' * n",
    "unterminated-comments": "'<!--' * (n // 4)",
    "unterminated-script": "'<script>' + 'x<' * (n // 2)",
    "many-attributes": "'<p ' + 'a=1 ' * (n // 4) + '>text'",
    "deep-nesting": "'<div>' * (n // 5) + 'text'",
    "many-paragraphs": "'<p>x</p>' * (n // 8)",
    "entities": "'&#x41;&amp;&bogus;' * (n // 18)",
    "unclosed-tables": "'<table><tr><td>' * (n // 15)",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_html_to_text_is_linear(shape: str) -> None:
    setup = f"from jmapcore.mime.preview import html_to_text as run\ndef make(n):\n    return {SHAPES[shape]}\n"
    summaries = sizes_run(setup, base=MAX_HTML_CHARS // 16, what=f"html_to_text on {shape}")
    assert all(summary.startswith("str:") for summary in summaries)
