"""What an EmailSubmission/set create will send (RFC 8621 §7, §7.5), decided
before anything is sent.

submission_plan() checks the identity and the email, fetches the message as
it is now (the message sent is the one at submission time), works out the
envelope and the release time, and removes Bcc from the bytes that will
leave (DESIGN.md "Security"). Every refusal is a SetErrorException with the
RFC 8621 §7.5 type.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.models import Account
from backends.smtp.envelope import EnvelopeError, envelope_from_headers, message_without_bcc
from jmapcore.datatypes.values import InvalidValue
from jmapcore.mail.message_source import email_raw
from jmapcore.mail.submission_envelope import (
    envelope_make,
    header_addresses,
    hold_release,
    identity_allows,
    smtp_mail_parameters,
)
from jmapcore.models.identity import Identity
from jmapcore.models.mail import Email
from jmapcore.protocol.errors import SetError, SetErrorException


@dataclass(frozen=True)
class SubmissionPlan:
    """A checked submission: who sends what to whom, and when."""

    identity: Identity
    email: Email
    envelope: dict[str, Any]
    message: bytes  # Bcc removed
    mail_from_params: dict[str, str | None]  # for the SMTP server (no HOLDFOR/HOLDUNTIL)
    send_at: datetime
    held: bool  # True: released later by submissions_send_due

    @property
    def recipients(self) -> list[str]:
        return [address["email"] for address in self.envelope["rcptTo"]]


def _invalid(name: str, description: str) -> SetErrorException:
    return SetErrorException(SetError("invalidProperties", f"{name}: {description}", properties=[name]))


def _generated_envelope(raw: bytes, identity: Identity, from_addresses: list[str]) -> dict[str, Any]:
    """RFC 8621 §7 `envelope` null: mailFrom from Sender, else From; replaced by
    the identity's address when the identity does not cover it; rcptTo the
    deduplicated To, Cc and Bcc addresses."""
    try:
        mail_from, rcpt_to = envelope_from_headers(raw)
    except EnvelopeError as error:
        raise SetErrorException(SetError("invalidEmail", str(error), properties=["from", "sender"])) from None
    if not identity_allows(identity_email=identity.email, address=mail_from):
        mail_from = identity.email if not identity.email.startswith("*@") else from_addresses[0]
    return envelope_make(mail_from=mail_from, rcpt_to=rcpt_to)


def submission_plan(
    *,
    account: Account,
    identity_id: str,
    email_id: str,
    envelope: dict[str, Any] | None,
    now: datetime,
    max_delay: int,
) -> SubmissionPlan:
    """Check and prepare one submission (RFC 8621 §7.5). Raises SetErrorException:

    - invalidProperties: no such identity / email, a bad hold, rcpt parameters;
    - invalidEmail: the message has no From address;
    - forbiddenFrom: a From address the identity does not cover;
    - forbiddenMailFrom: an envelope mailFrom the identity does not cover;
    - noRecipients: an empty rcptTo.

    May raise BackendError when IMAP cannot give the message.
    """
    identity = Identity.objects.filter(account=account, jmap_id=identity_id, destroyed=False).first()
    if identity is None:
        raise _invalid("identityId", f"no identity {identity_id} in this account")
    email = Email.objects.filter(account=account, jmap_id=email_id, destroyed=False).first()
    if email is None:
        raise _invalid("emailId", f"no email {email_id} in this account")
    raw = email_raw(account=account, email=email)

    from_addresses = header_addresses(raw, "From")
    if not from_addresses:
        raise SetErrorException(SetError("invalidEmail", "the email has no From address", properties=["from"]))
    forbidden = [a for a in from_addresses if not identity_allows(identity_email=identity.email, address=a)]
    if forbidden:
        raise SetErrorException(
            SetError("forbiddenFrom", f"identity {identity.email} may not send as {', '.join(forbidden)}")
        )

    if envelope is None:
        envelope = _generated_envelope(raw, identity, from_addresses)
    else:
        mail_from = envelope["mailFrom"]["email"]
        if not identity_allows(identity_email=identity.email, address=mail_from):
            raise SetErrorException(
                SetError("forbiddenMailFrom", f"identity {identity.email} may not use {mail_from} as envelope sender")
            )
        if any(address["parameters"] for address in envelope["rcptTo"]):
            # No DSN (RFC 3461) or other rcpt extension is offered in submissionExtensions.
            raise _invalid("envelope", "rcptTo parameters are not supported")
    if not envelope["rcptTo"]:
        raise SetErrorException(SetError("noRecipients", "the envelope has no recipients"))

    try:
        release = hold_release(mail_from=envelope["mailFrom"], now=now, max_delay=max_delay)
    except InvalidValue as error:
        raise _invalid("envelope", str(error)) from None
    return SubmissionPlan(
        identity=identity,
        email=email,
        envelope=envelope,
        message=message_without_bcc(raw),
        mail_from_params=smtp_mail_parameters(envelope["mailFrom"]),
        send_at=release or now,
        held=release is not None,
    )
