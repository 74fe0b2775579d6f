"""Review finding 1: an upstream Session (or a redirect of the sessionUrl) must
not send the proxy, with the account's credentials, to an internal address the
operator did not name (backends.jmap.url_policy; RFC 8620 §8.6 for the same
risk with push URLs).

mallory runs a JMAP server (the suite's Cyrus behind tests' CyrusFront) that
an operator added as alice's passthrough upstream; its Session names the
proxy host's other services (a RecordingServer on 127.0.0.1 standing for the
management port) or the cloud metadata address. The proxy must refuse that
Session, store nothing, answer the client a JMAP error, and never connect.
"""
from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import Account, Pool, UpstreamAccount
from backends.jmap.client import UpstreamError, upstream_client, upstream_clients_clear
from backends.jmap.url_policy import UpstreamUrlRefused, upstream_url_check
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.backends.jmap.review_servers import CyrusFront, RecordingServer
from tests.jmapcore.apiclient import api_post
from tests.servers.cyrus import CyrusServer, CyrusUser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


@pytest.fixture
def alice_cyrus(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user("alice-r1-destinations", "alice-r1-destinations-pw")


def _alice_account(user: CyrusUser, front: CyrusFront) -> tuple[Account, Client, str]:
    password = f"alice-{secrets.token_hex(4)}"
    pool = Pool.objects.create(login=f"alice-r1-{secrets.token_hex(3)}@example.test",
                               password_hash=make_password(password))
    account = passthrough_account_make(accountid=f"alicer1{secrets.token_hex(3)}", user=user, pool=pool,
                                       session_url=front.session_url)
    auth = "Basic " + base64.b64encode(f"{pool.login}:{password}".encode()).decode()
    return account, Client(), auth


def _mailbox_get(client: Client, auth: str, account_id: str) -> list[Any]:
    answer = api_post(client, auth, {"using": [CORE, MAIL],
                                     "methodCalls": [["Mailbox/get", {"accountId": account_id}, "m"]]})
    assert answer.status_code == 200, answer.content
    responses: list[Any] = answer.json()["methodResponses"]
    return responses


def test_a_session_naming_a_loopback_port_for_its_api_is_refused(
    alice_cyrus: CyrusUser, mallory_server: CyrusFront, internal: RecordingServer
) -> None:
    mallory_server.session_edit = lambda session: {**session, "apiUrl": f"{internal.base_url}/api/accounts"}
    account, client, auth = _alice_account(alice_cyrus, mallory_server)
    responses = _mailbox_get(client, auth, account.accountid)
    assert [(name, arguments.get("type"), call_id) for name, arguments, call_id in responses] == [
        ("error", "serverFail", "m")
    ]
    assert "apiUrl" in responses[0][1]["description"]
    assert alice_cyrus.password not in responses[0][1]["description"]
    assert internal.seen == []
    account.refresh_from_db()
    assert account.upstream_session == {}
    assert not UpstreamAccount.objects.filter(account=account).exists()


def test_a_session_naming_the_cloud_metadata_address_for_downloads_is_refused(
    alice_cyrus: CyrusUser, mallory_server: CyrusFront
) -> None:
    mallory_server.session_edit = lambda session: {
        **session, "downloadUrl": "http://169.254.169.254/latest/meta-data/{accountId}/{blobId}/{name}?t={type}"
    }
    account, _, _ = _alice_account(alice_cyrus, mallory_server)
    with pytest.raises(UpstreamError) as caught:
        upstream_client(account).session_refresh()
    assert "downloadUrl" in caught.value.message
    assert caught.value.permanent
    account.refresh_from_db()
    assert account.upstream_session == {}


def test_a_redirect_of_the_session_url_to_a_loopback_port_is_not_followed(
    alice_cyrus: CyrusUser, mallory_server: CyrusFront, internal: RecordingServer
) -> None:
    mallory_server.redirect = f"{internal.base_url}/jmap"
    account, _, _ = _alice_account(alice_cyrus, mallory_server)
    with pytest.raises(UpstreamError):
        upstream_client(account).session_refresh()
    assert internal.seen == []


def test_the_operator_may_allow_internal_upstream_urls(
    alice_cyrus: CyrusUser, mallory_server: CyrusFront, cyrus: CyrusServer, settings: Settings
) -> None:
    """Cyrus's own origin named from the front's Session: internal, so only with the setting."""
    settings.JMAP_UPSTREAM_ALLOW_PRIVATE = True
    mallory_server.session_edit = lambda session: {**session, "apiUrl": f"{cyrus.base_url}/jmap/"}
    account, client, auth = _alice_account(alice_cyrus, mallory_server)
    responses = _mailbox_get(client, auth, account.accountid)
    assert responses[0][0] == "Mailbox/get", responses
    assert mallory_server.api_calls == 0  # the calls went straight to Cyrus's apiUrl


def test_the_session_urls_own_origin_is_always_allowed(alice_cyrus: CyrusUser, mallory_server: CyrusFront) -> None:
    account, client, auth = _alice_account(alice_cyrus, mallory_server)
    responses = _mailbox_get(client, auth, account.accountid)
    assert responses[0][0] == "Mailbox/get", responses
    assert mallory_server.api_calls == 1


# -- the rule itself (pure: IP literals resolve without DNS)


def test_another_origin_at_a_public_address_is_allowed() -> None:
    public, internal = "https://93.184.215.14/jmap/api/", "https://10.1.2.3/jmap/api/"
    refused = []
    for url in (public, internal):
        try:
            upstream_url_check(url, session_url="https://jmap.example.test/jmap", what="apiUrl")
        except UpstreamUrlRefused:
            refused.append(url)
    assert refused == [internal]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/api/accounts",
    "http://[::1]:8080/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/jmap/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0:8080/",
])  # fmt: skip
def test_another_origin_at_an_internal_address_is_refused(url: str) -> None:
    with pytest.raises(UpstreamUrlRefused):
        upstream_url_check(url, session_url="http://127.0.0.1:8008/jmap", what="apiUrl")


def test_https_to_http_is_refused_even_on_the_same_host() -> None:
    with pytest.raises(UpstreamUrlRefused, match="unencrypted"):
        upstream_url_check("http://jmap.example.test/jmap/", session_url="https://jmap.example.test/jmap",
                           what="apiUrl", resolve=False)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1/", "/jmap/", "http://:80/", "http://h:x/"])
def test_urls_without_an_http_origin_are_refused(url: str) -> None:
    with pytest.raises(UpstreamUrlRefused):
        upstream_url_check(url, session_url="http://127.0.0.1:8008/jmap", what="apiUrl")


def test_a_stored_session_naming_an_internal_download_url_is_not_fetched(
    alice_cyrus: CyrusUser, mallory_server: CyrusFront, internal: RecordingServer
) -> None:
    """A Session stored before this rule (or a name that now resolves inside) is checked when used."""
    account, client, auth = _alice_account(alice_cyrus, mallory_server)
    upstream_client(account).session_refresh()
    account.refresh_from_db()
    session = dict(account.upstream_session)
    session["downloadUrl"] = internal.base_url + "/latest/{accountId}/{blobId}/{name}?t={type}"
    session["uploadUrl"] = internal.base_url + "/upload/{accountId}/"
    account.upstream_session = session
    account.save(update_fields=["upstream_session", "updated_at"])
    upstream_clients_clear()
    download = client.get(f"/download/{account.accountid}/Gabc/x.txt?type=text/plain", HTTP_AUTHORIZATION=auth)
    assert download.status_code == 502, download.content
    assert b"secret of the internal service" not in download.content
    upload = client.post(f"/upload/{account.accountid}/", data=b"hello", content_type="text/plain",
                         HTTP_AUTHORIZATION=auth)  # fmt: skip
    assert upload.status_code == 502, upload.content
    assert internal.seen == []
