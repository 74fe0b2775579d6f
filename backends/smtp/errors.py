"""SMTP failures and their EmailSubmission SetError types (RFC 8621 §7.5).

SmtpError is the BackendError that backends.smtp.client raises. Besides the
operator-readable message it keeps what a caller needs to answer a JMAP
client precisely: the SMTP stage that failed, the reply code (0 for failures
without one: network, TLS, local checks), the enhanced status code
(RFC 3463, "5.1.1") when the server gave one, the server's text, the
rejected recipients, and the server's SIZE limit.

`permanent` follows the reply code class (RFC 5321 §4.2.1): 5yz is permanent,
4yz transient; network failures are transient.

submission_set_error() maps an SmtpError to (SetError type, description,
extra properties).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from backends.base import BackendError

KIND = "smtp"

# Where in the SMTP dialogue a failure happened.
Stage = Literal["config", "connect", "tls", "auth", "envelope", "mail", "rcpt", "data", "size"]

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


def enhanced_status(text: str) -> str:
    """The RFC 3463 enhanced status code at the start of a reply text ("" when absent)."""
    found = _ENHANCED.match(text.strip())
    return found.group(0) if found else ""


def reply_permanent(code: int) -> bool:
    """RFC 5321 §4.2.1: 5yz replies are permanent; 4yz (and no reply) transient."""
    return 500 <= code < 600


@dataclass(frozen=True)
class Rejection:
    """One recipient the server refused at RCPT TO (RFC 5321 §3.3)."""

    address: str
    code: int
    text: str

    @property
    def enhanced(self) -> str:
        return enhanced_status(self.text)

    @property
    def permanent(self) -> bool:
        return reply_permanent(self.code)


class SmtpError(BackendError):
    """A failed submission. Messages never contain credentials."""

    def __init__(
        self,
        message: str,
        *,
        stage: Stage,
        code: int = 0,
        text: str = "",
        permanent: bool | None = None,
        rejections: tuple[Rejection, ...] = (),
        max_size: int | None = None,
    ) -> None:
        super().__init__(
            message, permanent=reply_permanent(code) if permanent is None else permanent, kind=KIND
        )
        self.stage = stage
        self.code = code
        self.text = text
        self.rejections = rejections
        self.max_size = max_size

    @property
    def enhanced(self) -> str:
        return enhanced_status(self.text)


def _mentions_from_header(text: str) -> bool:
    lowered = text.lower()
    return "header" in lowered and "from" in lowered


def submission_set_error(error: BackendError) -> tuple[str, str, dict[str, Any]]:
    """(SetError type, description, extra properties) for a failed submission.

    RFC 8621 §7.5 types, chosen from the stage, the reply code and the
    enhanced status code (RFC 3463):

    - no recipients in the envelope: noRecipients;
    - every recipient refused: tooManyRecipients when the server said so
      (452 / x.5.3), else invalidRecipients with `invalidRecipients`;
    - message larger than the server's SIZE (RFC 1870), or 552 / x.3.4 at
      MAIL or DATA: tooLarge, with `maxSize` when known;
    - MAIL FROM refused: forbiddenMailFrom;
    - DATA refused by policy (x.7.x): forbiddenFrom when the server names the
      From header field, else forbiddenToSend;
    - AUTH refused: forbiddenToSend (the user may not send at all right now);
    - anything else (network, TLS, transient replies): serverFail.
    """
    description = str(error)
    if not isinstance(error, SmtpError):
        return "serverFail", description, {}
    enhanced = error.enhanced
    if error.stage == "envelope":
        return "noRecipients", description, {}
    if error.stage == "size" or (
        error.stage in ("mail", "data") and (error.code == 552 or enhanced.endswith(".3.4"))
    ):
        extra: dict[str, Any] = {"maxSize": error.max_size} if error.max_size else {}
        return "tooLarge", description, extra
    if error.stage == "rcpt":
        if error.rejections and all(
            r.code == 452 or r.enhanced.endswith(".5.3") for r in error.rejections
        ):
            return "tooManyRecipients", description, {}
        return "invalidRecipients", description, {
            "invalidRecipients": [r.address for r in error.rejections]
        }
    if error.stage == "mail" and error.code:
        return "forbiddenMailFrom", description, {}
    if error.stage == "data" and error.permanent and (enhanced.startswith("5.7.") or error.code in (550, 554)):
        if _mentions_from_header(error.text):
            return "forbiddenFrom", description, {}
        return "forbiddenToSend", description, {}
    if error.stage == "auth" and error.permanent:
        return "forbiddenToSend", description, {}
    return "serverFail", description, {}
