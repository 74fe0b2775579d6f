"""Email/set mailboxIds on a server that does not offer MOVE (RFC 6851): the
proxy falls back to COPY + \\Deleted + UID EXPUNGE, and the email keeps its id."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from backends.imap.pool import imap_pool_close_all
from tests.jmapcore.mail.conftest import MailUser, message
from tests.servers.dovecot import _CAPABILITIES_WITHOUT_CONDSTORE, DovecotFactory, DovecotOptions

WITHOUT_MOVE = " ".join(word for word in _CAPABILITIES_WITHOUT_CONDSTORE.split() if word != "MOVE")


@pytest.fixture
def no_move_user(db: None, dovecot_factory: DovecotFactory, jmap_client: Client) -> Iterator[MailUser]:
    server = dovecot_factory(DovecotOptions(extra_config=f"imap_capability = {WITHOUT_MOVE} CONDSTORE QRESYNC"))
    yield MailUser(client=jmap_client, dovecot=server, name="nomove")
    imap_pool_close_all()


def test_move_by_copy_and_expunge(no_move_user: MailUser) -> None:
    user = no_move_user
    with user.imap() as imap:
        assert b"MOVE" not in imap.capabilities()
    user.deliver(message(subject="old school"))
    user.deliver(message(subject="stays"), flags=("\\Deleted",))  # someone else's pending expunge
    user.sync()
    boxes = user.mailboxes()
    [email_id] = user.ok("Email/query", filter={"subject": "old school"})["ids"]
    result = user.ok("Email/set", update={email_id: {"mailboxIds": {boxes["archive"]["id"]: True}}})
    assert result["updated"] == {email_id: None}, result
    with user.imap() as imap:
        imap.select_folder("INBOX", readonly=True)
        # Only our message was expunged: the other \Deleted one is still there.
        assert len(imap.search("ALL")) == 1
        imap.select_folder("Archive", readonly=True)
        assert len(imap.search("ALL")) == 1
    user.sync()
    assert user.ok("Email/query", filter={"inMailbox": boxes["archive"]["id"]})["ids"] == [email_id]
