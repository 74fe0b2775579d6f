"""A passthrough download whose OAuth access token has expired refreshes it once and succeeds
(issue 12, item 3, with backends.jmap.oauth).

The upstream is a second jmap-proxy (bob's IMAP account on Dovecot) behind
the suite's OAuth token server (tests/backends/jmap/conftest.py); expiry is
played by revoking the access token upstream.
"""
from __future__ import annotations

import base64
import json
import secrets

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from accounts.models import Account
from backends.jmap.client import upstream_client
from tests.backends.jmap.conftest import UpstreamMailbox, oauth_account_make
from tests.servers.oauth_token_server import OAuthTokenServer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators"),
    pytest.mark.usefixtures("fresh_upstream_clients"),
]


@pytest.fixture
def bob(token_server: OAuthTokenServer, upstream_bob: UpstreamMailbox) -> tuple[Account, str]:
    """bob's OAuth passthrough account and the Basic credentials of his proxy login."""
    account = oauth_account_make(
        accountid="bobq3", tokens=token_server.tokens_issue(),
        session_url=upstream_bob.proxy.jmap_url + "/.well-known/jmap",
        token_url=token_server.token_url, client_id=token_server.client_id,
    )  # fmt: skip
    password = "bob-login-" + secrets.token_hex(4)
    account.pool.password_hash = make_password(password)
    account.pool.save(update_fields=["password_hash"])
    upstream_client(account).session_refresh()
    auth = "Basic " + base64.b64encode(f"{account.pool.login}:{password}".encode()).decode()
    return account, auth


def test_an_expired_token_is_refreshed_for_a_download(bob: tuple[Account, str], token_server: OAuthTokenServer) -> None:
    account, auth = bob
    client = Client()
    data = secrets.token_bytes(50_000)
    uploaded = client.post(f"/upload/{account.accountid}/", data=data, content_type="application/octet-stream",
                           HTTP_AUTHORIZATION=auth)  # fmt: skip
    assert uploaded.status_code == 201, uploaded.content
    blob_id = json.loads(uploaded.content)["blobId"]
    token_server.access_revoke_all()

    response = client.get(f"/download/{account.accountid}/{blob_id}/b.bin?type=application/octet-stream",
                          HTTP_AUTHORIZATION=auth)  # fmt: skip

    assert response.status_code == 200, getattr(response, "content", b"")
    try:
        assert b"".join(response) == data
    finally:
        response.close()
    assert token_server.grants == 1
