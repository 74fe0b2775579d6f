"""What an UpstreamClient keeps between requests (backends.jmap.client), against the suite's Cyrus.

- alice's credential is opened once per stored value: with OpenBao Transit
  each opening is a round trip to the vault, so it must not happen per
  forwarded request. Shown by taking the key away after the first request: the
  next requests still authenticate; a new stored value is opened again.
- Her kept-alive connection to Cyrus survives a Session refresh stored by
  another process (which saves the Account row and so replaces the cached
  client): no new TCP (and, for https, TLS) handshake per refresh.
"""
from __future__ import annotations

import dataclasses
import secrets
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from accounts.models import Account
from accounts.secret_fields import account_secret_set
from backends.jmap.client import UpstreamError, upstream_client
from backends.jmap.session_store import upstream_session_refresh
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.servers.cyrus import CyrusServer, CyrusUser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_upstream_clients")]

CORE = "urn:ietf:params:jmap:core"
ECHO = {"using": [CORE], "methodCalls": [["Core/echo", {"hello": "alice"}, "0"]]}


@pytest.fixture
def alice_cyrus(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user(f"alice-q1-reuse-{secrets.token_hex(3)}", "alice-reuse-pw")


def _aes_key(settings: Settings, hex_key: str) -> None:
    """Seal and open credentials with AES-GCM under `hex_key` (JMAP_SECRET_KEY), no vault."""
    settings.ENV = dataclasses.replace(settings.ENV, secret_key=hex_key, openbao_addr="", openbao_token="",
                                       openbao_role_id="", openbao_secret_id="")  # fmt: skip


def _echoed(answer: dict[str, Any]) -> Any:
    return answer["methodResponses"][0]


def test_the_credential_is_opened_once_per_stored_value(settings: Settings, alice_cyrus: CyrusUser) -> None:
    _aes_key(settings, secrets.token_hex(32))
    alice = passthrough_account_make(accountid=f"alice{secrets.token_hex(3)}", user=alice_cyrus)
    assert str(alice.password).startswith("enc1:")
    client = upstream_client(alice)
    assert _echoed(client.api_post(ECHO))[0] == "Core/echo"
    # From now on the stored value cannot be opened: only the header built from it works.
    _aes_key(settings, secrets.token_hex(32))
    for _ in range(3):
        assert _echoed(client.api_post(ECHO))[0] == "Core/echo"
    # A new stored value (sealed under the current key) is opened again: a wrong one is refused upstream...
    account_secret_set(account=client.account, field="password", value="not-alices-password")
    with pytest.raises(UpstreamError) as refused:
        client.api_post(ECHO)
    assert refused.value.status == 401
    # ...and the right one works again.
    account_secret_set(account=client.account, field="password", value=alice_cyrus.password)
    assert _echoed(client.api_post(ECHO))[0] == "Core/echo"


def test_the_connection_outlives_a_session_refresh_stored_elsewhere(alice_cyrus: CyrusUser) -> None:
    alice = passthrough_account_make(accountid=f"alice{secrets.token_hex(3)}", user=alice_cyrus)
    first = upstream_client(alice)
    first.api_post(ECHO)
    pooled = first.http()
    [connection] = pooled._transport._pool.connections  # type: ignore[attr-defined]  # httpx internals
    # The worker's periodic refresh: another Account instance saves the row (a new updated_at).
    upstream_session_refresh(account=Account.objects.get(pk=alice.pk))
    current = Account.objects.get(pk=alice.pk)
    assert current.updated_at != alice.updated_at
    second = upstream_client(current)
    assert second is not first
    assert _echoed(second.api_post(ECHO))[0] == "Core/echo"
    assert second.http() is pooled
    assert pooled._transport._pool.connections == [connection]  # type: ignore[attr-defined]


def test_another_session_url_gets_its_own_connections(alice_cyrus: CyrusUser, cyrus: CyrusServer) -> None:
    alice = passthrough_account_make(accountid=f"alice{secrets.token_hex(3)}", user=alice_cyrus)
    first = upstream_client(alice)
    first.api_post(ECHO)
    pooled = first.http()
    # The Session's own URL instead of the well-known one: another sessionUrl, same server.
    current = Account.objects.get(pk=alice.pk)
    current.session_url = f"{cyrus.base_url}/jmap"
    current.save()
    second = upstream_client(current)
    assert second.http() is not pooled
    assert _echoed(second.api_post(ECHO))[0] == "Core/echo"
