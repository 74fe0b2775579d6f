"""EmailBodyPart objects and the textBody/htmlBody/attachments algorithm (RFC 8621 §4.1.4)."""
from __future__ import annotations

from jmapcore.mime import message_parse

from .samples import LIST_MANAGER, blob_id, crlf


def _labels(parts: list[dict[str, object]], message_bytes: bytes) -> list[str]:
    message = message_parse(message_bytes)
    labels = []
    for part in parts:
        content = message.part_content(str(part["partId"]))
        assert content is not None
        labels.append(content[0].decode().strip().removeprefix("<p>").removesuffix("</p>")[-1])
    return labels


def test_rfc_list_manager_example_decomposes_as_the_rfc_says() -> None:
    message = message_parse(LIST_MANAGER)
    assert _labels(message.text_body(blob_id), LIST_MANAGER) == ["A", "B", "C", "D", "K"]
    assert _labels(message.html_body(blob_id), LIST_MANAGER) == ["A", "E", "K"]
    assert _labels(message.attachments(blob_id), LIST_MANAGER) == ["C", "F", "G", "H", "J"]


def test_only_leaf_parts_have_part_and_blob_ids() -> None:
    message = message_parse(LIST_MANAGER)
    root = message.body_structure(blob_id, ["partId", "blobId", "type", "size", "subParts"])
    assert root["partId"] is None and root["blobId"] is None and root["type"] == "multipart/mixed"
    assert root["size"] == 0
    first = root["subParts"][0]
    assert first == {"partId": "1", "blobId": "B-1", "type": "text/plain", "size": 1, "subParts": None}
    middle = root["subParts"][1]
    assert middle["partId"] is None
    assert [p["partId"] for p in middle["subParts"][1:]] == ["2.2", "2.3", "2.4"]
    # message/rfc822 is a leaf: bodyStructure does not recurse into it.
    assert middle["subParts"][3]["type"] == "message/rfc822"
    assert middle["subParts"][3]["subParts"] is None


def test_default_body_properties_are_the_rfc_list() -> None:
    message = message_parse(LIST_MANAGER)
    assert list(message.text_body(blob_id)[0]) == ["partId", "blobId", "size", "name", "type", "charset",
                                                   "disposition", "cid", "language", "location"]


def test_alternative_html_only_and_text_only() -> None:
    html_only = crlf("""\
Content-Type: multipart/alternative; boundary=x

--x
Content-Type: text/html; charset=utf-8

<b>only html</b>
--x--
""")
    message = message_parse(html_only)
    assert [p["type"] for p in message.text_body(blob_id)] == ["text/html"]
    assert [p["type"] for p in message.html_body(blob_id)] == ["text/html"]
    assert message.attachments(blob_id) == []


def test_non_multipart_message_is_part_one() -> None:
    message = message_parse(crlf("Subject: plain\n\nJust text.\n"))
    structure = message.body_structure(blob_id)
    assert structure["partId"] == "1" and structure["type"] == "text/plain"
    assert structure["charset"] == "us-ascii"
    assert message.text_body(blob_id) == message.html_body(blob_id) == [structure]


def test_part_properties_from_mime_headers() -> None:
    raw = crlf("""\
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: application/pdf; name="ignored.pdf"
Content-Disposition: ATTACHMENT;
 filename*0*=utf-8''%C3%9Cberweisung%20M;
 filename*1*=%C3%A4rz;
 filename*2=".pdf"
Content-ID: <Part.1@example.com>
Content-Language: de-CH, en (fallback)
Content-Location: https://files.example.com/
 report.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b
Content-Type: image/png; name="=?UTF-8?Q?Bild_=C3=BC.png?="

PNG
--b
Content-Type: text/plain

no charset parameter
--b--
""")
    message = message_parse(raw)
    pdf, png, text = message.body_structure(blob_id, ["subParts", "name", "type", "charset", "disposition",
                                                      "cid", "language", "location", "size",
                                                      "header:Content-ID:asText"])["subParts"]
    assert pdf == {"subParts": None, "name": "Überweisung März.pdf", "type": "application/pdf", "charset": None,
                   "disposition": "attachment", "cid": "Part.1@example.com", "language": ["de-CH", "en"],
                   "location": "https://files.example.com/report.pdf", "size": 9,
                   "header:Content-ID:asText": "<Part.1@example.com>"}
    assert png["name"] == "Bild ü.png" and png["charset"] is None and png["disposition"] is None
    assert text["charset"] == "us-ascii" and text["language"] is None and text["location"] is None


def test_digest_parts_default_to_message_rfc822() -> None:
    raw = crlf("""\
Content-Type: multipart/digest; boundary=d

--d

From: bob@example.org
Subject: one

one
--d--
""")
    structure = message_parse(raw).body_structure(blob_id, ["subParts", "type", "charset"])
    assert structure["subParts"] == [{"subParts": None, "type": "message/rfc822", "charset": None}]


def test_part_headers_are_raw_and_in_order() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nX-A: 1\nContent-Type: text/plain\n\nx\n--b--\n")
    part = message_parse(raw).body_structure(blob_id, ["subParts", "headers"])["subParts"][0]
    assert part["headers"] == [{"name": "X-A", "value": " 1"}, {"name": "Content-Type", "value": " text/plain"}]


def test_text_part_with_filename_after_first_is_an_attachment() -> None:
    raw = crlf("""\
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

Hello Bob
--b
Content-Type: text/plain; name=notes.txt

my notes
--b
Content-Type: image/gif

GIF89a
--b--
""")
    message = message_parse(raw)
    assert [p["partId"] for p in message.text_body(blob_id)] == ["1", "3"]
    assert [p["partId"] for p in message.attachments(blob_id)] == ["2"]
    assert message.has_attachment


def test_inline_cid_image_in_related_does_not_count_as_attachment() -> None:
    raw = crlf("""\
Content-Type: multipart/related; boundary=r

--r
Content-Type: text/html

<img src="cid:logo">
--r
Content-Type: image/png
Content-ID: <logo>

PNG
--r--
""")
    message = message_parse(raw)
    assert [p["type"] for p in message.attachments(blob_id)] == ["image/png"]
    assert message.has_attachment is False
