"""RFC 9698 JMAPACCESS: an IMAP server that announces where the same mail is
served by JMAP (backends.imap.jmap_access).

No packaged IMAP server implements RFC 9698 yet: neither the suite's Dovecot
2.3.19 nor Cyrus 3.6.1 advertises JMAPACCESS or knows GETJMAPACCESS (their
binaries do not even contain the word). So these tests make the suite's real
Dovecot say what such a server would, through a RewritingRelay
(tests/servers/rewriting_relay.py): the relay adds JMAPACCESS to every
CAPABILITY list Dovecot sends, and turns Dovecot's "BAD ... unknown command"
answer to GETJMAPACCESS into `* JMAPACCESS "<url>"` plus a tagged OK, where
the URL is the suite's real Cyrus 3.6 JMAP Session, holding a user with the
same login and password as the Dovecot user. Everything else — the IMAP
sync, the command on the wire, the upstream Session check, the forwarded
JMAP request after the switch — is real.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import Account, SslMode, UpstreamAccount
from accounts.secret_fields import account_secret_set
from accounts.sync import account_sync
from backends.imap.jmap_access import JmapAccessRefused, _url_of, jmap_access_describe, jmap_access_url_check
from backends.imap.pool import imap_pool_close_all
from backends.jmap.client import upstream_clients_clear
from backends.models import JmapAccessOffer
from tests.personas import Persona
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.dovecot import DovecotFactory, DovecotOptions, DovecotServer
from tests.servers.rewriting_relay import RewritingRelay

pytestmark = pytest.mark.django_db(transaction=True)

PLAIN_DOVECOT = DovecotOptions(tls=False)
_CAPABILITY = re.compile(rb"(CAPABILITY IMAP4rev1)", re.IGNORECASE)
_UNKNOWN_GETJMAPACCESS = re.compile(rb"^(\S+) BAD .*GETJMAPACCESS", re.IGNORECASE)


def announcing(url: str, *, seen: list[bytes]) -> Callable[[bytes], bytes]:
    """A rewrite that makes Dovecot a JMAPACCESS server pointing at `url` (module doc)."""

    def rewrite(line: bytes) -> bytes:
        unknown = _UNKNOWN_GETJMAPACCESS.match(line)
        if unknown:
            seen.append(line)
            quoted = url.replace("\\", "\\\\").replace('"', '\\"').encode()
            return b'* JMAPACCESS "' + quoted + b'"\r\n' + unknown.group(1) + b" OK GETJMAPACCESS completed\r\n"
        return _CAPABILITY.sub(rb"\1 JMAPACCESS", line)

    return rewrite


@dataclass
class Carol:
    """alice's proxy account on a Dovecot user whose mail Cyrus also serves by JMAP."""

    account: Account
    persona: Persona
    cyrus_user: CyrusUser
    relay: RewritingRelay
    getjmapaccess_answers: list[bytes]


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    upstream_clients_clear()
    yield
    imap_pool_close_all()
    upstream_clients_clear()


def _carol(*, dovecot: DovecotServer, cyrus: CyrusServer, persona: Persona, cyrus_password: str | None = None,
           announce: bool = True) -> Iterator[Carol]:  # fmt: skip
    login = f"alice-q5-{secrets.token_hex(4)}"
    password = dovecot.user_add(login)
    cyrus_user = cyrus.user(login, cyrus_password or password)
    relay = RewritingRelay(target_host=dovecot.host, target_port=dovecot.imap_port)
    seen: list[bytes] = []
    if announce:
        relay.rewrite = announcing(cyrus_user.session_url, seen=seen)
    else:
        def watch(line: bytes) -> bytes:
            if b"GETJMAPACCESS" in line.upper():
                seen.append(line)
            return line

        relay.rewrite = watch
    Account.objects.filter(pk=persona.account.pk).update(
        imap_host="127.0.0.1", imap_port=relay.port, imap_ssl=SslMode.PLAIN, username=login, sync_progress={},
    )  # fmt: skip
    account = Account.objects.get(pk=persona.account.pk)
    account_secret_set(account=account, field="password", value=password)
    try:
        yield Carol(account=account, persona=persona, cyrus_user=cyrus_user, relay=relay, getjmapaccess_answers=seen)
    finally:
        relay.stop()


@pytest.fixture
def carol(dovecot_factory: DovecotFactory, cyrus: CyrusServer, alice: Persona) -> Iterator[Carol]:
    yield from _carol(dovecot=dovecot_factory(PLAIN_DOVECOT), cyrus=cyrus, persona=alice)


def _mgmt_account(accountid: str) -> dict[str, object]:
    from django.conf import settings

    client = Client(SERVER_PORT=str(settings.JMAP_MGMT_PORT), REMOTE_ADDR="127.0.0.1")
    answer = client.get(f"/api/accounts/{accountid}", SERVER_PORT=str(settings.JMAP_MGMT_PORT))
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def test_the_offer_is_learned_during_the_sync_and_shown(carol: Carol) -> None:
    account_sync(account_id=carol.account.pk)

    carol.account.refresh_from_db()
    assert carol.account.last_sync_error == ""
    assert carol.account.kind == Account.Kind.IMAP  # JMAP_SWITCH_TO_JMAPACCESS is off
    offer = JmapAccessOffer.objects.get(account=carol.account)
    assert offer.session_url == carol.cyrus_user.session_url
    assert len(carol.getjmapaccess_answers) == 1
    shown = jmap_access_describe(account=carol.account)
    assert shown is not None and (shown["sessionUrl"], shown["offered"]) == (carol.cyrus_user.session_url, True)
    # The next sync does not ask again: the URL is fresh.
    account_sync(account_id=carol.account.pk)
    assert len(carol.getjmapaccess_answers) == 1


def test_the_management_api_shows_the_offer(carol: Carol) -> None:
    assert _mgmt_account(carol.account.accountid)["jmapAccess"] is None
    account_sync(account_id=carol.account.pk)

    shown = _mgmt_account(carol.account.accountid)

    access = shown["jmapAccess"]
    assert isinstance(access, dict)
    assert (access["sessionUrl"], access["offered"], access["switchedAt"]) == (
        carol.cyrus_user.session_url, True, None)
    assert shown["type"] == "imap"


def test_with_the_setting_the_account_becomes_a_passthrough_account(carol: Carol, settings: Settings) -> None:
    settings.JMAP_SWITCH_TO_JMAPACCESS = True
    accountid = carol.account.accountid

    account_sync(account_id=carol.account.pk)

    account = Account.objects.get(pk=carol.account.pk)
    assert (account.accountid, account.kind, account.session_url, account.auth_type) == (
        accountid, Account.Kind.JMAP, carol.cyrus_user.session_url, Account.AuthType.BASIC)
    offer = JmapAccessOffer.objects.get(account=account)
    assert offer.switched_at is not None and offer.switch_error == ""
    # The upstream's primary account keeps the account's id.
    primary = UpstreamAccount.objects.get(account=account, upstream_id=carol.cyrus_user.login)
    assert primary.proxy_id == accountid
    # A JMAP client of alice's login now reaches Cyrus through the proxy, under the same accountId.
    from django.conf import settings as live

    pair = base64.b64encode(f"{carol.persona.login}:{carol.persona.password}".encode()).decode()
    answer = Client().post("/jmap/", data=json.dumps({
        "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
        "methodCalls": [["Mailbox/get", {"accountId": accountid, "properties": ["role"]}, "0"]],
    }), content_type="application/json", HTTP_AUTHORIZATION=f"Basic {pair}",
        SERVER_PORT=str(live.JMAP_PORT))  # fmt: skip
    assert answer.status_code == 200, answer.content
    name, arguments, _ = answer.json()["methodResponses"][0]
    assert name == "Mailbox/get", arguments
    assert arguments["accountId"] == accountid
    assert [mailbox["role"] for mailbox in arguments["list"]] == ["inbox"]
    shown = jmap_access_describe(account=account)
    assert shown is not None and shown["offered"] is False and shown["switchedAt"]


def test_an_upstream_that_refuses_the_credentials_keeps_the_imap_account(
    dovecot_factory: DovecotFactory, cyrus: CyrusServer, alice: Persona, settings: Settings
) -> None:
    settings.JMAP_SWITCH_TO_JMAPACCESS = True
    for carol in _carol(dovecot=dovecot_factory(PLAIN_DOVECOT), cyrus=cyrus, persona=alice,
                        cyrus_password="not-the-imap-password"):  # fmt: skip
        account_sync(account_id=carol.account.pk)

        account = Account.objects.get(pk=carol.account.pk)
        assert account.kind == Account.Kind.IMAP and account.session_url == ""
        assert account.last_sync_error == ""  # the mail sync itself went well
        offer = JmapAccessOffer.objects.get(account=account)
        assert offer.switched_at is None and "HTTP 401" in offer.switch_error
        assert "HTTP 401" in account.sync_progress["jmapaccess"]["error"]
        assert carol.persona.password not in offer.switch_error
        assert not UpstreamAccount.objects.filter(account=account).exists()


def test_a_server_without_jmapaccess_is_not_asked(
    dovecot_factory: DovecotFactory, cyrus: CyrusServer, alice: Persona, settings: Settings
) -> None:
    settings.JMAP_SWITCH_TO_JMAPACCESS = True
    for carol in _carol(dovecot=dovecot_factory(PLAIN_DOVECOT), cyrus=cyrus, persona=alice, announce=False):
        JmapAccessOffer.objects.create(account=carol.account, session_url="https://gone.example/jmap",
                                       learned_at=carol.account.created_at)  # fmt: skip
        account_sync(account_id=carol.account.pk)

        assert carol.getjmapaccess_answers == []  # no GETJMAPACCESS reached the server
        # An offer the server no longer makes is withdrawn.
        assert not JmapAccessOffer.objects.filter(account=carol.account).exists()
        assert Account.objects.get(pk=carol.account.pk).kind == Account.Kind.IMAP


# -- pure parts ---------------------------------------------------------------------


def test_the_url_is_read_from_a_quoted_string_or_a_literal() -> None:
    assert _url_of(b'"https://jmap.example/.well-known/jmap"') == "https://jmap.example/.well-known/jmap"
    assert _url_of(b'"https://jmap.example/a\\"b"') == 'https://jmap.example/a"b'
    assert _url_of((b"JMAPACCESS {26}", b"https://jmap.example/jmap")) == "https://jmap.example/jmap"
    assert _url_of(b"\"unterminated") is None
    assert _url_of(b'"a" "b"') is None


@pytest.mark.parametrize(("url", "imap_host", "imap_ssl", "accepted"), [
    ("https://jmap.example.com/.well-known/jmap", "imap.example.com", SslMode.TLS, True),
    ("http://jmap.example.com/.well-known/jmap", "imap.example.com", SslMode.TLS, False),
    ("http://127.0.0.1:8008/.well-known/jmap", "127.0.0.1", SslMode.PLAIN, True),
    ("https://127.0.0.1/jmap", "93.184.215.14", SslMode.TLS, False),  # an outside server steering inside
    ("https://10.1.2.3/jmap", "10.1.2.4", SslMode.TLS, True),
    ("https://user:pw@jmap.example.com/jmap", "imap.example.com", SslMode.TLS, False),
    ("ftp://jmap.example.com/jmap", "imap.example.com", SslMode.PLAIN, False),
    ("https://jmap.example.com/j map", "imap.example.com", SslMode.TLS, False),
    ("/relative/jmap", "imap.example.com", SslMode.TLS, False),
])  # fmt: skip
def test_which_urls_are_accepted(url: str, imap_host: str, imap_ssl: int, accepted: bool) -> None:
    account = Account(accountid="alice", imap_host=imap_host, imap_ssl=imap_ssl)
    if accepted:
        assert jmap_access_url_check(url, account=account) == url
    else:
        with pytest.raises(JmapAccessRefused):
            jmap_access_url_check(url, account=account)


def test_the_suites_servers_do_not_implement_rfc_9698_yet(dovecot_factory: DovecotFactory, cyrus: CyrusServer) -> None:
    """Why these tests rewrite Dovecot's answers: neither packaged server advertises
    JMAPACCESS after login. When one starts to, test against it directly."""
    from imapclient import IMAPClient

    dovecot = dovecot_factory(PLAIN_DOVECOT)
    login = f"alice-q5-caps-{secrets.token_hex(3)}"
    password = dovecot.user_add(login)
    with IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=10) as client:
        client.login(login, password)
        assert b"JMAPACCESS" not in client.capabilities()
    admin = cyrus.admin()
    try:
        typ, data = admin.capability()
        assert typ == "OK" and b"JMAPACCESS" not in b" ".join(data).upper()
    finally:
        admin.logout()
