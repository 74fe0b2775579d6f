"""alice for the blob passthrough tests: one login with an IMAP account on the
suite's Dovecot and a passthrough account on the suite's Cyrus (issue 12, item 3)."""
from __future__ import annotations

import base64
import secrets
from typing import Any

from django.test import Client

from accounts.models import Account
from backends.jmap.client import upstream_client
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.jmapcore.mail.conftest import MailUser
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.dovecot import DovecotServer

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


class BlobAlice:
    """alice's login: `imap` (Dovecot) and `upstream` (Cyrus, passthrough) in one pool."""

    def __init__(self, *, dovecot: DovecotServer, cyrus: CyrusServer, cyrus_login: str) -> None:
        self.client = Client()
        self.mail = MailUser(client=self.client, dovecot=dovecot, name="alice")
        self.cyrus_user: CyrusUser = cyrus.user(cyrus_login, f"pw-{secrets.token_hex(6)}")
        self.passthrough: Account = passthrough_account_make(
            accountid=f"up{secrets.token_hex(3)}", user=self.cyrus_user, pool=self.mail.pool
        )
        upstream_client(self.passthrough).session_refresh()

    @property
    def auth(self) -> str:
        return self.mail.auth

    @property
    def imap_id(self) -> str:
        return self.mail.account_id

    @property
    def upstream_id(self) -> str:
        """The proxy accountId of alice's Cyrus account (the upstream's primary: the Account's own id)."""
        return self.passthrough.accountid

    def request(self, *calls: list[Any]) -> list[list[Any]]:
        return method_responses(api_post(self.client, self.auth, jmap_request(*calls, using=[CORE, MAIL])))

    def upstream_direct(self, *calls: list[Any]) -> list[list[Any]]:
        """Calls straight to Cyrus as alice (no proxy): to check what landed there."""
        import httpx

        basic = base64.b64encode(f"{self.cyrus_user.login}:{self.cyrus_user.password}".encode()).decode()
        session = upstream_client(self.passthrough).session()
        answer = httpx.post(session.api_url, json={"using": [CORE, MAIL], "methodCalls": list(calls)},
                            headers={"Authorization": f"Basic {basic}"}, timeout=30)  # fmt: skip
        answer.raise_for_status()
        return list(answer.json()["methodResponses"])

    def upstream_download(self, blob_id: str) -> bytes:
        import httpx

        basic = base64.b64encode(f"{self.cyrus_user.login}:{self.cyrus_user.password}".encode()).decode()
        session = upstream_client(self.passthrough).session()
        url = (session.download_url.replace("{accountId}", self.cyrus_user.login).replace("{blobId}", blob_id)
               .replace("{name}", "x").replace("{type}", "application/octet-stream"))  # fmt: skip
        answer = httpx.get(url, headers={"Authorization": f"Basic {basic}"}, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.content

    def upstream_inbox(self) -> str:
        [(_, mailboxes, _)] = self.upstream_direct(
            ["Mailbox/get", {"accountId": self.cyrus_user.login, "properties": ["role"]}, "0"]
        )
        return str(next(box["id"] for box in mailboxes["list"] if box["role"] == "inbox"))
