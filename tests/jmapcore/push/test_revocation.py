"""Connections that outlive their request end with their credential
(jmapcore.push.revocation), against the real proxy in embedded mode: revoking a
bearer token closes the EventSource streams and WebSockets that presented it
(and only those), whether it is revoked through the management API (in the web
process itself) or by another process (found by polling); deleting an account
closes the connections of its login."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.jmapcore.push.clients import CHANGE_WAIT, EventStream, PushPerson, eventsource, person_add
from tests.jmapcore.push.test_websocket import jmap_socket, request
from tests.servers.proxy import ROOT, ProxyProcess

# Bounds on waiting for a close (the guard closes within about a second); they
# only stop a broken test from hanging. The measured delays are printed.
CLOSE_WAIT = 10.0
JSON = {"Content-Type": "application/json"}  # the management API wants it on every write

_REVOKER = """
import sys, django
django.setup()
from accounts.models import ApiToken
from accounts.tokens import token_revoke
token_revoke(token=ApiToken.objects.get(pk=int(sys.argv[1])))
import time
print(time.time())
"""


_DISABLER = """
import sys, django
django.setup()
from accounts.models import Pool
pool = Pool.objects.get(login=sys.argv[1])
pool.is_active = False
pool.save()
"""


def run_in_other_process(proxy: ProxyProcess, script: str, *args: str) -> str:
    """Run `script` with django set up on the proxy's database, as another process would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JMAP_", "DJANGO_"))}
    env.update(
        JMAP_DATADIR=str(proxy.datadir), JMAP_PORT=str(proxy.jmap_port),
        JMAP_MGMT_PORT=str(proxy.mgmt_port), DJANGO_SETTINGS_MODULE="jmapsite.settings",
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, check=True, timeout=60, capture_output=True, text=True
    )
    return done.stdout


def token_issue(person: PushPerson) -> tuple[int, str]:
    """POST /api/accounts/{id}/tokens: (token id, "Bearer ...")."""
    issued = httpx.post(f"{person.proxy.mgmt_url}/api/accounts/{person.account_id}/tokens", json={"name": "push"})
    assert issued.status_code == 201, issued.text
    return int(issued.json()["id"]), "Bearer " + issued.json()["token"]


def wait_closed(stream: EventStream) -> float:
    """Seconds until the server ended the stream (fails the test past CLOSE_WAIT)."""
    started = time.monotonic()
    assert stream.ended.wait(CLOSE_WAIT), "the EventSource stream was not closed"
    return time.monotonic() - started


def socket_close_code(socket: object) -> tuple[int | None, float]:
    """Read until the server closes the socket: (close code, seconds waited)."""
    started = time.monotonic()
    deadline = started + CLOSE_WAIT
    while time.monotonic() < deadline:
        try:
            socket.recv(timeout=max(0.1, deadline - time.monotonic()))  # type: ignore[attr-defined]
        except TimeoutError:
            break
        except ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd else None), time.monotonic() - started
    pytest.fail("the WebSocket was not closed")


def test_revoking_a_token_closes_its_eventsource_and_websocket(push_proxy: ProxyProcess) -> None:
    carol = person_add(push_proxy, "carol")
    revoked_id, revoked = token_issue(carol)
    _other_id, other = token_issue(carol)
    with (
        eventsource(carol, headers={"Authorization": revoked}) as doomed,
        eventsource(carol, headers={"Authorization": other}) as other_token_stream,
        eventsource(carol) as basic_stream,
        jmap_socket(carol, auth=revoked) as doomed_socket,
        jmap_socket(carol, auth=other) as other_socket,
    ):
        assert request(doomed_socket, ["Core/echo", {"before": 1}, "c"])["@type"] == "Response"
        answer = httpx.delete(f"{push_proxy.mgmt_url}/api/tokens/{revoked_id}", headers=JSON)
        assert answer.status_code == 204
        stream_delay = wait_closed(doomed)
        code, socket_delay = socket_close_code(doomed_socket)
        assert code == 3000  # IANA close code "Unauthorized"
        # The login's other connections stay, and still hear changes.
        new_state = carol.identity_create()
        for stream in (other_token_stream, basic_stream):
            change = stream.next_state(timeout=CHANGE_WAIT)
            assert change == {"@type": "StateChange", "changed": {carol.account_id: {"Identity": new_state}}}
        assert request(other_socket, ["Core/echo", {"after": 1}, "c"])["@type"] == "Response"
    print(f"token revoked through the management API: EventSource closed after {stream_delay:.2f} s, "
          f"WebSocket after {socket_delay:.2f} s")  # fmt: skip
    # Reconnecting with the revoked token is refused.
    refused = httpx.get(f"{push_proxy.jmap_url}/eventsource/", headers={"Authorization": revoked})
    assert refused.status_code == 401


def test_a_token_revoked_by_another_process_closes_its_connections(push_proxy: ProxyProcess) -> None:
    """No message reaches the web process in embedded mode: its poll finds it."""
    dave = person_add(push_proxy, "dave")
    token_id, bearer = token_issue(dave)
    with eventsource(dave, headers={"Authorization": bearer}) as stream, jmap_socket(dave, auth=bearer) as socket:
        committed = float(run_in_other_process(push_proxy, _REVOKER, str(token_id)).split()[-1])
        wait_closed(stream)
        code, _ = socket_close_code(socket)
        assert code == 3000  # IANA close code "Unauthorized"
        within = time.time() - committed
    print(f"token revoked by another process: EventSource and WebSocket closed within {within:.2f} s of the commit")


def test_deleting_the_account_closes_its_logins_connections(push_proxy: ProxyProcess) -> None:
    erin = person_add(push_proxy, "erin")
    bystander = person_add(push_proxy, "frank")
    with (
        eventsource(erin) as erin_stream,
        jmap_socket(erin) as erin_socket,
        eventsource(bystander) as frank_stream,
    ):
        assert httpx.delete(f"{push_proxy.mgmt_url}/api/accounts/{erin.account_id}", headers=JSON).status_code == 204
        wait_closed(erin_stream)
        code, _ = socket_close_code(erin_socket)
        assert code == 3000  # IANA close code "Unauthorized"
        new_state = bystander.identity_create()
        change = frank_stream.next_state(timeout=CHANGE_WAIT)
        assert change == {"@type": "StateChange", "changed": {bystander.account_id: {"Identity": new_state}}}


def test_disabling_the_login_closes_its_connections(push_proxy: ProxyProcess) -> None:
    heidi = person_add(push_proxy, "heidi")
    with eventsource(heidi) as stream, jmap_socket(heidi) as socket:
        run_in_other_process(push_proxy, _DISABLER, heidi.login)
        wait_closed(stream)
        code, _ = socket_close_code(socket)
        assert code == 3000
    refused = httpx.get(f"{push_proxy.jmap_url}/eventsource/", headers={"Authorization": heidi.basic})
    assert refused.status_code == 401
