"""Realistic sample messages shared by the MIME converter tests (alice, bob and
mallory as the usual personas)."""
from __future__ import annotations

import json
from typing import Any

from jmapcore.mime import ParsedMessage


def crlf(text: str) -> bytes:
    """A message written with LF line ends, as CRLF octets (UTF-8)."""
    return text.replace("\n", "\r\n").encode("utf-8")


def blob_id(part_id: str) -> str:
    return f"B-{part_id}"


def everything(message: ParsedMessage) -> dict[str, Any]:
    """Every property the converter can produce, JSON round-tripped (so anything
    not JSON-serialisable fails here)."""
    props = ["partId", "blobId", "size", "headers", "name", "type", "charset", "disposition", "cid",
             "language", "location", "subParts", "header:Content-Type:asText"]
    data = {
        "headers": message.headers,
        "metadata": message.metadata(),
        "grouped": message.header("To", "GroupedAddresses", all=True),
        "urls": message.header("List-Post", "URLs"),
        "bodyStructure": message.body_structure(blob_id, props),
        "textBody": message.text_body(blob_id),
        "htmlBody": message.html_body(blob_id),
        "attachments": message.attachments(blob_id),
        "bodyValues": message.body_values(message.fetch_parts("all"), 100),
        "preview": message.preview,
        "hasAttachment": message.has_attachment,
        "size": message.size,
    }
    for part_id in message.fetch_parts("all"):
        message.part_content(part_id)
    result: dict[str, Any] = json.loads(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    return result


# The list-manager example of RFC 8621 §4.1.4, parts labelled A..K in their text.
LIST_MANAGER = crlf("""\
From: Alice <alice@example.com>
To: list@example.org
Subject: Weekly report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline

A
--outer
Content-Type: multipart/mixed; boundary="middle"

--middle
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: multipart/mixed; boundary="altmixed"

--altmixed
Content-Type: text/plain
Content-Disposition: inline

B
--altmixed
Content-Type: image/jpeg
Content-Disposition: inline

C
--altmixed
Content-Type: text/plain
Content-Disposition: inline

D
--altmixed--
--alt
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html

<p>E</p>
--rel
Content-Type: image/jpeg

F
--rel--
--alt--
--middle
Content-Type: image/jpeg
Content-Disposition: attachment

G
--middle
Content-Type: application/x-excel

H
--middle
Content-Type: message/rfc822

From: bob@example.org
Subject: J

J
--middle--
--outer
Content-Type: text/plain
Content-Disposition: inline

K
--outer--
""")
