"""Bcc never leaves (RFC 5322 §3.6.3, DESIGN.md "Security"): a Bcc recipient
gets the message through the envelope, but no transmitted byte says so."""
from __future__ import annotations

from tests.jmapcore.mail.submission.conftest import Sender
from tests.servers.smtp import SmtpServer


def test_bcc_recipient_receives_without_a_bcc_header(
    alice: Sender, bob: Sender, carol: Sender, smtp_tls_trust: SmtpServer
) -> None:
    email_id, subject = alice.draft_create(to=[bob.login], bcc=[carol.login], subject_prefix="blind")
    submitted, _ = alice.submission_set(create={"s": {"identityId": alice.identity_id(), "emailId": email_id}})
    created = submitted["created"]["s"]
    # The generated envelope includes the Bcc address (RFC 8621 §7).
    assert [rcpt["email"] for rcpt in created["envelope"]["rcptTo"]] == [bob.login, carol.login]
    assert set(created["deliveryStatus"]) == {bob.login, carol.login}

    [sent] = smtp_tls_trust.transmissions_containing(subject.encode())
    assert sent.rcpt_tos == (bob.login, carol.login)
    assert b"bcc:" not in sent.data.lower()
    assert carol.login.encode() not in sent.data
    # Alice's own copy still knows the Bcc.
    [draft] = alice.ok("Email/get", ids=[email_id], properties=["bcc"])["list"]
    assert draft["bcc"] == [{"name": None, "email": carol.login}]

    assert bob.inbox_subjects() == [subject]
    assert carol.inbox_subjects() == [subject]
    with carol.imap() as imap:
        imap.select_folder("INBOX", readonly=True)
        [raw] = [item[b"BODY[]"] for item in imap.fetch(imap.search("ALL"), ["BODY.PEEK[]"]).values()]
    assert b"bcc:" not in raw.lower()
