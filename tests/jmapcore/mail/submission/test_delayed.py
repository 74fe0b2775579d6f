"""Delayed send (RFC 8621 §7 sendAt/undoStatus, RFC 4865 FUTURERELEASE): the
proxy holds the message itself, submissions_send_due releases it when due,
and a pending submission can be canceled."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from jmapcore.mail.submission_send import submissions_send_due
from jmapcore.models.submission import EmailSubmission
from jmapsite.tasks import submissions_send_due_task
from tests.jmapcore.mail.submission.conftest import Sender
from tests.servers.smtp import SmtpServer

WEEK = 7 * 24 * 3600


def _held(user: Sender, to: Sender, *, parameters: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A submission held with `parameters` on mailFrom; (submission id, subject, created entry)."""
    email_id, subject = user.draft_create(to=[to.login], subject_prefix="later")
    envelope = {"mailFrom": {"email": user.login, "parameters": parameters}, "rcptTo": [{"email": to.login}]}
    submitted, _ = user.submission_set(
        create={"s": {"identityId": user.identity_id(), "emailId": email_id, "envelope": envelope}}
    )
    assert submitted["notCreated"] is None, submitted["notCreated"]
    created = submitted["created"]["s"]
    return created["id"], subject, created


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_held_submission_is_pending_and_not_sent(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer) -> None:
    before = timezone.now()
    _, subject, created = _held(alice, bob, parameters={"HOLDFOR": "3600"})
    assert created["undoStatus"] == "pending"
    assert created["deliveryStatus"] is None
    send_at = _utc(created["sendAt"])
    assert before + timedelta(seconds=3598) <= send_at <= timezone.now() + timedelta(seconds=3601)
    assert smtp_tls_trust.transmissions_containing(subject.encode()) == []
    assert submissions_send_due(now=timezone.now()) == 0
    assert smtp_tls_trust.transmissions_containing(subject.encode()) == []


def test_cancel_while_pending_sends_nothing(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer) -> None:
    submission_id, subject, _ = _held(alice, bob, parameters={"HOLDFOR": "60"})
    state = alice.state("EmailSubmission")
    canceled = alice.ok("EmailSubmission/set", update={submission_id: {"undoStatus": "canceled"}})
    assert canceled["updated"] == {submission_id: None}
    changes = alice.ok("EmailSubmission/changes", sinceState=state)
    assert changes["updated"] == [submission_id]
    [record] = alice.ok("EmailSubmission/get", ids=[submission_id], properties=["undoStatus"])["list"]
    assert record["undoStatus"] == "canceled"
    assert EmailSubmission.objects.get(jmap_id=submission_id).message == b""

    assert submissions_send_due(now=timezone.now() + timedelta(seconds=120)) == 0
    assert smtp_tls_trust.transmissions_containing(subject.encode()) == []
    assert bob.inbox_subjects() == []
    # Canceled is final: cannot be un-canceled or canceled again.
    again = alice.ok("EmailSubmission/set", update={submission_id: {"undoStatus": "pending"}})
    assert again["notUpdated"][submission_id]["type"] == "invalidProperties"


def test_due_submission_is_sent_and_final(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer) -> None:
    submission_id, subject, created = _held(alice, bob, parameters={"HOLDFOR": "60"})
    state = alice.state("EmailSubmission")
    assert submissions_send_due(now=timezone.now() + timedelta(seconds=61)) == 1
    [sent] = smtp_tls_trust.transmissions_containing(subject.encode())
    assert (sent.tls, sent.starttls) == (True, True)
    # The hold is the proxy's business: the SMTP server never sees HOLDFOR.
    assert not any(option.upper().startswith("HOLD") for option in sent.mail_options)
    [record] = alice.ok("EmailSubmission/get", ids=[submission_id])["list"]
    assert record["undoStatus"] == "final"
    assert record["sendAt"] == created["sendAt"]
    assert record["deliveryStatus"] == {
        bob.login: {"smtpReply": "250 2.1.5 OK", "delivered": "queued", "displayed": "unknown"}
    }
    assert alice.ok("EmailSubmission/changes", sinceState=state)["updated"] == [submission_id]
    assert bob.inbox_subjects() == [subject]
    # Sent once only.
    assert submissions_send_due(now=timezone.now() + timedelta(seconds=120)) == 0
    assert len(smtp_tls_trust.transmissions_containing(subject.encode())) == 1
    # Too late to cancel now.
    late = alice.ok("EmailSubmission/set", update={submission_id: {"undoStatus": "canceled"}})
    assert late["notUpdated"][submission_id]["type"] == "cannotUnsend"


def test_celery_task_sends_what_is_due(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer) -> None:
    submission_id, subject, _ = _held(alice, bob, parameters={"HOLDFOR": "1"})
    EmailSubmission.objects.filter(jmap_id=submission_id).update(send_at=timezone.now() - timedelta(seconds=1))
    assert submissions_send_due_task.apply().get() == 1
    assert len(smtp_tls_trust.transmissions_containing(subject.encode())) == 1
    assert EmailSubmission.objects.get(jmap_id=submission_id).undo_status == "final"


def test_hold_until_a_date(alice: Sender, bob: Sender) -> None:
    release = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    _, _, created = _held(alice, bob, parameters={"HOLDUNTIL": release.isoformat().replace("+00:00", "Z")})
    assert created["undoStatus"] == "pending"
    assert _utc(created["sendAt"]) == release


def test_hold_beyond_max_delayed_send_is_refused(alice: Sender, bob: Sender) -> None:
    email_id, _ = alice.draft_create(to=[bob.login])
    identity_id = alice.identity_id()
    too_far = (datetime.now(UTC) + timedelta(seconds=WEEK + 3600)).isoformat()

    def envelope(parameters: dict[str, Any]) -> dict[str, Any]:
        return {"mailFrom": {"email": alice.login, "parameters": parameters}, "rcptTo": [{"email": bob.login}]}

    submitted, _ = alice.submission_set(create={
        "long": {"identityId": identity_id, "emailId": email_id, "envelope": envelope({"HOLDFOR": str(WEEK + 1)})},
        "far": {"identityId": identity_id, "emailId": email_id, "envelope": envelope({"HOLDUNTIL": too_far})},
        "junk": {"identityId": identity_id, "emailId": email_id, "envelope": envelope({"HOLDFOR": "soon"})},
        "both": {"identityId": identity_id, "emailId": email_id,
                 "envelope": envelope({"HOLDFOR": "10", "HOLDUNTIL": too_far})},
    })
    assert submitted["created"] is None
    assert {key: (e["type"], e["properties"]) for key, e in submitted["notCreated"].items()} == {
        key: ("invalidProperties", ["envelope"]) for key in ("long", "far", "junk", "both")
    }


def test_only_cancel_is_an_allowed_update(alice: Sender, bob: Sender) -> None:
    submission_id, _, _ = _held(alice, bob, parameters={"HOLDFOR": "600"})
    result = alice.ok("EmailSubmission/set", update={
        submission_id: {"undoStatus": "final"},
    })
    assert result["notUpdated"][submission_id]["type"] == "invalidProperties"
    result = alice.ok("EmailSubmission/set", update={submission_id: {"envelope": None}})
    assert result["notUpdated"][submission_id]["type"] == "invalidProperties"
    result = alice.ok("EmailSubmission/set", update={submission_id: {"sendAt": "2030-01-01T00:00:00Z"}})
    assert result["notUpdated"][submission_id]["type"] == "invalidProperties"
    [record] = alice.ok("EmailSubmission/get", ids=[submission_id], properties=["undoStatus"])["list"]
    assert record["undoStatus"] == "pending"


def test_immediate_submission_cannot_be_unsent(alice: Sender, bob: Sender) -> None:
    email_id, _ = alice.draft_create(to=[bob.login])
    submitted, _ = alice.submission_set(create={"s": {"identityId": alice.identity_id(), "emailId": email_id}})
    submission_id = submitted["created"]["s"]["id"]
    result = alice.ok("EmailSubmission/set", update={submission_id: {"undoStatus": "canceled"}})
    assert result["notUpdated"][submission_id]["type"] == "cannotUnsend"


def test_destroying_a_pending_submission_does_not_stop_it(
    alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer
) -> None:
    # RFC 8621 §7.5: destroying only removes the record, it MUST NOT affect delivery.
    submission_id, subject, _ = _held(alice, bob, parameters={"HOLDFOR": "30"})
    destroyed = alice.ok("EmailSubmission/set", destroy=[submission_id])
    assert destroyed["destroyed"] == [submission_id]
    assert alice.ok("EmailSubmission/get", ids=[submission_id])["notFound"] == [submission_id]
    state = alice.state("EmailSubmission")
    assert submissions_send_due(now=timezone.now() + timedelta(seconds=31)) == 1
    assert len(smtp_tls_trust.transmissions_containing(subject.encode())) == 1
    assert bob.inbox_subjects() == [subject]
    # The record stays gone; sending it changed nothing the client can see.
    assert alice.state("EmailSubmission") == state


def test_message_frozen_at_submission_time(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer) -> None:
    submission_id, subject, _ = _held(alice, bob, parameters={"HOLDFOR": "60"})
    [email_id] = [EmailSubmission.objects.get(jmap_id=submission_id).email_id]
    # The draft is destroyed after submitting; the held message still goes out.
    assert alice.ok("Email/set", destroy=[email_id])["destroyed"] == [email_id]
    assert submissions_send_due(now=timezone.now() + timedelta(seconds=61)) == 1
    [sent] = smtp_tls_trust.transmissions_containing(subject.encode())
    assert sent.rcpt_tos == (bob.login,)
    assert bob.inbox_subjects() == [subject]


def test_transient_failure_is_retried(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer) -> None:
    submission_id, subject, _ = _held(alice, bob, parameters={"HOLDFOR": "10"})
    good_port = alice.account.smtp_port
    alice.account.smtp_port = 1  # nothing listens there: connection refused, transient
    alice.account.save(update_fields=["smtp_port"])
    now = timezone.now() + timedelta(seconds=11)
    assert submissions_send_due(now=now) == 1
    row = EmailSubmission.objects.get(jmap_id=submission_id)
    assert (row.undo_status, row.send_attempts) == ("pending", 1)
    assert "connection refused" in row.last_error
    assert row.retry_at is not None and row.retry_at > now
    assert submissions_send_due(now=now) == 0  # backing off

    alice.account.smtp_port = good_port
    alice.account.save(update_fields=["smtp_port"])
    assert submissions_send_due(now=row.retry_at) == 1
    assert EmailSubmission.objects.get(jmap_id=submission_id).undo_status == "final"
    assert len(smtp_tls_trust.transmissions_containing(subject.encode())) == 1


def test_permanent_failure_when_due_is_final_and_undelivered(alice: Sender, smtp_tls_trust: SmtpServer) -> None:
    email_id, subject = alice.draft_create(to=["reject-late@example.org"])
    envelope = {"mailFrom": {"email": alice.login, "parameters": {"HOLDFOR": "5"}},
                "rcptTo": [{"email": "reject-late@example.org"}]}
    submitted, _ = alice.submission_set(
        create={"s": {"identityId": alice.identity_id(), "emailId": email_id, "envelope": envelope}}
    )
    submission_id = submitted["created"]["s"]["id"]
    assert submissions_send_due(now=timezone.now() + timedelta(seconds=6)) == 1
    [record] = alice.ok("EmailSubmission/get", ids=[submission_id])["list"]
    assert record["undoStatus"] == "final"
    status = record["deliveryStatus"]["reject-late@example.org"]
    assert status["delivered"] == "no"
    assert status["smtpReply"].startswith("550 5.1.1")
    assert smtp_tls_trust.transmissions_containing(subject.encode()) == []
