"""Personas with a CardDAV address book, for the contacts tests.

`carddav_account` makes the account of a persona (alice, bob, mallory) the way
accounts.services.account_create does (kind imap, username = the login, the
password sealed with the active scheme), with carddav_url set to the persona's
principal on the given DAV server (tests/servers/radicale.py or xandikos.py).

Every call creates a fresh user on the session-wide server, so tests never see
each other's cards. With `dovecot`, the same login and password also get a
mailbox there and the IMAP fields point at it (plain IMAP on 127.0.0.1), so
the account's mail sync works too; without, the IMAP fields point at
127.0.0.1 and mail sync is not expected to succeed.
"""
from __future__ import annotations

import secrets
from typing import Protocol

from accounts.models import Account, Pool, SslMode
from accounts.secrets import seal
from tests.servers.dav_user import DavUser
from tests.servers.dovecot import DovecotServer


class DavServer(Protocol):
    base_url: str
    ca_file: str
    kind: str

    def user(self, login: str, password: str) -> DavUser: ...


def carddav_user(*, server: DavServer, persona: str = "alice") -> DavUser:
    """A fresh user of `server` named after `persona`."""
    login = f"{persona}-{secrets.token_hex(4)}@example.test"
    return server.user(login, f"{persona}-dav-{secrets.token_hex(8)}")


def carddav_account(*, server: DavServer, persona: str = "alice", dovecot: DovecotServer | None = None,
                    carddav_url: str | None = None, accountid: str | None = None) -> Account:
    """The IMAP+CardDAV account of `persona` on `server` (see the module docstring).

    `carddav_url` replaces the principal URL (e.g. "" to exercise RFC 6764
    discovery from the host). The DavUser is available as `account.dav_user`.
    """
    user = carddav_user(server=server, persona=persona)
    if dovecot is not None:
        dovecot.user_add(user.login, user.password)
    pool = Pool.objects.create(login=user.login)
    host = server.base_url.split("://", 1)[1].rsplit(":", 1)[0]
    account = Account(
        accountid=accountid or persona, pool=pool, email=user.login, name=persona.title(), username=user.login,
        kind=Account.Kind.IMAP,
        imap_host=dovecot.host if dovecot is not None else host,
        imap_port=dovecot.imap_port if dovecot is not None else 1,
        imap_ssl=SslMode.PLAIN,
        carddav_url=user.carddav_url if carddav_url is None else carddav_url,
    )
    account.password = seal(user.password)
    account.save()
    account.dav_user = user  # type: ignore[attr-defined]
    return account
