"""backends.smtp.errors.submission_set_error: the RFC 8621 §7.5 SetError type
for each kind of SMTP refusal (the real-server cases are in
test_smtp_ssl_modes.py; these are the replies the test server never gives)."""
from __future__ import annotations

import pytest

from backends.base import BackendError
from backends.smtp.errors import Rejection, SmtpError, submission_set_error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SmtpError("x", stage="data", code=550, text="5.7.1 From header does not match your login"), "forbiddenFrom"),
        (SmtpError("x", stage="data", code=554, text="5.7.1 sending is suspended"), "forbiddenToSend"),
        (SmtpError("x", stage="data", code=552, text="5.3.4 too big", max_size=1000), "tooLarge"),
        (SmtpError("x", stage="mail", code=553, text="5.7.1 not your address"), "forbiddenMailFrom"),
        (SmtpError("x", stage="data", code=451, text="4.3.0 try later"), "serverFail"),
        (
            SmtpError("x", stage="rcpt", code=452, rejections=(Rejection("a@x.test", 452, "4.5.3 too many"),)),
            "tooManyRecipients",
        ),
        (BackendError("timeout", permanent=False, kind="smtp"), "serverFail"),
    ],
)
def test_mapping(error: BackendError, expected: str) -> None:
    assert submission_set_error(error)[0] == expected


def test_permanence_follows_the_code_class() -> None:
    assert SmtpError("x", stage="data", code=554).permanent is True
    assert SmtpError("x", stage="data", code=451).permanent is False
    assert SmtpError("x", stage="connect").permanent is False


def test_too_large_carries_max_size() -> None:
    error = SmtpError("x", stage="data", code=552, text="5.3.4 too big", max_size=1000)
    assert submission_set_error(error)[2] == {"maxSize": 1000}
