"""Scale-out: revoking a bearer token through web process A closes the
EventSource stream and the WebSocket that presented it on web process B, via
the channel layer (jmapcore.push.revocation: REVOCATIONS_GROUP on Redis)."""
from __future__ import annotations

import dataclasses
import time

import httpx
import pytest

from tests.jmapcore.push.clients import PushPerson, eventsource, person_add
from tests.jmapcore.push.test_revocation import JSON, socket_close_code, token_issue, wait_closed
from tests.jmapcore.push.test_websocket import jmap_socket, request
from tests.scaleout.cluster import Cluster, RoleProcess

pytestmark = pytest.mark.slow


def on(person: PushPerson, web: RoleProcess) -> PushPerson:
    """The same person, talking to another web process."""
    return dataclasses.replace(person, proxy=web.as_proxy())


def test_token_revoked_through_a_closes_connections_on_b(cluster: Cluster) -> None:
    grace = person_add(cluster.a.as_proxy(), "grace")
    token_id, bearer = token_issue(grace)
    on_b = on(grace, cluster.b)
    with (
        eventsource(on_b, headers={"Authorization": bearer}) as stream,
        eventsource(on_b) as basic_stream,
        jmap_socket(on_b, auth=bearer) as socket,
    ):
        assert request(socket, ["Core/echo", {}, "c"])["@type"] == "Response"
        revoked_at = time.monotonic()
        assert httpx.delete(f"{cluster.a.mgmt_url}/api/tokens/{token_id}", headers=JSON).status_code == 204
        wait_closed(stream)
        stream_delay = time.monotonic() - revoked_at
        code, _ = socket_close_code(socket)
        assert code == 3000
        assert not basic_stream.ended.is_set()  # the login's Basic connection stays
    print(f"revoked through web A: EventSource on web B closed {stream_delay:.2f} s after the DELETE")
