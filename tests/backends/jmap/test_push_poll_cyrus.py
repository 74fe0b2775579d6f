"""Push for a passthrough account whose upstream offers none (issue 12 item 4):
Cyrus 3.6 answers its eventSourceUrl with 204, so while a client listens the
proxy polls Cyrus's states, and a change made on Cyrus by another client (an
IMAP APPEND) reaches the proxy's EventSource listener within 5 s, and a
verified PushSubscription (RFC 8620 §7.2) of the login, in the embedded
setup and in scale-out (REDIS_URL: the relayed change crosses processes through
the channel layer). Nothing polls while nobody listens."""
from __future__ import annotations

import imaplib
import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.backends.imap_idle.conftest import wait_until
from tests.backends.jmap.push_helpers import (
    CHANGE_WAIT,
    RELAY_START_WAIT,
    RELAY_STOP_WAIT,
    passthrough_person,
    relay_of,
    relay_status,
)
from tests.jmapcore.push.clients import QUIET_WAIT, eventsource
from tests.servers.cyrus import CyrusServer
from tests.servers.proxy import ProxyProcess, proxy_running

MESSAGE = b"From: carol@example.test\r\nTo: alice@example.test\r\nSubject: poll me\r\n\r\nhello\r\n"


@pytest.fixture(scope="module")
def cyrus_proxy(push_downstream: ProxyProcess) -> ProxyProcess:
    """The embedded setup: the package's push downstream (conftest.py), whose settings let the push
    receiver of the PushSubscription test be a plain-HTTP service on loopback."""
    return push_downstream


@pytest.fixture(scope="module")
def cyrus_redis_proxy(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ProxyProcess]:
    env = {"JMAP_LOG_LEVEL": "INFO", "REDIS_URL": redis_url}
    with proxy_running(tmp_path_factory.mktemp("push-poll-cyrus-redis"), extra_env=env) as proxy:
        yield proxy


@pytest.fixture
def push_service() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A push service on 127.0.0.1 (RFC 8030 as far as the proxy can tell): the URL, and the JSON it got."""
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.put(json.loads(body))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/push/alice", received
    finally:
        server.shutdown()
        server.server_close()


def cyrus_append(cyrus: CyrusServer, login: str, password: str) -> None:
    """Another IMAP client delivers a message straight into the Cyrus INBOX."""
    connection = imaplib.IMAP4(cyrus.host, cyrus.imap_port, timeout=30)
    try:
        connection.login(login, password)
        status, detail = connection.append("INBOX", None, None, MESSAGE)
        assert status == "OK", detail
    finally:
        connection.logout()


def cyrus_states(cyrus: CyrusServer, login: str, password: str) -> dict[str, str]:
    """Cyrus's own Email and Mailbox states, asked directly."""
    with httpx.Client(auth=(login, password), follow_redirects=True, timeout=30) as client:
        session = client.get(cyrus.session_url).json()
        answer = client.post(cyrus.base_url + session["apiUrl"], json={
            "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            "methodCalls": [["Email/get", {"accountId": login, "ids": []}, "e"],
                            ["Mailbox/get", {"accountId": login, "ids": []}, "m"]],
        }).json()  # fmt: skip
    return {name.split("/")[0]: args["state"] for name, args, _ in answer["methodResponses"]}


def test_an_imap_append_on_cyrus_reaches_the_proxys_eventsource_within_5_s(
    cyrus: CyrusServer, cyrus_proxy: ProxyProcess
) -> None:
    upstream = cyrus.user("alice-q4-push-poll", "alice-pw")
    alice = passthrough_person(cyrus_proxy, "alice", session_url=upstream.session_url, username=upstream.login,
                               password=upstream.password)  # fmt: skip
    with eventsource(alice) as stream:
        relay = wait_until(lambda: (r := relay_of(cyrus_proxy, alice.account_id)) and r["polls"] >= 1 and r,
                           timeout=RELAY_START_WAIT)  # fmt: skip
        assert relay, relay_status(cyrus_proxy)
        assert relay["mode"] == "poll" and relay["connects"] == 0, relay  # Cyrus 3.6: 204, no stream
        appended = time.monotonic()
        cyrus_append(cyrus, upstream.login, upstream.password)
        change = stream.next_state(timeout=CHANGE_WAIT)
        heard = time.monotonic()
    assert change is not None, (relay_of(cyrus_proxy, alice.account_id), cyrus_proxy.log_text()[-3000:])
    print(f"Cyrus APPEND -> proxy EventSource: {heard - appended:.2f} s")
    assert change["@type"] == "StateChange"
    assert set(change["changed"]) == {alice.account_id}
    types = change["changed"][alice.account_id]
    assert {"Email", "Mailbox", "Thread"} <= set(types), types
    # The upstream's own state strings, not states of the proxy's cache.
    upstream_now = cyrus_states(cyrus, upstream.login, upstream.password)
    assert types["Email"] == upstream_now["Email"] and types["Mailbox"] == upstream_now["Mailbox"]


def test_nothing_polls_cyrus_while_nobody_listens(cyrus: CyrusServer, cyrus_proxy: ProxyProcess) -> None:
    upstream = cyrus.user("bob-q4-push-poll", "bob-pw")
    bob = passthrough_person(cyrus_proxy, "bob", session_url=upstream.session_url, username=upstream.login,
                             password=upstream.password)  # fmt: skip
    # Nobody listens: within a bounded look, no relay starts for bob.
    assert wait_until(lambda: relay_of(cyrus_proxy, bob.account_id), timeout=QUIET_WAIT * 2) is None
    with eventsource(bob):
        polling = wait_until(lambda: (r := relay_of(cyrus_proxy, bob.account_id)) and r["polls"] >= 2 and r,
                             timeout=RELAY_START_WAIT)  # fmt: skip
        assert polling, relay_status(cyrus_proxy)
    # The listener left: the relay stops, and the process polls no more.
    assert wait_until(lambda: relay_of(cyrus_proxy, bob.account_id) is None, timeout=RELAY_STOP_WAIT)
    polls_after = relay_status(cyrus_proxy)["polls"]
    assert wait_until(lambda: relay_status(cyrus_proxy)["polls"] != polls_after, timeout=QUIET_WAIT * 3) is None


def test_an_imap_append_on_cyrus_reaches_a_push_subscription(
    cyrus: CyrusServer, cyrus_proxy: ProxyProcess, push_service: tuple[str, queue.Queue[dict[str, Any]]]
) -> None:
    url, received = push_service
    upstream = cyrus.user("carol-q4-push-poll", "carol-pw")
    carol = passthrough_person(cyrus_proxy, "carol", session_url=upstream.session_url, username=upstream.login,
                               password=upstream.password)  # fmt: skip
    (_, created, _), = carol.call(["PushSubscription/set", {"create": {"p": {"deviceClientId": "phone", "url": url,
                                                                            "types": ["Email"]}}}, "c"])  # fmt: skip
    subscription_id = created["created"]["p"]["id"]
    verification = received.get(timeout=30)
    assert verification["@type"] == "PushVerification", verification
    (_, updated, _), = carol.call(["PushSubscription/set", {"update": {subscription_id: {
        "verificationCode": verification["verificationCode"]}}}, "u"])  # fmt: skip
    assert subscription_id in updated["updated"], updated
    # Verified: the login is listened to, so the relay polls Cyrus.
    relay = wait_until(lambda: (r := relay_of(cyrus_proxy, carol.account_id)) and r["polls"] >= 1 and r,
                       timeout=RELAY_START_WAIT)  # fmt: skip
    assert relay, relay_status(cyrus_proxy)
    cyrus_append(cyrus, upstream.login, upstream.password)
    pushed = received.get(timeout=30)
    assert pushed["@type"] == "StateChange"
    # Only the subscription's types, under the proxy's accountId, with Cyrus's state.
    assert pushed["changed"] == {carol.account_id: {"Email": cyrus_states(cyrus, upstream.login,
                                                                          upstream.password)["Email"]}}
    carol.call(["PushSubscription/set", {"destroy": [subscription_id]}, "d"])
    assert wait_until(lambda: relay_of(cyrus_proxy, carol.account_id) is None, timeout=RELAY_STOP_WAIT)


def test_scale_out_a_cyrus_change_crosses_processes_through_the_channel_layer(
    cyrus: CyrusServer, cyrus_redis_proxy: ProxyProcess
) -> None:
    upstream = cyrus.user("dave-q4-push-poll", "dave-pw")
    dave = passthrough_person(cyrus_redis_proxy, "dave", session_url=upstream.session_url, username=upstream.login,
                              password=upstream.password)  # fmt: skip
    with eventsource(dave, types="Email") as stream:
        relay = wait_until(lambda: (r := relay_of(cyrus_redis_proxy, dave.account_id)) and r["polls"] >= 1 and r,
                           timeout=RELAY_START_WAIT)  # fmt: skip
        assert relay, relay_status(cyrus_redis_proxy)
        cyrus_append(cyrus, upstream.login, upstream.password)
        change = stream.next_state(timeout=CHANGE_WAIT)
    assert change is not None, cyrus_redis_proxy.log_text()[-3000:]
    assert change["changed"] == {dave.account_id: {"Email": cyrus_states(cyrus, upstream.login,
                                                                         upstream.password)["Email"]}}
