"""A real mail account for method tests: a fresh Dovecot user per test, an
IMAP Account pointing at it (plain IMAP on 127.0.0.1), and a JMAP client that
talks to the proxy's API endpoint as that account's login."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from accounts.models import Account, Pool, SslMode
from accounts.sync import account_sync
from backends.imap.pool import imap_pool_close_all
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.mail.capability import MAIL_CAPABILITY
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.servers.dovecot import DovecotServer

USING = [CORE_CAPABILITY, MAIL_CAPABILITY]


class MailUser:
    """One person with a Dovecot mailbox and a proxy account in front of it."""

    def __init__(self, *, client: Client, dovecot: DovecotServer, name: str) -> None:
        self.client = client
        self.dovecot = dovecot
        self.login = f"{name}-{secrets.token_hex(4)}@example.test"
        self.imap_password = dovecot.user_add(self.login)
        self.jmap_password = f"{name}-jmap-{secrets.token_hex(4)}"
        self.pool = Pool.objects.create(login=self.login, password_hash=make_password(self.jmap_password))
        self.account = Account.objects.create(
            accountid=f"{name}{secrets.token_hex(3)}",
            pool=self.pool,
            email=self.login,
            name=name.title(),
            username=self.login,
            password=self.imap_password,
            imap_host=dovecot.host,
            imap_port=dovecot.imap_port,
            imap_ssl=SslMode.PLAIN,
        )

    @property
    def account_id(self) -> str:
        return self.account.accountid

    @property
    def auth(self) -> str:
        import base64

        return "Basic " + base64.b64encode(f"{self.login}:{self.jmap_password}".encode()).decode()

    # -- the server side -------------------------------------------------------
    def deliver(self, message: bytes | str, *, mailbox: str = "INBOX", flags: tuple[str, ...] = ()) -> int | None:
        """APPEND as another IMAP client would."""
        return self.dovecot.message_append(self.login, message, mailbox=mailbox, flags=flags)

    def sync(self) -> None:
        account_sync(account_id=self.account.pk)
        self.account.refresh_from_db()
        assert not self.account.last_sync_error, self.account.last_sync_error

    def imap(self) -> Any:
        import imapclient

        client = imapclient.IMAPClient(self.dovecot.host, self.dovecot.imap_port, ssl=False, timeout=10)
        client.login(self.login, self.imap_password)
        return client

    # -- JMAP --------------------------------------------------------------------
    def request(self, *calls: list[Any]) -> list[list[Any]]:
        return method_responses(api_post(self.client, self.auth, jmap_request(*calls, using=USING)))

    def call(self, name: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
        args = {"accountId": self.account_id, **arguments}
        [(response_name, result, _call_id)] = self.request([name, args, "c0"])
        return response_name, result

    def ok(self, name: str, **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, **arguments)
        assert response_name == name, result
        return result

    def error(self, name: str, **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, **arguments)
        assert response_name == "error", result
        return result

    def mailboxes(self) -> dict[str, dict[str, Any]]:
        """role or name -> Mailbox object."""
        listed = self.ok("Mailbox/get", ids=None)["list"]
        return {(box["role"] or box["name"]): box for box in listed}

    def state(self, type_name: str) -> str:
        return str(self.ok(f"{type_name}/get", ids=[])["state"])


def message(
    *,
    subject: str = "Hello",
    sender: str = "Carol <carol@example.org>",
    to: str = "someone@example.test",
    body: str = "Just saying hello.\r\n",
    message_id: str | None = None,
    extra_headers: str = "",
) -> bytes:
    """A small RFC 5322 message."""
    message_id = message_id or f"<{secrets.token_hex(6)}@example.org>"
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n{extra_headers}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}"
    ).encode()


@pytest.fixture
def alice_mail(db: None, dovecot: DovecotServer, jmap_client: Client) -> Iterator[MailUser]:
    user = MailUser(client=jmap_client, dovecot=dovecot, name="alice")
    yield user
    imap_pool_close_all()


@pytest.fixture
def bob_mail(db: None, dovecot: DovecotServer, jmap_client: Client) -> Iterator[MailUser]:
    user = MailUser(client=jmap_client, dovecot=dovecot, name="bob")
    yield user
    imap_pool_close_all()
