"""Sending a draft end to end (RFC 8621 §7.5): Email/set creates it in Drafts,
EmailSubmission/set sends it over STARTTLS through the real SMTP server with
onSuccessUpdateEmail moving it to Sent, and Bob finds it in his INBOX."""
from __future__ import annotations

from tests.jmapcore.mail.submission.conftest import Sender
from tests.servers.smtp import SmtpServer


def _folder_subjects(user: Sender, folder: str) -> list[bytes]:
    with user.imap() as imap:
        imap.select_folder(folder, readonly=True)
        fetched = imap.fetch(imap.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return [data[b"BODY[HEADER.FIELDS (SUBJECT)]"].strip() for data in fetched.values()]


def test_draft_sent_to_bob_moves_to_sent(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer) -> None:
    boxes = alice.mailboxes()
    subject = "lunch-plans-" + alice.account_id
    responses = alice.request(
        ["Email/set", {"accountId": alice.account_id,
                       "create": {"draft": alice.draft_json(to=[bob.login], subject=subject)}}, "0"],
        ["EmailSubmission/set", {
            "accountId": alice.account_id,
            "create": {"send": {"identityId": alice.identity_id(), "emailId": "#draft"}},
            "onSuccessUpdateEmail": {
                "#send": {"mailboxIds": {boxes["sent"]["id"]: True}, "keywords/$draft": None},
            },
        }, "1"],
    )
    [(_, email_set, _), (name, submitted, call_id), (implicit_name, implicit, implicit_id)] = responses
    email_id = email_set["created"]["draft"]["id"]
    assert name == "EmailSubmission/set", submitted
    assert submitted["notCreated"] is None, submitted["notCreated"]
    created = submitted["created"]["send"]
    assert created["undoStatus"] == "final"
    assert created["threadId"] == email_set["created"]["draft"]["threadId"]
    assert created["envelope"] == {
        "mailFrom": {"email": alice.login, "parameters": None},
        "rcptTo": [{"email": bob.login, "parameters": None}],
    }
    assert created["deliveryStatus"] == {
        bob.login: {"smtpReply": "250 2.1.5 OK", "delivered": "queued", "displayed": "unknown"}
    }
    # The implicit Email/set follows, with the same call id (RFC 8621 §7.5).
    assert (implicit_name, implicit_id) == ("Email/set", call_id)
    assert implicit["updated"] == {email_id: None}, implicit

    # What left: one STARTTLS-protected transaction, logged in as Alice.
    [sent] = smtp_tls_trust.transmissions_containing(subject.encode())
    assert (sent.listener, sent.tls, sent.starttls, sent.login) == ("plain", True, True, alice.login)
    assert (sent.mail_from, sent.rcpt_tos, sent.delivered) == (alice.login, (bob.login,), (bob.login,))

    # Alice's copy is in Sent, no longer a draft, on the server and in the proxy.
    assert _folder_subjects(alice, "Drafts") == []
    assert _folder_subjects(alice, "Sent") == [f"Subject: {subject}".encode()]
    [email] = alice.ok("Email/get", ids=[email_id], properties=["mailboxIds", "keywords"])["list"]
    assert email["mailboxIds"] == {boxes["sent"]["id"]: True}
    assert "$draft" not in email["keywords"]

    # Bob receives it.
    assert bob.inbox_subjects() == [subject]
    inbox = bob.mailboxes()["inbox"]["id"]
    [bob_email_id] = bob.ok("Email/query", filter={"inMailbox": inbox})["ids"]
    [got] = bob.ok("Email/get", ids=[bob_email_id], properties=["from", "to", "subject"])["list"]
    assert got["from"] == [{"name": "Alice", "email": alice.login}]
    assert got["to"] == [{"name": None, "email": bob.login}]

    # The submission is on record.
    [record] = alice.ok("EmailSubmission/get", ids=[created["id"]])["list"]
    assert record["emailId"] == email_id
    assert record["identityId"] == alice.identity_id()
    assert record["undoStatus"] == "final"
    assert record["dsnBlobIds"] == [] and record["mdnBlobIds"] == []
    assert record["sendAt"].endswith("Z")


def test_on_success_destroy_email(alice: Sender, bob: Sender) -> None:
    email_id, subject = alice.draft_create(to=[bob.login])
    submitted, implicit = alice.submission_set(
        create={"s": {"identityId": alice.identity_id(), "emailId": email_id}},
        onSuccessDestroyEmail=["#s"],
    )
    assert submitted["created"]["s"]["undoStatus"] == "final"
    assert implicit is not None and implicit["destroyed"] == [email_id]
    assert alice.ok("Email/get", ids=[email_id])["notFound"] == [email_id]
    assert _folder_subjects(alice, "Drafts") == []
    assert bob.inbox_subjects() == [subject]


def test_on_success_is_skipped_when_the_submission_fails(alice: Sender) -> None:
    email_id, _ = alice.draft_create(to=["reject-me@example.org"])
    result, implicit = alice.submission_set(
        create={"s": {"identityId": alice.identity_id(), "emailId": email_id}},
        onSuccessDestroyEmail=["#s"],
    )
    assert implicit is None
    assert result["notCreated"]["s"]["type"] == "invalidRecipients"
    assert alice.ok("Email/get", ids=[email_id], properties=["id"])["list"] == [{"id": email_id}]


def test_session_advertises_delayed_send(alice: Sender) -> None:
    response = alice.client.get("/.well-known/jmap", HTTP_AUTHORIZATION=alice.auth, follow=True)
    session = response.json()
    capability = session["accounts"][alice.account_id]["accountCapabilities"]["urn:ietf:params:jmap:submission"]
    assert capability == {"maxDelayedSend": 7 * 24 * 3600, "submissionExtensions": {"FUTURERELEASE": []}}
