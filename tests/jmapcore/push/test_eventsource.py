"""EventSource (RFC 8620 §7.3) against the real proxy in embedded mode."""
from __future__ import annotations

import time

import httpx

from tests.jmapcore.push.clients import (
    CHANGE_WAIT,
    QUIET_WAIT,
    PushPerson,
    eventsource,
    foreign_process_write,
)
from tests.servers.proxy import ProxyProcess


def test_stream_headers(push_alice: PushPerson) -> None:
    with eventsource(push_alice) as stream:
        assert stream.status == 200
        assert stream.response_headers["content-type"].startswith("text/event-stream")
        assert stream.response_headers["cache-control"] == "no-cache"
        assert stream.response_headers["x-accel-buffering"] == "no"


def test_api_write_is_pushed(push_alice: PushPerson) -> None:
    with eventsource(push_alice) as stream:
        new_state = push_alice.identity_create()
        change = stream.next_state()
    assert change is not None, "no StateChange within 2 s of Identity/set"
    assert change["@type"] == "StateChange"
    assert change["changed"][push_alice.account_id]["Identity"] == new_state


def test_every_account_of_the_pool(push_alice: PushPerson) -> None:
    second = push_alice.account_ids[1]
    with eventsource(push_alice) as stream:
        new_state = push_alice.identity_create(second)
        change = stream.next_state()
    assert change is not None
    assert change["changed"] == {second: {"Identity": new_state}}


def test_write_by_another_process_is_pushed(push_proxy: ProxyProcess, push_alice: PushPerson) -> None:
    """Embedded mode: a commit in another process (as by the Celery worker) reaches
    the web process's EventSource within 2 s of the commit."""
    with eventsource(push_alice) as stream:
        committed = foreign_process_write(push_proxy, push_alice.account_id, "Mailbox")
        event = stream.next(timeout=CHANGE_WAIT)
    assert event is not None and event.event == "state", "no StateChange for a write committed by another process"
    assert set(event.json()["changed"][push_alice.account_id]) == {"Mailbox"}
    assert event.received - committed < CHANGE_WAIT


def test_quick_changes_coalesce(push_proxy: ProxyProcess, push_alice: PushPerson) -> None:
    with eventsource(push_alice) as stream:
        foreign_process_write(push_proxy, push_alice.account_id, "Mailbox,Email", times=5)
        first = stream.next_state()
        rest = stream.next_state(timeout=QUIET_WAIT)
    assert first is not None
    # Five commits in a row arrive as at most two events (a poll may fall between them).
    types = dict(first["changed"][push_alice.account_id])
    if rest is not None:
        types.update(rest["changed"][push_alice.account_id])
        assert stream.next_state(timeout=0.2) is None
    assert set(types) == {"Mailbox", "Email"}


def test_types_filter(push_proxy: ProxyProcess, push_alice: PushPerson) -> None:
    """A client that asked for Email hears nothing of a Mailbox-only change."""
    with eventsource(push_alice, types="Email") as email_only, eventsource(push_alice, types="Mailbox") as mailbox:
        foreign_process_write(push_proxy, push_alice.account_id, "Mailbox")
        assert mailbox.next_state() is not None
        assert email_only.next_state(timeout=QUIET_WAIT) is None
        foreign_process_write(push_proxy, push_alice.account_id, "Mailbox,Email")
        change = email_only.next_state()
    assert change is not None
    assert set(change["changed"][push_alice.account_id]) == {"Email"}


def test_closeafter_state(push_alice: PushPerson) -> None:
    with eventsource(push_alice, closeafter="state") as stream:
        push_alice.identity_create()
        assert stream.next_state() is not None
        assert stream.ended.wait(CHANGE_WAIT), "the response did not end after the state event"


def test_closeafter_no_keeps_the_stream(push_alice: PushPerson) -> None:
    with eventsource(push_alice, closeafter="no") as stream:
        push_alice.identity_create()
        assert stream.next_state() is not None
        push_alice.identity_create()
        assert stream.next_state() is not None
        assert not stream.ended.is_set()


def test_ping(push_alice: PushPerson) -> None:
    """ping=1 is clamped to the server's minimum of 5 s, and the data says so."""
    with eventsource(push_alice, ping="1") as stream:
        started = time.monotonic()
        ping = stream.next(timeout=8)
        elapsed = time.monotonic() - started
    assert ping is not None and ping.event == "ping"
    assert ping.json() == {"interval": 5}
    assert ping.id is None
    assert 4 <= elapsed <= 8


def test_no_ping_when_zero(push_alice: PushPerson) -> None:
    with eventsource(push_alice, ping="0") as stream:
        assert stream.next(timeout=QUIET_WAIT) is None


def test_last_event_id_replays_missed_changes(push_proxy: ProxyProcess, push_alice: PushPerson) -> None:
    """RFC 8620 §7.3: the event id encodes the state; reconnecting with it hears what was missed."""
    with eventsource(push_alice) as stream:
        push_alice.identity_create()
        event = stream.next(timeout=CHANGE_WAIT)
    assert event is not None and event.event == "state" and event.id
    foreign_process_write(push_proxy, push_alice.account_id, "Mailbox")
    with eventsource(push_alice, headers={"Last-Event-ID": event.id}) as again:
        missed = again.next_state(timeout=CHANGE_WAIT)
    assert missed is not None
    assert "Mailbox" in missed["changed"][push_alice.account_id]


def test_foreign_accounts_never_appear(
    push_proxy: ProxyProcess, push_alice: PushPerson, push_mallory: PushPerson
) -> None:
    with eventsource(push_mallory) as stream:
        push_alice.identity_create()
        foreign_process_write(push_proxy, push_alice.account_id, "Mailbox")
        assert stream.next_state(timeout=QUIET_WAIT) is None


def test_authentication_required(push_alice: PushPerson) -> None:
    with eventsource(push_alice, auth=False) as stream:
        assert stream.status == 401
    with eventsource(push_alice, headers={"Authorization": "Basic " + "bWFsbG9yeTpubw=="}) as stream:
        assert stream.status == 401


def test_bearer_token(push_proxy: ProxyProcess, push_bob: PushPerson) -> None:
    response = httpx.post(f"{push_proxy.mgmt_url}/api/accounts/{push_bob.account_id}/tokens", json={}, timeout=15)
    assert response.status_code in (200, 201), response.text
    token = response.json()["token"]
    with eventsource(push_bob, headers={"Authorization": f"Bearer {token}"}) as stream:
        assert stream.status == 200
        new_state = push_bob.identity_create()
        change = stream.next_state()
    assert change is not None and change["changed"][push_bob.account_id]["Identity"] == new_state


def test_bad_parameters(push_alice: PushPerson) -> None:
    base = push_alice.proxy.jmap_url + "/eventsource/"
    for query in ("types=&closeafter=no&ping=0", "types=*&closeafter=maybe&ping=0", "types=*&closeafter=no&ping=-1",
                  "types=*&closeafter=no&ping=soon", "types=Email,,Mailbox&closeafter=no&ping=0"):  # fmt: skip
        response = httpx.get(f"{base}?{query}", headers={"Authorization": push_alice.basic}, timeout=10)
        assert response.status_code == 400, query
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 400


def test_connections_gauge(push_proxy: ProxyProcess, push_bob: PushPerson) -> None:
    def active() -> float:
        text = httpx.get(push_proxy.mgmt_url + "/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith("jmap_sse_connections_active "):
                return float(line.split()[1])
        raise AssertionError("jmap_sse_connections_active missing from /metrics")

    def settles(expected: float) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if active() == expected:
                return True
            time.sleep(0.1)
        return False

    before = active()
    with eventsource(push_bob), eventsource(push_bob):
        assert settles(before + 2)
    # Closed by the client: the server notices the disconnect and counts down.
    assert settles(before)
