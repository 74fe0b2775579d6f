"""Scale-out push (DESIGN.md "Push", issue 4 item 6): a StateChange reaches an
EventSource client connected to web process B whether the change was made
through web process A or by another IMAP client, since every process reads
the same per-account feed (channels-redis) and the worker node's listener
watches what any web process's clients watch."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import imapclient
import pytest

from tests.jmapcore.push.clients import CHANGE_WAIT, PushPerson, eventsource, person_add
from tests.scaleout.cluster import (
    Cluster,
    RoleProcess,
    account_get,
    imap_person,
    listener_watching,
    message,
    sync_request,
    wait_for,
)
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.slow

# The listener needs a moment to see a new watch and reach IDLE on the server.
WATCH_WAIT = 15.0


def on(person: PushPerson, web: RoleProcess) -> PushPerson:
    """The same person, talking to another web process."""
    return dataclasses.replace(person, proxy=web.as_proxy())


def test_change_through_a_reaches_eventsource_on_b(cluster: Cluster) -> None:
    alice = person_add(cluster.a.as_proxy(), "alice")
    with eventsource(on(alice, cluster.b)) as stream:
        written = time.time()
        new_state = alice.identity_create()  # through web A's JMAP API
        change = stream.next_state(timeout=CHANGE_WAIT)
    assert change is not None, "no StateChange on B within 2 s"
    assert change["changed"] == {alice.account_id: {"Identity": new_state}}
    assert time.time() - written < CHANGE_WAIT


def test_imap_client_change_reaches_eventsource_on_b(
    cluster: Cluster, dovecot: DovecotServer, record_property: Callable[[str, object], None]
) -> None:
    bob = imap_person(cluster.a, dovecot, "bob")
    sync_request(cluster.a, bob.account_id)
    wait_for(lambda: account_get(cluster.a, bob.account_id)["lastSyncAt"], timeout=30, what="bob's first sync")
    with eventsource(on(bob, cluster.b), types="Email") as stream:
        try:
            wait_for(lambda: listener_watching(cluster.worker_node, bob.account_id), timeout=WATCH_WAIT)
            path = "imap-idle-listener"
        except TimeoutError:
            # No listener watching (not started by this runproxy): the change is
            # picked up by a sync asked through the management API instead.
            path = "management-api-sync"
        record_property("change_path", path)
        with imapclient.IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=10) as other_client:
            other_client.login(bob.login, dovecot.users[bob.login])
            other_client.append("INBOX", message(1, tag="other-client"))
        appended = time.monotonic()
        if path == "management-api-sync":
            sync_request(cluster.a, bob.account_id)
        change = stream.next_state(timeout=CHANGE_WAIT + 1.0)
        latency = time.monotonic() - appended
    assert change is not None, f"no Email StateChange on B after another client's APPEND (path: {path})"
    assert set(change["changed"][bob.account_id]) == {"Email"}
    record_property("latency_s", round(latency, 3))
    print(f"IMAP APPEND -> StateChange on web B: {latency:.2f} s via {path}")
