"""Fixtures for the IMAP sync tests: a fresh Dovecot user per test, an account
of a persona pointing at it, and a second IMAP client ("another client") to
change the mailbox behind the proxy's back."""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import format_datetime, make_msgid

import pytest
from imapclient import IMAPClient

from accounts.models import Account, SslMode
from accounts.sync import AccountSyncLock
from backends.imap.pool import imap_pool_close_all
from backends.imap.sync import imap_account_sync
from jmapcore.models.mail import Email, Mailbox, MailboxMessage
from tests.personas import Persona
from tests.servers.dovecot import DovecotFactory, DovecotOptions, DovecotServer

QRESYNC = DovecotOptions(tls=False)
CONDSTORE_ONLY = DovecotOptions(tls=False, qresync=False)
PLAIN_IMAP = DovecotOptions(tls=False, condstore=False, preview=False)


@dataclass
class Mailstore:
    """One persona's account on a fresh Dovecot user."""

    server: DovecotServer
    login: str
    account: Account

    @contextmanager
    def client(self) -> Iterator[IMAPClient]:
        """Another IMAP client of the same user (not the proxy's pool)."""
        with IMAPClient(self.server.host, self.server.imap_port, ssl=False, timeout=10) as client:
            client.login(self.login, self.server.users[self.login])
            yield client

    def append(
        self, message: bytes | str, *, mailbox: str = "INBOX", flags: tuple[str, ...] = (),
        when: dt.datetime | None = None,
    ) -> int:
        uid = self.server.message_append(self.login, message, mailbox=mailbox, flags=flags, msg_time=when)
        assert uid is not None
        return uid

    def sync(self, **kwargs: object) -> None:
        self.account.refresh_from_db()
        imap_account_sync(account=self.account, **kwargs)  # type: ignore[arg-type]

    def mailbox(self, name: str) -> Mailbox:
        return Mailbox.objects.get(account=self.account, imap_name=name, destroyed=False)

    def emails(self) -> list[Email]:
        return list(Email.objects.filter(account=self.account, destroyed=False).order_by("received_at", "pk"))

    def email_by_subject(self, subject: str) -> Email:
        return Email.objects.get(account=self.account, destroyed=False, subject=subject)

    def uids(self, name: str) -> list[int]:
        return sorted(MailboxMessage.objects.filter(mailbox=self.mailbox(name)).values_list("uid", flat=True))


def message(
    subject: str = "Hello",
    *,
    sender: str = "Bob <bob@example.test>",
    to: str = "Alice <alice@example.test>",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    body: str = "Hello Alice,\r\nhow are you?\r\n",
    date: dt.datetime | None = None,
    extra: str = "",
) -> bytes:
    """A small RFC 5322 message."""
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {format_datetime(date or dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC))}",
        f"Message-ID: {message_id or make_msgid(domain='example.test')}",
    ]
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    if references:
        lines.append(f"References: {references}")
    if extra:
        lines.append(extra.rstrip("\r\n"))
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", ""]
    return ("\r\n".join(lines) + "\r\n" + body).encode()


def mailstore_make(server: DovecotServer, persona: Persona) -> Mailstore:
    login = f"{persona.account.accountid}-{secrets.token_hex(4)}@example.test"
    password = server.user_add(login)
    Account.objects.filter(pk=persona.account.pk).update(
        imap_host=server.host, imap_port=server.imap_port, imap_ssl=SslMode.PLAIN, username=login, password=password,
        sync_progress={},
    )
    persona.account.refresh_from_db()
    return Mailstore(server=server, login=login, account=persona.account)


@pytest.fixture(autouse=True)
def _pool_closed() -> Iterator[None]:
    yield
    imap_pool_close_all()


@pytest.fixture
def alice_mail(dovecot_factory: DovecotFactory, alice: Persona) -> Mailstore:
    """alice's account on a fresh user of the default Dovecot (QRESYNC, PREVIEW)."""
    return mailstore_make(dovecot_factory(QRESYNC), alice)


@pytest.fixture(params=["qresync", "condstore", "plain"])
def any_mail(request: pytest.FixtureRequest, dovecot_factory: DovecotFactory, alice: Persona) -> Mailstore:
    """alice's account on each server flavour: QRESYNC, CONDSTORE only, neither (nor PREVIEW)."""
    options = {"qresync": QRESYNC, "condstore": CONDSTORE_ONLY, "plain": PLAIN_IMAP}[request.param]
    return mailstore_make(dovecot_factory(options), alice)


class CommandLog:
    """The IMAP commands the proxy sent, read from imaplib's own protocol log
    (IMAPClient routes it to the "imapclient.imaplib" logger): what went over
    the wire, not a double of the server."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    def commands(self) -> list[str]:
        found = []
        for record in self.caplog.records:
            text = record.getMessage()
            if record.name.startswith("imapclient") and text.startswith("> b'"):
                words = text[4:].split(" ")
                found.append(" ".join(words[1:]).rstrip("'"))
        return found


@pytest.fixture
def imap_commands(caplog: pytest.LogCaptureFixture) -> Iterator[CommandLog]:
    import logging

    with caplog.at_level(logging.DEBUG, logger="imapclient"):
        yield CommandLog(caplog)


class LockLostAfter(AccountSyncLock):
    """A real sync lock whose holder is told it expired after `batches`
    extensions: the sync stops at its next check between batches, as when a
    sync outlives SYNC_LOCK_SECONDS and another one took over."""

    def __init__(self, *, account_id: int, batches: int) -> None:
        super().__init__(account_id=account_id)
        self.batches = batches
        self.extended = 0

    def extend(self) -> bool:
        self.extended += 1
        return self.extended <= self.batches and super().extend()
