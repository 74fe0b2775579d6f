"""Push for a passthrough account whose upstream has a working EventSource
(issue 12 item 4): a second jmap-proxy, with an IMAP account on the suite's
Dovecot, is the upstream. Its event stream is relayed (not polled) into the
proxy's EventSource with the account id rewritten and the upstream's states
kept (and into its WebSocket push); the relay reconnects after the upstream drops the stream (a TCP relay in
front of the upstream cuts it and refuses it for a while) and publishes what
changed meanwhile; the upstream stream is closed when nobody listens."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.backends.imap_idle.conftest import wait_until
from tests.backends.jmap.push_helpers import (
    CHANGE_WAIT,
    RELAY_START_WAIT,
    RELAY_STOP_WAIT,
    DroppableRelay,
    passthrough_person,
    proxy_start_behind,
    relay_of,
    relay_status,
)
from tests.jmapcore.push.clients import EventStream, PushPerson, eventsource
from tests.jmapcore.push.test_websocket import jmap_socket, receive, send
from tests.servers.dovecot import DovecotServer
from tests.servers.proxy import ProxyProcess

MESSAGE = b"From: carol@example.test\r\nTo: alice@example.test\r\nSubject: relay me\r\n\r\nhello\r\n"
# Quiet for this long: the upstream's own first sync has been heard out.
SETTLE_QUIET = 3.0
# A reconnect waits out the relay's backoff (1 s doubling, jittered) after a few refused tries.
RECONNECT_WAIT = 40.0


@dataclass
class Upstream:
    proxy: ProxyProcess
    relay: DroppableRelay
    person: PushPerson  # the login on the upstream proxy (IMAP account on Dovecot)

    @property
    def session_url(self) -> str:
        """The upstream's session, reached through the TCP relay (its URLs all point there too)."""
        return f"http://127.0.0.1:{self.relay.port}/.well-known/jmap"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory, dovecot: DovecotServer) -> Iterator[Upstream]:
    # The relay's port is the upstream's BASEURL, so its eventSourceUrl and apiUrl go through it;
    # its target is set once the upstream has its port.
    relay = DroppableRelay(target_host="127.0.0.1", target_port=9)
    proxy = proxy_start_behind(tmp_path_factory.mktemp("push-relay-upstream"), public_port=relay.port)
    try:
        proxy.wait_ready()
        relay.target = ("127.0.0.1", proxy.jmap_port)
        login = f"alice-q4-{secrets.token_hex(3)}@example.test"
        password = dovecot.user_add(login)
        accountid = f"alice-up-{secrets.token_hex(3)}"
        body = {
            "accountid": accountid, "email": login, "type": "imap", "username": login,
            "password": password, "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0,
            "check": False,
        }  # fmt: skip
        response = httpx.post(proxy.mgmt_url + "/api/accounts", json=body, timeout=30)
        assert response.status_code == 201, response.text
        person = PushPerson(name="alice", login=login, password=password, account_ids=[accountid],
                            proxy=proxy)  # fmt: skip
        yield Upstream(proxy=proxy, relay=relay, person=person)
    finally:
        proxy.stop()
        relay.stop()


@pytest.fixture(scope="module")
def downstream(push_downstream: ProxyProcess) -> ProxyProcess:
    """The proxy under test: the package's push downstream (conftest.py), shared with test_push_poll_cyrus.py."""
    return push_downstream


@pytest.fixture(scope="module")
def alice(upstream: Upstream, downstream: ProxyProcess) -> PushPerson:
    """alice's passthrough account on the proxy under test, whose upstream is the other proxy."""
    return passthrough_person(downstream, "alice", session_url=upstream.session_url, username=upstream.person.login,
                              password=upstream.person.password)  # fmt: skip


def sse_active(proxy: ProxyProcess) -> float:
    """The upstream's own count of open EventSource streams (its /metrics)."""
    response = httpx.get(proxy.mgmt_url + "/metrics", timeout=10)
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "jmap_sse_connections_active":
                return float(sample.value)
    raise AssertionError("jmap_sse_connections_active not exposed")


def upstream_state(upstream: Upstream, type_name: str) -> str:
    """The upstream's current state of `type_name`, asked directly."""
    (name, args, _), = upstream.person.call([f"{type_name}/get", {"accountId": upstream.person.account_id,
                                                                 "ids": []}, "s"],
                                            using=("urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail",
                                                   "urn:ietf:params:jmap:submission"))  # fmt: skip
    assert name == f"{type_name}/get", args
    return str(args["state"])


def streaming(downstream: ProxyProcess, alice: PushPerson, *, connects: int) -> dict[str, object] | None:
    relay = relay_of(downstream, alice.account_id)
    return relay if relay and relay["state"] == "streaming" and relay["connects"] >= connects else None


def settle(stream: EventStream) -> None:
    """Hear out whatever the upstream is still reporting (its first sync); bounded."""
    for _ in range(20):
        if stream.next_state(timeout=SETTLE_QUIET) is None:
            return
    raise AssertionError("the upstream never went quiet")


def next_with(stream: EventStream, account_id: str, type_name: str, *, timeout: float) -> dict[str, str] | None:
    """The types of the first StateChange naming `type_name` for `account_id` within `timeout`."""
    found = wait_until(lambda: _one(stream, account_id, type_name), timeout=timeout, interval=0)
    return found if isinstance(found, dict) else None


def _one(stream: EventStream, account_id: str, type_name: str) -> dict[str, str] | None:
    change = stream.next_state(timeout=0.2)
    if change is None:
        return None
    types = change["changed"].get(account_id, {})
    assert set(change["changed"]) == {account_id}, change  # only proxy ids of the pool, rewritten
    return dict(types) if type_name in types else None


def test_the_upstream_event_stream_is_relayed_not_polled(
    upstream: Upstream, downstream: ProxyProcess, alice: PushPerson, dovecot: DovecotServer
) -> None:
    # Nobody listens yet: no relay, no stream on the upstream.
    assert relay_of(downstream, alice.account_id) is None and sse_active(upstream.proxy) == 0
    with eventsource(alice) as stream:
        relay = wait_until(lambda: streaming(downstream, alice, connects=1), timeout=RELAY_START_WAIT)
        assert relay, relay_status(downstream)
        assert relay["mode"] == "eventsource"
        assert sse_active(upstream.proxy) == 1
        settle(stream)
        polls_before = relay_of(downstream, alice.account_id)["polls"]  # type: ignore[index]
        dovecot.message_append(upstream.person.login, MESSAGE)
        types = next_with(stream, alice.account_id, "Email", timeout=CHANGE_WAIT)
        assert types is not None, (relay_of(downstream, alice.account_id), downstream.log_text()[-3000:])
        # The upstream's own state string, carried as it is.
        assert types["Email"] == upstream_state(upstream, "Email")
        relay = relay_of(downstream, alice.account_id)
        assert relay is not None and relay["events"] >= 1 and relay["polls"] == polls_before, relay
    # Nobody listens any more: the relay closes its upstream stream.
    assert wait_until(lambda: sse_active(upstream.proxy) == 0, timeout=RELAY_STOP_WAIT), relay_status(downstream)
    assert wait_until(lambda: relay_of(downstream, alice.account_id) is None, timeout=RELAY_STOP_WAIT)


def test_the_relay_reconnects_after_the_upstream_drops_the_stream(
    upstream: Upstream, downstream: ProxyProcess, alice: PushPerson
) -> None:
    with eventsource(alice) as stream:
        assert wait_until(lambda: streaming(downstream, alice, connects=1), timeout=RELAY_START_WAIT)
        connects = relay_of(downstream, alice.account_id)["connects"]  # type: ignore[index]
        settle(stream)
        # The upstream goes away: the stream is cut, and reconnects are cut too for a while.
        upstream.relay.cut_when(b"/eventsource")
        upstream.relay.drop_all()
        assert wait_until(lambda: (r := relay_of(downstream, alice.account_id)) and r["state"] == "backoff",
                          timeout=RELAY_START_WAIT), relay_of(downstream, alice.account_id)  # fmt: skip
        # A change while the stream is down ...
        upstream.person.identity_create()
        upstream.relay.cut_when(None)
        # ... is published after the reconnect (the relay reads the states again).
        assert wait_until(lambda: streaming(downstream, alice, connects=connects + 1), timeout=RECONNECT_WAIT), \
            relay_of(downstream, alice.account_id)
        missed = next_with(stream, alice.account_id, "Identity", timeout=CHANGE_WAIT)
        assert missed is not None and missed["Identity"] == upstream_state(upstream, "Identity"), missed
        # And the new stream carries the next change.
        upstream.person.identity_create()
        types = next_with(stream, alice.account_id, "Identity", timeout=CHANGE_WAIT)
        assert types is not None and types["Identity"] == upstream_state(upstream, "Identity"), types
        assert relay_of(downstream, alice.account_id)["connects"] == connects + 1  # type: ignore[index]


def test_the_relayed_changes_reach_a_websocket_push_client(
    upstream: Upstream, downstream: ProxyProcess, alice: PushPerson
) -> None:
    with jmap_socket(alice) as socket:
        send(socket, {"@type": "WebSocketPushEnable", "dataTypes": ["Identity"]})
        assert wait_until(lambda: streaming(downstream, alice, connects=1), timeout=RELAY_START_WAIT)
        while receive(socket, timeout=SETTLE_QUIET) is not None:
            pass  # whatever the upstream still reported of earlier tests
        upstream.person.identity_create()
        pushed = receive(socket, timeout=CHANGE_WAIT)
    assert pushed is not None and pushed["@type"] == "StateChange", pushed
    assert pushed["changed"] == {alice.account_id: {"Identity": upstream_state(upstream, "Identity")}}
    assert isinstance(pushed.get("pushState"), str)
