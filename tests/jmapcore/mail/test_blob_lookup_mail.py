"""Blob/lookup (RFC 9404 §4.3) finds the Email, Thread and Mailbox of a
message blob and of a body-part blob."""
from __future__ import annotations

from jmapcore.limits import CORE_CAPABILITY
from jmapcore.mail.capability import MAIL_CAPABILITY
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.jmapcore.mail.conftest import MailUser
from tests.jmapcore.mail.test_email_get import MULTIPART

BLOB = "urn:ietf:params:jmap:blob"


def test_lookup_message_and_part_blobs(alice_mail: MailUser) -> None:
    alice_mail.deliver(MULTIPART)
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    [email] = alice_mail.ok("Email/get", ids=[email_id], properties=["blobId", "threadId", "mailboxIds",
                                                                      "attachments"])["list"]
    part_blob = email["attachments"][0]["blobId"]
    body = jmap_request(
        ["Blob/lookup", {"accountId": alice_mail.account_id, "typeNames": ["Email", "Thread", "Mailbox"],
                         "ids": [email["blobId"], part_blob, "Mnothing"]}, "0"],
        using=[CORE_CAPABILITY, MAIL_CAPABILITY, BLOB],
    )
    [(name, result, _)] = method_responses(api_post(alice_mail.client, alice_mail.auth, body))
    assert name == "Blob/lookup", result
    found = {item["id"]: item["matchedIds"] for item in result["list"]}
    expected = {"Email": [email_id], "Thread": [email["threadId"]], "Mailbox": list(email["mailboxIds"])}
    assert found[email["blobId"]] == expected
    assert found[part_blob] == expected
    assert result["notFound"] == ["Mnothing"]
