"""Review finding: a stored credential that cannot travel in an HTTP header
(a bearer token pasted with its trailing newline, a password with a curly
quote) must not come back in any error text. httpx refused such a header
with a message quoting it whole, which became the UpstreamError, the log
line and the JMAP error description the client reads.
"""
from __future__ import annotations

import base64
import logging
import secrets

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from accounts.models import Pool
from accounts.secret_fields import account_secret_set
from backends.jmap.client import UpstreamError, upstream_client, upstream_clients_clear
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.jmapcore.apiclient import api_post
from tests.servers.cyrus import CyrusServer, CyrusUser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


@pytest.fixture
def alice_cyrus(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user("alice-r1-credtext", "alice-r1-credtext-pw")


@pytest.mark.parametrize("token", [f"tok-{secrets.token_hex(8)}\n", f"tok-{secrets.token_hex(8)}\u2019x"])
def test_a_credential_that_is_no_header_value_is_never_quoted(
    alice_cyrus: CyrusUser, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = f"alice-{secrets.token_hex(4)}"
    pool = Pool.objects.create(login=f"alice-r1t-{secrets.token_hex(3)}@example.test",
                               password_hash=make_password(password))
    account = passthrough_account_make(accountid=f"alicer1t{secrets.token_hex(3)}", user=alice_cyrus,
                                       password=token, auth_type="bearer", pool=pool)
    secret = token.strip()
    with pytest.raises(UpstreamError) as caught:
        upstream_client(account).session_refresh()
    assert secret not in caught.value.message
    assert caught.value.permanent
    auth = "Basic " + base64.b64encode(f"{pool.login}:{password}".encode()).decode()
    answer = api_post(Client(), auth, {"using": [CORE, MAIL],
                                       "methodCalls": [["Mailbox/get", {"accountId": account.accountid}, "m"]]})
    assert answer.status_code == 200
    name, arguments, _ = answer.json()["methodResponses"][0]
    assert name == "error"
    assert secret not in arguments.get("description", "")
    assert secret not in caplog.text


@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")
def test_blob_endpoints_with_a_credential_that_is_no_header_value_answer_a_problem(alice_cyrus: CyrusUser) -> None:
    password = f"alice-{secrets.token_hex(4)}"
    pool = Pool.objects.create(login=f"alice-r1b-{secrets.token_hex(3)}@example.test",
                               password_hash=make_password(password))
    account = passthrough_account_make(accountid=f"alicer1b{secrets.token_hex(3)}", user=alice_cyrus, pool=pool)
    upstream_client(account).session_refresh()
    account.refresh_from_db()
    account.auth_type = "bearer"
    account_secret_set(account=account, field="password", value=f"tok-{secrets.token_hex(8)}\u2019")
    account.save()
    upstream_clients_clear()
    auth = "Basic " + base64.b64encode(f"{pool.login}:{password}".encode()).decode()
    client = Client(raise_request_exception=False)
    upload = client.post(f"/upload/{account.accountid}/", data=b"x", content_type="text/plain",
                         HTTP_AUTHORIZATION=auth)  # fmt: skip
    download = client.get(f"/download/{account.accountid}/Gabc/x.txt?type=text/plain", HTTP_AUTHORIZATION=auth)
    assert upload.status_code != 500 and upload["Content-Type"] == "application/problem+json"
    assert download.status_code != 500 and download["Content-Type"] == "application/problem+json"
