"""Plain-text rendering of body parts for ``preview`` (RFC 8621 §4.1.4)."""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

PREVIEW_LENGTH = 256
_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>?")
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template"})
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "table", "ul", "ol", "hr", "section", "article"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML document, markup, scripts and styles removed."""
    try:
        parser = _TextExtractor()
        parser.feed(html)
        parser.close()
        return "".join(parser.chunks)
    except Exception:  # fall back to a crude strip on parser trouble
        return unescape(_TAG.sub(" ", html))


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
