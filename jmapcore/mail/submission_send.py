"""Sending EmailSubmissions over SMTP, at once or when their hold ends (RFC 8621 §7).

submission_transmit() runs one SMTP transaction and returns the
deliveryStatus map (RFC 8621 §7: per recipient the smtpReply to RCPT TO,
`delivered` "queued" once the submission server accepted it, "no" when it
refused the recipient; `displayed` "unknown"). It raises SmtpError only
when nothing was accepted; submission_send_error() turns that into the
EmailSubmission/set SetError.

submissions_send_due() is the delayed sender: it sends every pending
submission whose sendAt has come and marks it final. Rows are claimed with
a conditional UPDATE (a lease), so any number of workers may run it at
once and a cancel (jmapcore.mail.methods.email_submission) can never race a send:
whichever conditional UPDATE comes first wins. A transient failure is
retried with backoff; a permanent one, or too many transient ones, makes
the submission final with `delivered` "no" for every recipient.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from backends.base import BackendError
from backends.smtp.client import SmtpResult, smtp_send
from backends.smtp.errors import submission_set_error
from jmapcore.models.submission import EmailSubmission
from jmapcore.protocol.errors import SetError, SetErrorException
from jmapcore.state import state_change_atomic

logger = logging.getLogger(__name__)

PENDING = EmailSubmission.UndoStatus.PENDING
FINAL = EmailSubmission.UndoStatus.FINAL
# How long a sender may hold a claimed row before another may take it over.
CLAIM_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
BATCH = 200


def _status(reply: str, delivered: str) -> dict[str, str]:
    return {"smtpReply": reply, "delivered": delivered, "displayed": "unknown"}


def _reply(code: int, text: str) -> str:
    return f"{code} {text}".strip() if code else f"550 5.1.3 {text}"


def delivery_status_sent(result: SmtpResult) -> dict[str, dict[str, str]]:
    """deliveryStatus after a transaction the server accepted (RFC 8621 §7)."""
    return {
        outcome.address: _status(_reply(outcome.code, outcome.text), "queued" if outcome.accepted else "no")
        for outcome in result.recipients
    }


def delivery_status_failed(*, error: BackendError, recipients: list[str]) -> dict[str, dict[str, str]]:
    """deliveryStatus when nothing was accepted: every recipient "no", with the
    server's reply to it when there was one."""
    refused = {r.address: _reply(r.code, r.text) for r in getattr(error, "rejections", ())}
    code, text = getattr(error, "code", 0), getattr(error, "text", "")
    overall = f"{code} {text}".strip() if code else f"451 4.4.0 not sent: {error}"
    return {address: _status(refused.get(address, overall), "no") for address in recipients}


def submission_transmit(
    *, account: Account, envelope: dict[str, Any], message: bytes, mail_from_params: dict[str, str | None]
) -> dict[str, dict[str, str]]:
    """Send `message` (Bcc already removed) with `envelope`; the deliveryStatus.
    Raises SmtpError (a BackendError) when no recipient was accepted."""
    result = smtp_send(
        account=account,
        mail_from=envelope["mailFrom"]["email"],
        recipients=[address["email"] for address in envelope["rcptTo"]],
        message=message,
        mail_from_params=dict(mail_from_params) or None,
    )
    return delivery_status_sent(result)


def submission_send_now(
    *, account: Account, envelope: dict[str, Any], message: bytes, mail_from_params: dict[str, str | None]
) -> dict[str, dict[str, str]]:
    """submission_transmit() for an EmailSubmission/set create: a total failure
    is a SetErrorException with the RFC 8621 §7.5 type (invalidRecipients,
    forbiddenMailFrom, tooLarge, ... or serverFail)."""
    try:
        return submission_transmit(
            account=account, envelope=envelope, message=message, mail_from_params=mail_from_params
        )
    except BackendError as error:
        type_, description, extra = submission_set_error(error)
        raise SetErrorException(SetError(type_, description, extra=extra)) from None


# -- the delayed sender ------------------------------------------------------------


def _free(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def submission_claim(*, pk: int, now: datetime) -> bool:
    """Take the lease on a pending row; False when someone else holds it or it
    is no longer pending (sent or canceled)."""
    claimed = (
        EmailSubmission.objects.filter(pk=pk, undo_status=PENDING)
        .filter(_free(now))
        .update(claimed_until=now + CLAIM_LEASE)
    )
    return claimed == 1


def submission_cancel(*, pk: int, now: datetime) -> bool:
    """Cancel a pending row unless a sender holds it (RFC 8621 §7.5 cannotUnsend
    otherwise). Drops the frozen message. The caller records the change."""
    canceled = (
        EmailSubmission.objects.filter(pk=pk, undo_status=PENDING)
        .filter(_free(now))
        .update(undo_status=EmailSubmission.UndoStatus.CANCELED, message=b"", mail_from_params={})
    )
    return canceled == 1


def _finish(row: EmailSubmission, delivery_status: dict[str, Any], error: str) -> None:
    """Mark a claimed row final. A live row changes the EmailSubmission state;
    a tombstone (destroyed while pending) is updated silently."""
    fields: dict[str, Any] = {
        "undo_status": FINAL,
        "delivery_status": delivery_status,
        "message": b"",
        "claimed_until": None,
        "retry_at": None,
        "send_attempts": row.send_attempts + 1,
        "last_error": error,
    }
    if row.destroyed:
        EmailSubmission.objects.filter(pk=row.pk).update(**fields)
        return
    with state_change_atomic(account=row.account, type_names=[EmailSubmission.jmap_type]) as modseq:
        EmailSubmission.objects.filter(pk=row.pk).update(**fields, updated_modseq=modseq, updated_at=timezone.now())


def _retry_later(row: EmailSubmission, *, now: datetime, error: str) -> None:
    attempts = row.send_attempts + 1
    delay = timedelta(seconds=min(60 * 2 ** (attempts - 1), 3600))
    EmailSubmission.objects.filter(pk=row.pk).update(
        claimed_until=None, retry_at=now + delay, send_attempts=attempts, last_error=error
    )


def submission_send_claimed(*, pk: int, now: datetime) -> None:
    """Send one row this process has claimed, and record the outcome."""
    row = EmailSubmission.objects.select_related("account").get(pk=pk)
    recipients = [address["email"] for address in row.envelope["rcptTo"]]
    try:
        status = submission_transmit(
            account=row.account,
            envelope=row.envelope,
            message=bytes(row.message),
            mail_from_params=row.mail_from_params or {},
        )
    except BackendError as error:
        if not error.permanent and row.send_attempts + 1 < MAX_ATTEMPTS:
            logger.warning("delayed submission %s: transient failure, will retry: %s", row.jmap_id, error)
            _retry_later(row, now=now, error=str(error))
            return
        logger.warning("delayed submission %s failed: %s", row.jmap_id, error)
        _finish(row, delivery_status_failed(error=error, recipients=recipients), str(error))
        return
    except Exception as error:
        logger.exception("delayed submission %s: unexpected error", row.jmap_id)
        _retry_later(row, now=now, error=f"internal error: {type(error).__name__}")
        return
    _finish(row, status, "")


def submissions_send_due(*, now: datetime) -> int:
    """Send every pending submission whose sendAt has come (RFC 8621 §7 sendAt,
    RFC 4865 release); returns how many this call attempted."""
    due = list(
        EmailSubmission.objects.filter(undo_status=PENDING, send_at__lte=now)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .filter(_free(now))
        .order_by("send_at", "pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    attempted = 0
    for pk in due:
        if submission_claim(pk=pk, now=now):
            submission_send_claimed(pk=pk, now=now)
            attempted += 1
    return attempted


__all__ = [
    "delivery_status_failed",
    "delivery_status_sent",
    "submission_cancel",
    "submission_claim",
    "submission_send_claimed",
    "submission_send_now",
    "submission_transmit",
    "submissions_send_due",
]
