"""The push relay connects to an eventSourceUrl only where url_policy allows,
at every connection (backends.jmap.push_relay.relay_destination_check).

alice's passthrough account is on mallory's server (CyrusFront before the
suite's Cyrus), whose Session names an internal service's URL as its
eventSourceUrl. The operator allowed internal upstreams when the Session was
stored, then withdrew JMAP_UPSTREAM_ALLOW_PRIVATE: the relay's shared async
client has no per-account request hook, so without the check it would send
alice's credentials to the internal service on its next connection.
"""
from __future__ import annotations

import secrets
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from backends.jmap.client import upstream_client, upstream_clients_clear
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.backends.jmap.push_helpers import relay_error_first
from tests.backends.jmap.review_servers import CyrusFront, RecordingServer
from tests.servers.cyrus import CyrusServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]


def test_the_relay_does_not_connect_to_an_event_source_the_policy_no_longer_allows(
    cyrus: CyrusServer, mallory_server: CyrusFront, internal: RecordingServer, settings: Settings
) -> None:
    user = cyrus.user("alice-f-relay-dest", "alice-f-relay-dest-pw")

    def internal_events(session: dict[str, Any]) -> dict[str, Any]:
        return {**session, "eventSourceUrl": f"{internal.base_url}/events?types={{types}}"}

    mallory_server.session_edit = internal_events
    account = passthrough_account_make(accountid=f"alicefrd{secrets.token_hex(3)}", user=user,
                                       session_url=mallory_server.session_url)  # fmt: skip
    settings.JMAP_UPSTREAM_ALLOW_PRIVATE = True
    upstream_client(account).session_refresh()
    account.refresh_from_db()
    assert account.upstream_session["eventSourceUrl"].startswith(internal.base_url)
    settings.JMAP_UPSTREAM_ALLOW_PRIVATE = False
    upstream_clients_clear()

    error = relay_error_first(account_pk=account.pk)
    assert "eventSourceUrl" in error and "JMAP_UPSTREAM_ALLOW_PRIVATE" in error, error
    assert internal.seen == []
