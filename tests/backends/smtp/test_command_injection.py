"""No SMTP command can be smuggled into MAIL FROM or RCPT TO (RFC 5321 §2.3.8,
§4.1.1.2-§4.1.1.3): an address with CR, LF or NUL is refused (MAIL FROM) or
left out (RCPT TO) without being sent, ESMTP parameter values go as xtext
(RFC 3461 §4) and malformed parameter names are refused. Against the
suite's real SMTP server, which delivers into Dovecot."""
from __future__ import annotations

import pytest

from backends.smtp.client import smtp_send
from backends.smtp.errors import SmtpError
from tests.backends.smtp.conftest import inbox_messages, message_make
from tests.personas import Persona
from tests.servers.smtp import SmtpServer, account_smtp_point

BOB = "bob@example.test"
MALLORY = "mallory@example.test"
# Each would, if sent as is, end the command and give RCPT TO:<mallory> of its own.
BREAKS = {
    "crlf": f"alice@example.test>\r\nRCPT TO:<{MALLORY}",
    "lf": f"alice@example.test>\nRCPT TO:<{MALLORY}",
    "cr": f"alice@example.test>\rRCPT TO:<{MALLORY}",
    "nul": f"alice@example.test\x00RCPT TO:<{MALLORY}",
    "bare-crlf": f"alice@example.test\r\nRCPT TO:<{MALLORY}>",
}


@pytest.fixture
def server(alice: Persona, smtp_tls_trust: SmtpServer) -> SmtpServer:
    account_smtp_point(account=alice.account, server=smtp_tls_trust, ssl_mode=3)
    return smtp_tls_trust


def _nobody_else_got_it(server: SmtpServer, marker: bytes) -> None:
    for seen in server.transmissions_containing(marker):
        assert MALLORY not in seen.rcpt_tos
    assert inbox_messages(server.dovecot, MALLORY, marker) == []


def _still_sends(alice: Persona, server: SmtpServer) -> None:
    raw, marker = message_make(sender="alice@example.test", to=BOB, subject_prefix="after")
    result = smtp_send(account=alice.account, mail_from="alice@example.test", recipients=[BOB], message=raw)
    assert result.accepted == [BOB]
    [seen] = server.transmissions_containing(marker)
    assert seen.rcpt_tos == (BOB,)


@pytest.mark.parametrize("kind", list(BREAKS))
def test_mail_from_with_a_line_break_is_refused(alice: Persona, server: SmtpServer, kind: str) -> None:
    raw, marker = message_make(sender="alice@example.test", to=BOB)
    with pytest.raises(SmtpError) as caught:
        smtp_send(account=alice.account, mail_from=BREAKS[kind], recipients=[BOB], message=raw)
    assert caught.value.permanent and caught.value.stage == "mail"
    assert server.transmissions_containing(marker) == []
    _nobody_else_got_it(server, marker)
    _still_sends(alice, server)


@pytest.mark.parametrize("kind", list(BREAKS))
def test_recipient_with_a_line_break_is_left_out(alice: Persona, server: SmtpServer, kind: str) -> None:
    raw, marker = message_make(sender="alice@example.test", to=BOB)
    bad = BREAKS[kind].replace("alice@", "carol@")
    result = smtp_send(account=alice.account, mail_from="alice@example.test", recipients=[BOB, bad], message=raw)
    assert result.accepted == [BOB]
    [refused] = result.rejected
    assert refused.address == bad and refused.code == 0
    [seen] = server.transmissions_containing(marker)
    assert seen.rcpt_tos == (BOB,)
    _nobody_else_got_it(server, marker)
    assert len(inbox_messages(server.dovecot, BOB, marker)) == 1


def test_every_recipient_with_a_line_break_sends_nothing(alice: Persona, server: SmtpServer) -> None:
    raw, marker = message_make(sender="alice@example.test", to=BOB)
    with pytest.raises(SmtpError) as caught:
        smtp_send(account=alice.account, mail_from="alice@example.test", recipients=[BREAKS["crlf"]], message=raw)
    assert caught.value.stage == "rcpt"
    assert server.transmissions_containing(marker) == []
    _still_sends(alice, server)


@pytest.mark.parametrize("value", [f"x\r\nRCPT TO:<{MALLORY}>", f"x\nRCPT TO:<{MALLORY}>", "a\x00b"])
def test_parameter_values_go_as_xtext(alice: Persona, server: SmtpServer, value: str) -> None:
    """The test server does not know ENVID: it may refuse the MAIL FROM, but the
    value never ends the command line."""
    raw, marker = message_make(sender="alice@example.test", to=BOB)
    try:
        smtp_send(account=alice.account, mail_from="alice@example.test", recipients=[BOB], message=raw,
                  mail_from_params={"ENVID": value})
    except SmtpError as refused:
        assert refused.stage == "mail" and refused.code >= 500, refused
        assert server.transmissions_containing(marker) == []
    else:
        [seen] = server.transmissions_containing(marker)
        assert seen.rcpt_tos == (BOB,)
        assert not any("\r" in option or "\n" in option or "\x00" in option for option in seen.mail_options)
    _nobody_else_got_it(server, marker)
    _still_sends(alice, server)


@pytest.mark.parametrize("key", ["HOLDFOR\n", "X\r\nRCPT", "A B", "", "-X", "X\x00"])
def test_malformed_parameter_names_are_refused(alice: Persona, server: SmtpServer, key: str) -> None:
    raw, marker = message_make(sender="alice@example.test", to=BOB)
    with pytest.raises(SmtpError) as caught:
        smtp_send(account=alice.account, mail_from="alice@example.test", recipients=[BOB], message=raw,
                  mail_from_params={key: "10"})
    assert caught.value.permanent
    assert server.transmissions_containing(marker) == []
    _still_sends(alice, server)

