"""bodyValues: transfer and charset decoding, truncation (RFC 8621 §4.1.4, §4.2)."""
from __future__ import annotations

import base64

from jmapcore.mime import message_parse

from .samples import LIST_MANAGER, crlf


def _single(body: bytes, headers: str) -> dict[str, object]:
    message = message_parse(crlf(headers + "\n").rstrip(b"\r\n") + b"\r\n\r\n" + body)
    return message.body_values(["1"])["1"]


def test_quoted_printable_utf8_with_crlf_as_lf() -> None:
    value = _single(b"Gr=C3=BC=C3=9Fe, Bob=\r\n!\r\nSecond line\r\n",
                    "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable")
    assert value == {"value": "Grüße, Bob!\nSecond line\n", "isEncodingProblem": False, "isTruncated": False}


def test_base64_in_a_legacy_charset() -> None:
    encoded = base64.b64encode("Привет, всем!".encode("koi8-r")) + b"\r\n"
    value = _single(encoded,
                    "Content-Type: text/plain; charset=\"koi8-r\"\nContent-Transfer-Encoding: BASE64")
    assert value["value"] == "Привет, всем!" and value["isEncodingProblem"] is False


def test_latin1_label_decodes_windows_1252_punctuation() -> None:
    value = _single(b"\x93quoted\x94 caf\xe9", "Content-Type: text/plain; charset=iso-8859-1")
    assert value["value"] == "\u201cquoted\u201d café"


def test_unknown_charset_is_an_encoding_problem() -> None:
    value = _single(b"hello \xff", "Content-Type: text/plain; charset=x-no-such-charset")
    assert value == {"value": "hello \ufffd", "isEncodingProblem": True, "isTruncated": False}


def test_malformed_octets_become_replacement_characters() -> None:
    value = _single(b"ok \xc3\x28 ok", "Content-Type: text/plain; charset=utf-8")
    assert value["value"] == "ok \ufffd( ok" and value["isEncodingProblem"] is True


def test_bad_base64_and_unknown_transfer_encoding_are_problems() -> None:
    bad = _single(b"aGVsbG8*!\r\n", "Content-Type: text/plain\nContent-Transfer-Encoding: base64")
    assert bad["value"] == "hello" and bad["isEncodingProblem"] is True
    unknown = _single(b"raw text", "Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode")
    assert unknown["value"] == "raw text" and unknown["isEncodingProblem"] is True


def test_missing_charset_uses_utf8_when_valid() -> None:
    value = _single("Zoë".encode(), "Content-Type: text/plain")
    assert value["value"] == "Zoë" and value["isEncodingProblem"] is False


def test_truncation_never_splits_a_character() -> None:
    message = message_parse(crlf("Content-Type: text/plain; charset=utf-8\n\naé€😀z"))
    for limit, expected in [(1, "a"), (2, "a"), (3, "aé"), (5, "aé"), (6, "aé€"), (9, "aé"+"€"),
                            (10, "aé€😀"), (11, "aé€😀z")]:
        value = message.body_values(["1"], limit)["1"]
        assert value["value"] == expected, limit
        assert len(str(value["value"]).encode()) <= limit
        assert value["isTruncated"] is (limit < 11)
    assert message.body_values(["1"], 0)["1"]["isTruncated"] is False


def test_html_truncation_does_not_end_inside_a_tag() -> None:
    message = message_parse(crlf('Content-Type: text/html\n\n<p>Hello <a href="https://example.com">x</a></p>'))
    value = message.body_values(["1"], 20)["1"]
    assert value == {"value": "<p>Hello ", "isEncodingProblem": False, "isTruncated": True}


def test_fetch_parts_selects_text_parts_per_argument() -> None:
    message = message_parse(LIST_MANAGER)
    assert message.fetch_parts("text") == ["1", "2.1.1.1", "2.1.1.3", "3"]
    assert message.fetch_parts("html") == ["1", "2.1.2.1", "3"]
    assert message.fetch_parts("all") == ["1", "2.1.1.1", "2.1.1.3", "2.1.2.1", "3"]
    values = message.body_values([*message.fetch_parts("html"), "nope", "2.2"])
    assert list(values) == ["1", "2.1.2.1", "3", "2.2"]
    assert values["2.1.2.1"]["value"] == "<p>E</p>"


def test_part_content_is_transfer_decoded() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/octet-stream\n"
               "Content-Transfer-Encoding: base64\n\nAAECAw==\n--b--\n")
    message = message_parse(raw)
    assert message.part_content("1") == (b"\x00\x01\x02\x03", "application/octet-stream")
    assert message.part_content("2") is None
    assert message.body_structure(lambda p: p, ["subParts", "size"])["subParts"][0]["size"] == 4
