"""Writes whose values reach IMAP commands (CREATE/RENAME mailbox names, STORE
and APPEND keywords) cannot smuggle a command in with CR, LF or NUL: each is
refused with a SetError or sent in a form that carries it safely, and
afterwards nothing else has happened on the server and the pooled connection
still works. Against the suite's real Dovecot."""
from __future__ import annotations

import pytest

from tests.jmapcore.mail.conftest import MailUser, message

BREAKS = {
    "crlf": "x\r\nZ1 DELETE Keep\r\nZ2 CREATE Injected\r\nZ3 NOOP",
    "lf": "x\nZ1 DELETE Keep\nZ2 CREATE Injected\nZ3 NOOP",
    "cr": "x\rZ1 DELETE Keep\rZ2 CREATE Injected\rZ3 NOOP",
    "nul": "x\x00Z1 DELETE Keep",
}


def _folders(user: MailUser) -> set[str]:
    with user.imap() as imap:
        return {name for _flags, _sep, name in imap.list_folders()}


@pytest.fixture
def keeper(alice_mail: MailUser) -> MailUser:
    alice_mail.deliver(message(subject="kept"), mailbox="Keep")
    alice_mail.deliver(message(subject="Hello"))
    alice_mail.sync()
    return alice_mail


def _unharmed(user: MailUser, before: set[str]) -> None:
    after = _folders(user)
    assert "Keep" in after and "Injected" not in after
    # Only a folder named after the whole value (its CR/LF encoded by the
    # mailbox-name encoding) may have appeared.
    assert all("DELETE Keep" in name for name in after - before), after - before
    with user.imap() as imap:
        assert imap.select_folder("Keep", readonly=True)[b"EXISTS"] == 1
    # The pooled connection answers the next write.
    created = user.ok("Mailbox/set", create={"ok": {"name": "After"}})
    assert "ok" in created["created"], created


@pytest.mark.parametrize("kind", list(BREAKS))
def test_mailbox_create_name(keeper: MailUser, kind: str) -> None:
    before = _folders(keeper)
    result = keeper.ok("Mailbox/set", create={"m": {"name": BREAKS[kind]}})
    if result["notCreated"]:
        error = result["notCreated"]["m"]
        assert error["type"] == "invalidProperties" and error["properties"] == ["name"], error
    else:
        # Created: the name is one folder, whatever it holds.
        created_id = result["created"]["m"]["id"]
        [box] = keeper.ok("Mailbox/get", ids=[created_id], properties=["name"])["list"]
        assert box["name"] == BREAKS[kind]
    _unharmed(keeper, before)


@pytest.mark.parametrize("kind", list(BREAKS))
def test_mailbox_rename(keeper: MailUser, kind: str) -> None:
    box_id = keeper.ok("Mailbox/set", create={"p": {"name": "Projects"}})["created"]["p"]["id"]
    before = _folders(keeper)
    result = keeper.ok("Mailbox/set", update={box_id: {"name": BREAKS[kind]}})
    if result["notUpdated"]:
        error = result["notUpdated"][box_id]
        assert error["type"] == "invalidProperties" and error["properties"] == ["name"], error
        assert "Projects" in _folders(keeper)
    else:
        [box] = keeper.ok("Mailbox/get", ids=[box_id], properties=["name"])["list"]
        assert box["name"] == BREAKS[kind]
        before.discard("Projects")
    _unharmed(keeper, before)


@pytest.mark.parametrize("kind", list(BREAKS))
def test_keyword_update(keeper: MailUser, kind: str) -> None:
    [email_id] = keeper.ok("Email/query", filter={"subject": "Hello"})["ids"]
    before = _folders(keeper)
    result = keeper.ok("Email/set", update={email_id: {f"keywords/{BREAKS[kind]}": True}})
    error = result["notUpdated"][email_id]
    assert error["type"] in ("invalidProperties", "invalidPatch"), error
    result = keeper.ok("Email/set", update={email_id: {"keywords": {BREAKS[kind]: True}}})
    assert result["notUpdated"][email_id]["type"] == "invalidProperties"
    _unharmed(keeper, before)
    # STORE still works on the same account.
    result = keeper.ok("Email/set", update={email_id: {"keywords/$flagged": True}})
    assert result["updated"] == {email_id: None}, result
    with keeper.imap() as imap:
        imap.select_folder("INBOX", readonly=True)
        [flags] = imap.get_flags(imap.search(["SUBJECT", "Hello"])).values()
        assert b"\\Flagged" in flags


@pytest.mark.parametrize("kind", list(BREAKS))
def test_keyword_on_create(keeper: MailUser, kind: str) -> None:
    drafts = keeper.mailboxes()["drafts"]["id"]
    before = _folders(keeper)
    email = {
        "mailboxIds": {drafts: True},
        "keywords": {"$draft": True, BREAKS[kind]: True},
        "from": [{"email": keeper.login}],
        "subject": "draft",
        "bodyStructure": {"type": "text/plain", "partId": "1"},
        "bodyValues": {"1": {"value": "hi"}},
    }
    result = keeper.ok("Email/set", create={"e": email})
    assert result["notCreated"]["e"]["type"] == "invalidProperties", result
    _unharmed(keeper, before)
    with keeper.imap() as imap:
        assert imap.select_folder("Drafts", readonly=True)[b"EXISTS"] == 0
