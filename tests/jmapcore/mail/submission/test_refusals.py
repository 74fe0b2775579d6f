"""What EmailSubmission/set refuses, and partial success (RFC 8621 §7.5):
the test SMTP server refuses "reject*" recipients and senders."""
from __future__ import annotations

from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.identity import Identity
from jmapcore.state import state_change_atomic
from tests.jmapcore.mail.submission.conftest import Sender
from tests.servers.smtp import SmtpServer


def test_partial_rejection_still_sends(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer) -> None:
    refused = "reject-carl@example.org"
    email_id, subject = alice.draft_create(to=[bob.login, refused])
    submitted, _ = alice.submission_set(create={"s": {"identityId": alice.identity_id(), "emailId": email_id}})
    assert submitted["notCreated"] is None, submitted["notCreated"]
    status = submitted["created"]["s"]["deliveryStatus"]
    assert status[bob.login]["delivered"] == "queued"
    assert status[refused]["delivered"] == "no"
    assert status[refused]["smtpReply"].startswith("550 5.1.1")
    assert "recipient refused" in status[refused]["smtpReply"]
    [sent] = smtp_tls_trust.transmissions_containing(subject.encode())
    assert sent.rcpt_tos == (bob.login,)
    assert bob.inbox_subjects() == [subject]


def test_every_recipient_refused_is_invalid_recipients(alice: Sender, smtp_tls_trust: SmtpServer) -> None:
    email_id, subject = alice.draft_create(to=["reject-one@example.org", "reject-two@example.org"])
    state = alice.state("EmailSubmission")
    submitted, _ = alice.submission_set(create={"s": {"identityId": alice.identity_id(), "emailId": email_id}})
    error = submitted["notCreated"]["s"]
    assert error["type"] == "invalidRecipients"
    assert error["invalidRecipients"] == ["reject-one@example.org", "reject-two@example.org"]
    assert submitted["created"] is None
    assert submitted["newState"] == state
    assert smtp_tls_trust.transmissions_containing(subject.encode()) == []
    assert alice.ok("EmailSubmission/get")["list"] == []


def test_from_not_covered_by_the_identity_is_forbidden_from(alice: Sender, bob: Sender,
                                                            smtp_tls_trust: SmtpServer) -> None:
    email_id, subject = alice.draft_create(to=[bob.login], sender="mallory@example.org")
    submitted, _ = alice.submission_set(create={"s": {"identityId": alice.identity_id(), "emailId": email_id}})
    assert submitted["notCreated"]["s"]["type"] == "forbiddenFrom"
    assert smtp_tls_trust.transmissions_containing(subject.encode()) == []


def test_envelope_sender_not_covered_is_forbidden_mail_from(alice: Sender, bob: Sender) -> None:
    email_id, _ = alice.draft_create(to=[bob.login])
    envelope = {"mailFrom": {"email": "mallory@example.org"}, "rcptTo": [{"email": bob.login}]}
    submitted, _ = alice.submission_set(
        create={"s": {"identityId": alice.identity_id(), "emailId": email_id, "envelope": envelope}}
    )
    assert submitted["notCreated"]["s"]["type"] == "forbiddenMailFrom"


def test_sender_refused_by_the_server_is_forbidden_mail_from(alice: Sender, bob: Sender) -> None:
    # The operator gave Alice a domain-wide identity: the proxy allows the
    # "reject-" envelope sender, the SMTP server refuses it at MAIL FROM.
    identity_id = jmap_id_new("i")
    with state_change_atomic(account=alice.account, type_names=["Identity"]) as modseq:
        Identity.objects.create(account=alice.account, jmap_id=identity_id, created_modseq=modseq,
                                updated_modseq=modseq, email="*@example.test")
    email_id, _ = alice.draft_create(to=[bob.login])
    envelope = {"mailFrom": {"email": "reject-" + alice.login}, "rcptTo": [{"email": bob.login}]}
    submitted, _ = alice.submission_set(
        create={"s": {"identityId": identity_id, "emailId": email_id, "envelope": envelope}}
    )
    error = submitted["notCreated"]["s"]
    assert error["type"] == "forbiddenMailFrom"
    assert "550 5.7.1" in error["description"]


def test_explicit_envelope_is_used(alice: Sender, bob: Sender, carol: Sender, smtp_tls_trust: SmtpServer) -> None:
    email_id, subject = alice.draft_create(to=[bob.login])
    envelope = {"mailFrom": {"email": alice.login, "parameters": None}, "rcptTo": [{"email": carol.login}]}
    submitted, _ = alice.submission_set(
        create={"s": {"identityId": alice.identity_id(), "emailId": email_id, "envelope": envelope}}
    )
    created = submitted["created"]["s"]
    assert set(created["deliveryStatus"]) == {carol.login}
    [sent] = smtp_tls_trust.transmissions_containing(subject.encode())
    assert sent.rcpt_tos == (carol.login,)
    assert carol.inbox_subjects() == [subject]
    assert bob.inbox_subjects() == []


def test_empty_envelope_is_no_recipients(alice: Sender) -> None:
    email_id, _ = alice.draft_create(to=[])
    submitted, _ = alice.submission_set(create={"s": {"identityId": alice.identity_id(), "emailId": email_id}})
    assert submitted["notCreated"]["s"]["type"] == "noRecipients"


def test_bad_references_are_invalid_properties(alice: Sender, bob: Sender) -> None:
    email_id, _ = alice.draft_create(to=[bob.login])
    identity_id = alice.identity_id()
    submitted, _ = alice.submission_set(create={
        "no-identity": {"identityId": "inothere", "emailId": email_id},
        "no-email": {"identityId": identity_id, "emailId": "enothere"},
        "no-such-creation": {"identityId": identity_id, "emailId": "#nope"},
        "bad-envelope": {"identityId": identity_id, "emailId": email_id, "envelope": {"mailFrom": "x"}},
        "rcpt-params": {"identityId": identity_id, "emailId": email_id, "envelope": {
            "mailFrom": {"email": alice.login}, "rcptTo": [{"email": bob.login, "parameters": {"NOTIFY": "NEVER"}}]}},
        "server-set": {"identityId": identity_id, "emailId": email_id, "undoStatus": "canceled"},
        "missing": {"identityId": identity_id},
    })
    errors = submitted["notCreated"]
    assert submitted["created"] is None
    assert {key: (error["type"], error["properties"]) for key, error in errors.items()} == {
        "no-identity": ("invalidProperties", ["identityId"]),
        "no-email": ("invalidProperties", ["emailId"]),
        "no-such-creation": ("invalidProperties", ["emailId"]),
        "bad-envelope": ("invalidProperties", ["envelope"]),
        "rcpt-params": ("invalidProperties", ["envelope"]),
        "server-set": ("invalidProperties", ["undoStatus"]),
        "missing": ("invalidProperties", ["emailId"]),
    }
    assert bob.inbox_subjects() == []


def test_bad_on_success_arguments_are_invalid_arguments(alice: Sender) -> None:
    error = alice.error("EmailSubmission/set", onSuccessUpdateEmail=["not", "a", "map"])
    assert error["type"] == "invalidArguments"
    error = alice.error("EmailSubmission/set", onSuccessDestroyEmail={"not": "a list"})
    assert error["type"] == "invalidArguments"
