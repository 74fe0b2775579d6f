"""preview and hasAttachment (RFC 8621 §4.1.4)."""
from __future__ import annotations

from jmapcore.mime import message_parse

from .samples import crlf


def test_preview_collapses_white_space_and_skips_quotes() -> None:
    message = message_parse(crlf("Subject: x\n\nHi Bob,\n\n   see   below.\n> quoted old text\n> more\n"))
    assert message.preview == "Hi Bob, see below."


def test_preview_is_at_most_256_characters() -> None:
    message = message_parse(crlf("Subject: x\n\n" + "word " * 200))
    assert 0 < len(message.preview) <= 256
    assert message.preview.startswith("word word")


def test_preview_from_html_when_there_is_no_text_part() -> None:
    message = message_parse(crlf(
        "Content-Type: text/html; charset=utf-8\n\n<html><head><style>p{color:red}</style>"
        "<title>T</title></head><body><p>Caf&eacute;&nbsp;at&nbsp;noon</p><script>alert(1)</script>"
        "<div>see&#32;you</div></body></html>"))
    assert message.preview == "Café\xa0at\xa0noon see you".replace("\xa0", " ")


def test_preview_prefers_the_plain_alternative() -> None:
    message = message_parse(crlf(
        "Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/plain\n\nplain version\n"
        "--a\nContent-Type: text/html\n\n<p>html version</p>\n--a--\n"))
    assert message.preview == "plain version"


def test_has_attachment_ignores_inline_dispositions() -> None:
    inline = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n"
                  "--b\nContent-Type: application/pdf\nContent-Disposition: inline; filename=a.pdf\n\n%PDF\n--b--\n")
    attached = inline.replace(b"Disposition: inline", b"Disposition: attachment")
    assert message_parse(inline).has_attachment is False
    assert message_parse(attached).has_attachment is True
    assert message_parse(crlf("Subject: none\n\nbody\n")).has_attachment is False


def test_size_is_the_octet_count() -> None:
    raw = crlf("Subject: x\n\nbody\n")
    assert message_parse(raw).size == len(raw)
