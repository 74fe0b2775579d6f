"""Text of body/text/header filters reaches IMAP SEARCH as a literal, never as
raw command text (RFC 3501 §4.3, §6.4.4): CR/LF cannot start a command of
their own on the pooled connection, NUL is refused with invalidArguments.
Against the suite's real Dovecot."""
from __future__ import annotations

from typing import Any

import pytest

from tests.jmapcore.mail.conftest import MailUser, message

# Each would, sent inside a quoted string, end the SEARCH line and run the
# next line as a command of its own (the final NOOP swallows the closing quote).
PAYLOADS = {
    "crlf": "x\r\nZ1 DELETE Keep\r\nZ2 CREATE Injected\r\nZ3 NOOP",
    "lf": "x\nZ1 DELETE Keep\nZ2 CREATE Injected\nZ3 NOOP",
    "cr": "x\rZ1 DELETE Keep\rZ2 CREATE Injected\rZ3 NOOP",
}


def _folders(user: MailUser) -> set[str]:
    with user.imap() as imap:
        return {name for _flags, _sep, name in imap.list_folders()}


def _subjects(user: MailUser, ids: list[str]) -> list[str]:
    if not ids:
        return []
    found = user.ok("Email/get", ids=ids, properties=["subject"])["list"]
    return sorted(email["subject"] for email in found)


@pytest.fixture
def alice_with_mail(alice_mail: MailUser) -> MailUser:
    alice_mail.deliver(message(subject="Invoice", body="the invoice is attached\r\n"))
    alice_mail.deliver(message(subject="Lunch", body="x marks the spot\r\n", extra_headers="X-Tag: red\r\n"))
    alice_mail.deliver(message(subject="Keeper", body="kept safe\r\n"), mailbox="Keep")
    alice_mail.sync()
    return alice_mail


def _condition(kind: str, text: str) -> dict[str, Any]:
    return {"header": ["X-Tag", text]} if kind == "header" else {kind: text}


def _nothing_else_happened(user: MailUser, before: set[str]) -> None:
    folders = _folders(user)
    assert "Keep" in folders and "Injected" not in folders
    assert folders == before
    with user.imap() as imap:
        assert imap.select_folder("Keep", readonly=True)[b"EXISTS"] == 1


@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
@pytest.mark.parametrize("kind", ["body", "text", "header"])
def test_line_breaks_in_search_text_run_no_command(alice_with_mail: MailUser, kind: str, payload: str) -> None:
    user = alice_with_mail
    before = _folders(user)
    result = user.ok("Email/query", filter=_condition(kind, PAYLOADS[payload]))
    # The text (line breaks and all) is searched for, and nothing holds it.
    assert result["ids"] == []
    _nothing_else_happened(user, before)
    # The pooled connection is still in step: the next search answers correctly.
    assert _subjects(user, user.ok("Email/query", filter={"body": "invoice"})["ids"]) == ["Invoice"]
    assert _subjects(user, user.ok("Email/query", filter={"header": ["X-Tag", "red"]})["ids"]) == ["Lunch"]


def test_line_breaks_on_a_read_only_account_run_no_command(alice_with_mail: MailUser) -> None:
    """A search is allowed on a read-only account; the text must not turn it into a write."""
    user = alice_with_mail
    user.account.is_read_only = True
    user.account.save(update_fields=["is_read_only"])
    before = _folders(user)
    assert user.ok("Email/query", filter={"body": PAYLOADS["crlf"]})["ids"] == []
    _nothing_else_happened(user, before)


@pytest.mark.parametrize("kind", ["body", "text", "header", "subject", "from"])
def test_nul_in_search_text_is_invalid_arguments(alice_with_mail: MailUser, kind: str) -> None:
    user = alice_with_mail
    before = _folders(user)
    error = user.error("Email/query", filter=_condition(kind, "in\x00voice"))
    assert error["type"] == "invalidArguments"
    assert "NUL" in error["description"]
    _nothing_else_happened(user, before)
    assert _subjects(user, user.ok("Email/query", filter={"body": "invoice"})["ids"]) == ["Invoice"]


def test_text_is_searched_as_given(alice_with_mail: MailUser) -> None:
    """A header value with quotes and backslashes, and non-ASCII text
    (CHARSET UTF-8, sent as a literal), still match what they should."""
    user = alice_with_mail
    user.deliver(message(subject="Notes", body="grüße aus köln\r\n", extra_headers='X-Note: say "hi" \\ bye\r\n'))
    user.sync()
    found = user.ok("Email/query", filter={"header": ["X-Note", 'say "hi" \\ bye']})["ids"]
    assert _subjects(user, found) == ["Notes"]
    assert _subjects(user, user.ok("Email/query", filter={"body": "grüße"})["ids"]) == ["Notes"]
    assert _subjects(user, user.ok("Email/query", filter={"body": "köln\r\nZ1 NOOP"})["ids"]) == []
