"""Small helpers for the conversion tests: build vCard text from lines."""
from __future__ import annotations


def vcard(*lines: str, version: str = "4.0") -> str:
    """A vCard with VERSION `version` and the given content lines, CRLF-terminated."""
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD", ""])


def content_lines(text: str) -> list[str]:
    """The unfolded content lines of one vCard, without BEGIN/END."""
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
    return [line for line in unfolded.split("\r\n") if line and line not in ("BEGIN:VCARD", "END:VCARD")]
