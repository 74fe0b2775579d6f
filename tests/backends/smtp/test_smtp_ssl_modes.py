"""backends.smtp.client against the real test SMTP server (tests/servers/smtp.py):
each smtpSSL mode, authentication, refused recipients and senders, size
limits, and delivery into Dovecot."""
from __future__ import annotations

import socket

import pytest

from backends.base import BackendError
from backends.smtp.check import smtp_backend_check
from backends.smtp.client import smtp_send
from backends.smtp.errors import SmtpError, submission_set_error
from tests.backends.smtp.conftest import inbox_messages, message_make
from tests.personas import Persona
from tests.servers.smtp import DATA_SIZE_LIMIT, SmtpServer, account_smtp_point

ALICE = "alice@example.test"
BOB = "bob@example.test"


@pytest.mark.parametrize(
    ("ssl_mode", "listener", "tls", "starttls"),
    [
        (0, "plain", False, False),
        (1, "plain", False, False),
        (2, "implicit-tls", True, False),
        (3, "plain", True, True),
    ],
)
def test_each_ssl_mode_sends_and_delivers(
    alice: Persona, smtp_tls_trust: SmtpServer, ssl_mode: int, listener: str, tls: bool, starttls: bool
) -> None:
    server = smtp_tls_trust
    account_smtp_point(account=alice.account, server=server, ssl_mode=ssl_mode)
    raw, marker = message_make(sender=ALICE, to=BOB, subject_prefix=f"mode{ssl_mode}")

    result = smtp_send(account=alice.account, mail_from=ALICE, recipients=[BOB], message=raw)

    assert result.accepted == [BOB]
    assert result.rejected == []
    assert result.code == 250
    assert result.encrypted is tls
    assert result.authenticated is True
    [seen] = server.transmissions_containing(marker)
    assert (seen.listener, seen.tls, seen.starttls) == (listener, tls, starttls)
    assert seen.login == ALICE
    assert seen.mail_from == ALICE
    assert seen.rcpt_tos == (BOB,)
    assert seen.data == raw
    assert seen.delivered == (BOB,)
    [arrived] = inbox_messages(server.dovecot, BOB, marker)
    assert marker in arrived


def test_wrong_password_is_a_clear_permanent_error(alice: Persona, smtp_tls_trust: SmtpServer) -> None:
    account_smtp_point(account=alice.account, server=smtp_tls_trust, ssl_mode=3, password="not-the-password")
    raw, _ = message_make(sender=ALICE, to=BOB)

    with pytest.raises(BackendError) as caught:
        smtp_send(account=alice.account, mail_from=ALICE, recipients=[BOB], message=raw)

    error = caught.value
    assert error.permanent is True
    assert error.kind == "smtp"
    assert f"SMTP login rejected for {ALICE}: 535" in str(error)
    assert "not-the-password" not in str(error)
    assert submission_set_error(error)[0] == "forbiddenToSend"


def test_starttls_required_but_not_offered(alice: Persona, smtp_server_without_starttls: SmtpServer) -> None:
    account_smtp_point(account=alice.account, server=smtp_server_without_starttls, ssl_mode=3)
    raw, marker = message_make(sender=ALICE, to=BOB)

    with pytest.raises(SmtpError, match="STARTTLS not offered by server") as caught:
        smtp_send(account=alice.account, mail_from=ALICE, recipients=[BOB], message=raw)

    assert caught.value.permanent is True
    assert smtp_server_without_starttls.transmissions_containing(marker) == []
    # Nothing was attempted in clear text either: no AUTH reached the server.
    assert smtp_server_without_starttls.auth_attempts == []


@pytest.mark.parametrize("ssl_mode", [2, 3])
def test_untrusted_certificate_is_refused(alice: Persona, smtp_server: SmtpServer, ssl_mode: int) -> None:
    """Without JMAP_TLS_CA_FILE the test CA is unknown: TLS fails, nothing is sent."""
    account_smtp_point(account=alice.account, server=smtp_server, ssl_mode=ssl_mode)
    raw, marker = message_make(sender=ALICE, to=BOB)

    with pytest.raises(SmtpError, match="TLS handshake failed: certificate verify failed") as caught:
        smtp_send(account=alice.account, mail_from=ALICE, recipients=[BOB], message=raw)

    assert caught.value.permanent is True
    assert smtp_server.transmissions_containing(marker) == []


def test_connection_refused_is_transient(alice: Persona, smtp_server: SmtpServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    account_smtp_point(account=alice.account, server=smtp_server, ssl_mode=0)
    alice.account.smtp_port = port
    raw, _ = message_make(sender=ALICE, to=BOB)

    with pytest.raises(SmtpError, match=f"connection refused to 127.0.0.1:{port}") as caught:
        smtp_send(account=alice.account, mail_from=ALICE, recipients=[BOB], message=raw, timeout=5)

    assert caught.value.permanent is False
    assert submission_set_error(caught.value)[0] == "serverFail"


def test_partial_rejection_still_sends_to_the_others(alice: Persona, smtp_tls_trust: SmtpServer) -> None:
    account_smtp_point(account=alice.account, server=smtp_tls_trust, ssl_mode=3)
    refused = "reject-me@example.test"
    raw, marker = message_make(sender=ALICE, to=f"{BOB}, {refused}")

    result = smtp_send(account=alice.account, mail_from=ALICE, recipients=[refused, BOB], message=raw)

    assert result.accepted == [BOB]
    [rejection] = result.rejected
    assert rejection.address == refused
    assert rejection.code == 550
    assert rejection.enhanced == "5.1.1"
    assert "refused by the test server" in rejection.text
    [seen] = smtp_tls_trust.transmissions_containing(marker)
    assert seen.rcpt_tos == (BOB,)
    assert inbox_messages(smtp_tls_trust.dovecot, BOB, marker)


def test_every_recipient_refused_is_invalid_recipients(alice: Persona, smtp_tls_trust: SmtpServer) -> None:
    account_smtp_point(account=alice.account, server=smtp_tls_trust, ssl_mode=3)
    refused = ["reject-1@example.test", "nobody-here@example.test"]
    raw, marker = message_make(sender=ALICE, to=", ".join(refused))

    with pytest.raises(SmtpError) as caught:
        smtp_send(account=alice.account, mail_from=ALICE, recipients=refused, message=raw)

    error = caught.value
    assert error.stage == "rcpt"
    assert error.permanent is True
    assert "every recipient was refused" in str(error)
    assert [r.address for r in error.rejections] == refused
    assert submission_set_error(error) == (
        "invalidRecipients", str(error), {"invalidRecipients": refused}
    )
    assert smtp_tls_trust.transmissions_containing(marker) == []


def test_refused_sender_is_forbidden_mail_from(alice: Persona, smtp_tls_trust: SmtpServer) -> None:
    account_smtp_point(account=alice.account, server=smtp_tls_trust, ssl_mode=2)
    raw, _ = message_make(sender=ALICE, to=BOB)

    with pytest.raises(SmtpError, match=r"MAIL FROM <reject-sender@example.test> rejected: 550 5.7.1") as caught:
        smtp_send(account=alice.account, mail_from="reject-sender@example.test", recipients=[BOB], message=raw)

    assert caught.value.permanent is True
    assert submission_set_error(caught.value)[0] == "forbiddenMailFrom"


def test_too_large_is_refused_before_sending(alice: Persona, smtp_tls_trust: SmtpServer) -> None:
    account_smtp_point(account=alice.account, server=smtp_tls_trust, ssl_mode=3)
    raw, marker = message_make(sender=ALICE, to=BOB)
    big = raw + b"x" * 998 + b"\r\n" + (b"y" * 998 + b"\r\n") * (DATA_SIZE_LIMIT // 1000)

    with pytest.raises(SmtpError, match="exceeds the server's limit") as caught:
        smtp_send(account=alice.account, mail_from=ALICE, recipients=[BOB], message=big)

    assert submission_set_error(caught.value) == ("tooLarge", str(caught.value), {"maxSize": DATA_SIZE_LIMIT})
    assert smtp_tls_trust.transmissions_containing(marker) == []


def test_utf8_headers_use_smtputf8(alice: Persona, smtp_tls_trust: SmtpServer) -> None:
    account_smtp_point(account=alice.account, server=smtp_tls_trust, ssl_mode=3)
    raw, marker = message_make(sender=ALICE, to=BOB, extra_headers="X-Greeting: Grüße\r\n")

    result = smtp_send(account=alice.account, mail_from=ALICE, recipients=[BOB], message=raw)

    assert result.accepted == [BOB]
    [seen] = smtp_tls_trust.transmissions_containing(marker)
    assert "SMTPUTF8" in seen.mail_options
    assert "BODY=8BITMIME" in seen.mail_options
    assert seen.data == raw
    [arrived] = inbox_messages(smtp_tls_trust.dovecot, BOB, marker)
    assert "Grüße".encode() in arrived


def test_no_recipients_is_no_recipients(alice: Persona, smtp_tls_trust: SmtpServer) -> None:
    account_smtp_point(account=alice.account, server=smtp_tls_trust, ssl_mode=3)
    raw, _ = message_make(sender=ALICE, to=BOB)

    with pytest.raises(SmtpError) as caught:
        smtp_send(account=alice.account, mail_from=ALICE, recipients=[], message=raw)

    assert submission_set_error(caught.value)[0] == "noRecipients"


def test_backend_check_logs_in_without_sending(alice: Persona, smtp_tls_trust: SmtpServer) -> None:
    account_smtp_point(account=alice.account, server=smtp_tls_trust, ssl_mode=3)
    sent_before = len(smtp_tls_trust.transmissions)

    assert smtp_backend_check(account=alice.account) is True

    assert len(smtp_tls_trust.transmissions) == sent_before
    assert smtp_tls_trust.auth_attempts[-1].login == ALICE
    assert smtp_tls_trust.auth_attempts[-1].success is True
