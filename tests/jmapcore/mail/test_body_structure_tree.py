"""bodyStructure is the full MIME tree (RFC 8621 §4.1.4): its multipart parts
carry subParts even with the default bodyProperties (§4.2), which do not name
subParts, so a client can walk it."""
from __future__ import annotations

import json
from typing import Any

from django.test import Client

from tests.jmapcore.mail.conftest import MailUser
from tests.jmapcore.mail.test_email_get import MULTIPART


def _shape(node: dict[str, Any]) -> Any:
    """(type, [children]) for multipart parts, the type for leaves."""
    if "subParts" in node and node["subParts"] is not None:
        return (node["type"], [_shape(child) for child in node["subParts"]])
    return node["type"]


EXPECTED = ("multipart/mixed", [("multipart/alternative", ["text/plain", "text/html"]), "application/pdf"])


def test_default_body_properties_give_the_whole_tree(alice_mail: MailUser) -> None:
    alice_mail.deliver(MULTIPART)
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    [email] = alice_mail.ok("Email/get", ids=[email_id], properties=["bodyStructure"])["list"]
    tree = email["bodyStructure"]
    assert _shape(tree) == EXPECTED
    assert tree["partId"] is None and tree["blobId"] is None
    leaves = tree["subParts"][0]["subParts"] + tree["subParts"][1:]
    assert all("subParts" not in leaf and leaf["partId"] for leaf in leaves)
    assert leaves[2]["name"] == "plan.pdf"


def test_chosen_body_properties_keep_the_tree(alice_mail: MailUser) -> None:
    alice_mail.deliver(MULTIPART)
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    [email] = alice_mail.ok(
        "Email/get", ids=[email_id], properties=["bodyStructure", "textBody"], bodyProperties=["type", "partId"]
    )["list"]
    assert _shape(email["bodyStructure"]) == EXPECTED
    assert set(email["bodyStructure"]) == {"type", "partId", "subParts"}
    assert email["textBody"] == [{"type": "text/plain", "partId": email["textBody"][0]["partId"]}]
    # Asked for explicitly, subParts is on every part, null on leaves (as before).
    [asked] = alice_mail.ok(
        "Email/get", ids=[email_id], properties=["bodyStructure"], bodyProperties=["type", "subParts"]
    )["list"]
    assert _shape(asked["bodyStructure"]) == EXPECTED
    assert asked["bodyStructure"]["subParts"][1] == {"type": "application/pdf", "subParts": None}


def test_email_parse_gives_the_tree_too(alice_mail: MailUser, jmap_client: Client) -> None:
    upload = jmap_client.post(
        f"/upload/{alice_mail.account_id}/", data=MULTIPART, content_type="message/rfc822",
        HTTP_AUTHORIZATION=alice_mail.auth,
    )
    assert upload.status_code == 201, upload.content
    blob_id = json.loads(upload.content)["blobId"]
    parsed = alice_mail.ok("Email/parse", blobIds=[blob_id], properties=["bodyStructure"])
    assert _shape(parsed["parsed"][blob_id]["bodyStructure"]) == EXPECTED
