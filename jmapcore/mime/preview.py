"""Plain-text rendering of body parts for ``preview`` (RFC 8621 §4.1.4).

HTML goes through libxml2's HTML parser (lxml), which reads any byte soup in
one pass and recovers from broken markup; Python's html.parser is quadratic on
unterminated constructs before 3.11.13 (a 64 KB part of repeated `<a b="`
took 11-12 s). Only a preview is wanted, so at most MAX_HTML_CHARS of a part
are parsed: the cost of one part is bounded whatever a sender puts in it.
"""
from __future__ import annotations

import re

from lxml import etree

PREVIEW_LENGTH = 256
# The HTML read for a preview: far more than PREVIEW_LENGTH characters of
# text ever need, even behind a large <head> or inline styles.
MAX_HTML_CHARS = 256 * 1024
_WS = re.compile(r"\s+")
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template"})
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "table", "ul", "ol", "hr", "section", "article"})  # fmt: skip


def _parser() -> etree.HTMLParser:
    # recover: take whatever markup there is; no_network: never fetch a DTD or
    # entity; comments and processing instructions are not text. huge_tree
    # raises libxml2's nesting limit from 256 to 2048 elements (text nested
    # deeper is dropped): the input is capped at MAX_HTML_CHARS anyway, and the
    # tree is walked without recursion.
    return etree.HTMLParser(
        encoding="utf-8", recover=True, no_network=True, remove_comments=True, remove_pis=True,
        remove_blank_text=False, compact=True, huge_tree=True,
    )  # fmt: skip


def html_to_text(html: str) -> str:
    """Visible text of an HTML document: markup removed, the content of script,
    style, head, title and template elements dropped, a space around
    each block element (paragraphs, list items, cells, line breaks, ...) so that
    their words do not run together, character references decoded.

    Reads at most MAX_HTML_CHARS characters; linear in that length."""
    if not html:
        return ""
    data = html[:MAX_HTML_CHARS].encode("utf-8", "replace")
    try:
        root = etree.fromstring(data, _parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return ""
    if root is None:  # nothing but whitespace or comments
        return ""
    chunks: list[str] = []
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _SKIPPED_TAGS:
                walker.skip_subtree()  # its "end" still comes, for the tail
                continue
            if tag in _BLOCK_TAGS:
                chunks.append(" ")
            if element.text:
                chunks.append(element.text)
        else:
            if tag in _BLOCK_TAGS:
                chunks.append(" ")
            if element.tail and element is not root:
                chunks.append(element.tail)
    return "".join(chunks)


def collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


def unquoted(text: str) -> str:
    """Drop quoted (``>``-prefixed) lines."""
    lines = [line for line in text.split("\n") if not line.lstrip().startswith(">")]
    return "\n".join(lines)


def make_preview(chunks: list[str]) -> str:
    """Collapsed text of ``chunks``, quoted lines skipped unless nothing else is
    left, at most PREVIEW_LENGTH characters."""
    full = collapse(" ".join(chunks))
    short = collapse(" ".join(unquoted(c) for c in chunks))
    text = short or full
    return text[:PREVIEW_LENGTH].rstrip() if len(text) > PREVIEW_LENGTH else text
