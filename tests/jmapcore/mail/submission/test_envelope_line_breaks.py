"""EmailSubmission/set with CR, LF or NUL in the envelope (RFC 8621 §7): the
addresses are invalidProperties, nothing reaches the SMTP server, and the next
submission goes out. Against the suite's real SMTP server."""
from __future__ import annotations

from typing import Any

import pytest

from tests.jmapcore.mail.submission.conftest import Sender
from tests.servers.smtp import SmtpServer

BREAKS = {
    "crlf": "\r\nRCPT TO:<{victim}>",
    "lf": "\nRCPT TO:<{victim}>",
    "cr": "\rRCPT TO:<{victim}>",
    "nul": "\x00RCPT TO:<{victim}>",
}


def _submit(alice: Sender, email_id: str, envelope: Any) -> dict[str, Any]:
    submitted, _ = alice.submission_set(
        create={"s": {"identityId": alice.identity_id(), "emailId": email_id, "envelope": envelope}}
    )
    return submitted


@pytest.mark.parametrize("kind", list(BREAKS))
@pytest.mark.parametrize("where", ["mailFrom", "rcptTo"])
def test_line_breaks_in_envelope_addresses(
    alice: Sender, bob: Sender, carol: Sender, smtp_tls_trust: SmtpServer, kind: str, where: str
) -> None:
    email_id, subject = alice.draft_create(to=[bob.login])
    tail = BREAKS[kind].format(victim=carol.login)
    mail_from = alice.login + tail if where == "mailFrom" else alice.login
    rcpt_to = bob.login + tail if where == "rcptTo" else bob.login
    submitted = _submit(alice, email_id, {"mailFrom": {"email": mail_from}, "rcptTo": [{"email": rcpt_to}]})
    error = submitted["notCreated"]["s"]
    assert error["type"] == "invalidProperties", error
    assert smtp_tls_trust.transmissions_containing(subject.encode()) == []
    # The next submission goes out, to bob only.
    envelope = {"mailFrom": {"email": alice.login}, "rcptTo": [{"email": bob.login}]}
    submitted = _submit(alice, email_id, envelope)
    assert submitted["notCreated"] is None, submitted
    [sent] = smtp_tls_trust.transmissions_containing(subject.encode())
    assert sent.rcpt_tos == (bob.login,)
    assert carol.inbox_subjects() == []


@pytest.mark.parametrize("value", ["x\r\nRCPT TO:<carol@example.test>", "x\nRSET", "a\x00b"])
def test_line_breaks_in_envelope_parameters(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer,
                                            value: str) -> None:
    """A parameter value goes as xtext: the server may refuse the unknown
    parameter, but no command is added and nobody else gets the message."""
    email_id, subject = alice.draft_create(to=[bob.login])
    envelope = {"mailFrom": {"email": alice.login, "parameters": {"ENVID": value}}, "rcptTo": [{"email": bob.login}]}
    submitted = _submit(alice, email_id, envelope)
    transmissions = smtp_tls_trust.transmissions_containing(subject.encode())
    # Exactly one outcome: refused with a clear error and nothing sent, or sent once to bob alone.
    if submitted["notCreated"]:
        assert submitted["notCreated"]["s"]["type"] != "serverFail", submitted
        assert transmissions == []
    else:
        assert set(submitted["created"]) == {"s"}, submitted
        assert len(transmissions) == 1
    for sent in transmissions:
        assert sent.rcpt_tos == (bob.login,)
        assert not any(char in option for option in sent.mail_options for char in "\r\n\x00")


@pytest.mark.parametrize(
    "key",
    [
        "ENVID\n",
        "X\r\nRSET",
    ],
)
def test_line_breaks_in_envelope_parameter_names(alice: Sender, bob: Sender, smtp_tls_trust: SmtpServer,
                                                 key: str) -> None:
    email_id, subject = alice.draft_create(to=[bob.login])
    envelope = {"mailFrom": {"email": alice.login, "parameters": {key: None}}, "rcptTo": [{"email": bob.login}]}
    submitted = _submit(alice, email_id, envelope)
    error = submitted["notCreated"]["s"]
    assert error["type"] == "invalidProperties", error
    assert smtp_tls_trust.transmissions_containing(subject.encode()) == []
