"""People for the forwarding tests: one login whose pool mixes an IMAP account
(the suite's Dovecot) and a passthrough account on the suite's Cyrus.

`mixed_person` makes the pool, the IMAP account (synced once), and the
passthrough account with its upstream Session fetched, so its UpstreamAccount
rows exist as after account creation. Requests go to the proxy's API endpoint
through the Django test client, as in tests/jmapcore.
"""
from __future__ import annotations

import base64
import imaplib
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.test import Client
from prometheus_client import REGISTRY

from accounts.models import Account, Pool, SslMode
from accounts.sync import account_sync
from backends.jmap.client import upstream_client
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.jmapcore.apiclient import api_post
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.dovecot import DovecotServer

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SIEVE = "https://cyrusimap.org/ns/jmap/sieve"


@dataclass
class MixedPerson:
    """A login with an IMAP account (`imap_id`) and a Cyrus passthrough account (`cyrus_id`)."""

    client: Client
    pool: Pool
    jmap_password: str
    imap_account: Account
    passthrough: Account
    cyrus_user: CyrusUser
    cyrus: CyrusServer

    @property
    def imap_id(self) -> str:
        return self.imap_account.accountid

    @property
    def cyrus_id(self) -> str:
        return self.passthrough.accountid

    @property
    def auth(self) -> str:
        return "Basic " + base64.b64encode(f"{self.pool.login}:{self.jmap_password}".encode()).decode()

    def post(self, calls: list[list[Any]], *, using: list[str] | None = None, **extra: Any) -> Any:
        body = {"using": using if using is not None else [CORE, MAIL], "methodCalls": calls, **extra}
        return api_post(self.client, self.auth, body)

    def request(self, calls: list[list[Any]], *, using: list[str] | None = None, **extra: Any) -> dict[str, Any]:
        """The Response object of a request that must succeed at the request level."""
        answer = self.post(calls, using=using, **extra)
        assert answer.status_code == 200, answer.content
        response: dict[str, Any] = answer.json()
        return response

    def upload(self, data: bytes, *, content_type: str) -> str:
        """Upload `data` to the passthrough account (RFC 8620 §6.1, through the proxy): its blobId."""
        answer = self.client.post(f"/upload/{self.cyrus_id}/", data=data, content_type=content_type,
                                  HTTP_AUTHORIZATION=self.auth)  # fmt: skip
        assert answer.status_code == 201, answer.content
        blob_id: str = answer.json()["blobId"]
        return blob_id

    def cyrus_imap(self) -> imaplib.IMAP4:
        """alice's own IMAP session on Cyrus, as another mail client would open it."""
        connection = imaplib.IMAP4(self.cyrus_user.imap_host, self.cyrus_user.imap_port, timeout=30)
        connection.login(self.cyrus_user.login, self.cyrus_user.password)
        return connection


def mixed_person(
    *, name: str, dovecot: DovecotServer, cyrus: CyrusServer, session_url: str | None = None
) -> MixedPerson:
    """`name`'s login: an IMAP account on Dovecot and a passthrough account on Cyrus (see the module)."""
    tag = secrets.token_hex(3)
    jmap_password = f"{name}-jmap-{secrets.token_hex(4)}"
    pool = Pool.objects.create(login=f"{name}-{tag}@example.test", password_hash=make_password(jmap_password))
    login = f"{name}-{tag}@example.test"
    imap_account = Account.objects.create(
        accountid=f"{name}imap{tag}", pool=pool, email=login, name=f"{name.title()} IMAP", username=login,
        password=dovecot.user_add(login), imap_host=dovecot.host, imap_port=dovecot.imap_port,
        imap_ssl=SslMode.PLAIN,
    )
    account_sync(account_id=imap_account.pk)
    cyrus_user = cyrus.user(f"{name}-q2-{tag}", f"{name}-cyrus-{secrets.token_hex(4)}")
    passthrough = passthrough_account_make(accountid=f"{name}cyrus{tag}", user=cyrus_user, pool=pool,
                                           session_url=session_url)
    upstream_client(passthrough).session_refresh()
    passthrough.refresh_from_db()
    return MixedPerson(client=Client(), pool=pool, jmap_password=jmap_password, imap_account=imap_account,
                       passthrough=passthrough, cyrus_user=cyrus_user, cyrus=cyrus)


def upstream_requests_sent() -> float:
    """How many requests the proxy has sent upstream and had answered (the metric, read from the registry)."""
    return REGISTRY.get_sample_value("jmap_passthrough_requests_total", {"outcome": "answered"}) or 0.0


def by_call_id(response: dict[str, Any]) -> dict[str, list[Any]]:
    """The method responses of a Response keyed by call id (the first one of each)."""
    out: dict[str, list[Any]] = {}
    for name, arguments, call_id in response["methodResponses"]:
        out.setdefault(call_id, [name, arguments])
    return out
