"""Writes when the IMAP server fails (DESIGN.md "Writes"): the client gets a
per-object error, the cache still matches the server, and nothing is lost."""
from __future__ import annotations

from accounts.models import Account
from tests.jmapcore.mail.conftest import MailUser, message
from tests.servers.tcp_relay import TcpRelay


def _server_flags(user: MailUser) -> set[bytes]:
    with user.imap() as imap:
        imap.select_folder("INBOX", readonly=True)
        [flags] = imap.get_flags(imap.search("ALL")).values()
        return set(flags)


def test_connection_dropped_mid_store(alice_mail: MailUser, tcp_relay_factory: type[TcpRelay]) -> None:
    relay = tcp_relay_factory(target_host=alice_mail.dovecot.host, target_port=alice_mail.dovecot.imap_port)
    Account.objects.filter(pk=alice_mail.account.pk).update(imap_port=relay.port)
    alice_mail.deliver(message(subject="keep me"))
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    state = alice_mail.state("Email")

    relay.cut_when(b"STORE")
    result = alice_mail.ok("Email/set", update={email_id: {"keywords/$flagged": True}})
    assert relay.cuts >= 1
    error = result["notUpdated"][email_id]
    assert error["type"] == "serverFail" and "dropped" in error["description"]
    # Nothing changed anywhere: not on the server, not in the cache, not the state.
    assert b"\\Flagged" not in _server_flags(alice_mail)
    assert alice_mail.state("Email") == state
    [email] = alice_mail.ok("Email/get", ids=[email_id], properties=["keywords"])["list"]
    assert email["keywords"] == {}

    relay.cut_when(None)
    again = alice_mail.ok("Email/set", update={email_id: {"keywords/$flagged": True}})
    assert again["updated"] == {email_id: None}
    assert b"\\Flagged" in _server_flags(alice_mail)


def test_mailbox_deleted_underneath(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="nowhere to go"))
    with alice_mail.imap() as imap:
        imap.create_folder("Projects")
    alice_mail.sync()
    boxes = alice_mail.mailboxes()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    with alice_mail.imap() as imap:
        imap.delete_folder("Projects")
    result = alice_mail.ok("Email/set", update={email_id: {"mailboxIds": {boxes["Projects"]["id"]: True}}})
    assert result["notUpdated"][email_id]["type"] == "serverFail"
    # The message is still in INBOX on the server and in the cache.
    with alice_mail.imap() as imap:
        assert imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1
    assert alice_mail.ok("Email/query", filter={"inMailbox": boxes["inbox"]["id"]})["ids"] == [email_id]
    alice_mail.sync()
    assert "Projects" not in alice_mail.mailboxes()
    assert alice_mail.ok("Email/query", filter={"inMailbox": boxes["inbox"]["id"]})["ids"] == [email_id]


def test_server_refuses_a_folder(alice_mail: MailUser) -> None:
    alice_mail.sync()
    with alice_mail.imap() as imap:
        imap.create_folder("Taken")  # exists on the server, not yet in the cache
    result = alice_mail.ok("Mailbox/set", create={"t": {"name": "Taken"}})
    # [ALREADYEXISTS]: the name is taken among its siblings (RFC 8621 §2.5).
    error = result["notCreated"]["t"]
    assert (error["type"], error["properties"]) == ("invalidProperties", ["name"])
    assert "already exists" in error["description"]
    assert "Taken" not in alice_mail.mailboxes()
    alice_mail.sync()
    assert "Taken" in alice_mail.mailboxes()
