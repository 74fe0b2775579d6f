"""JMAP over WebSocket (RFC 8887) against the real proxy (uvicorn + Channels)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.jmapcore.push.clients import CHANGE_WAIT, CORE, QUIET_WAIT, SUBMISSION, PushPerson, foreign_process_write
from tests.servers.proxy import ProxyProcess

WEBSOCKET = "urn:ietf:params:jmap:websocket"
PROBLEM_PREFIX = "urn:ietf:params:jmap:error:"
MAX_SIZE_REQUEST = 10 * 1024 * 1024


def ws_url(proxy: ProxyProcess, *, port: int | None = None, path: str = "/jmap/ws/") -> str:
    return f"ws://127.0.0.1:{port or proxy.jmap_port}{path}"


@contextmanager
def jmap_socket(
    person: PushPerson, *, auth: str | None = None, subprotocols: list[str] | None = None, url: str | None = None
) -> Iterator[ClientConnection]:
    headers = {"Authorization": auth or person.basic}
    with connect(
        url or ws_url(person.proxy),
        # An empty list offers none: no Sec-WebSocket-Protocol header (websockets would send it empty,
        # which the server refuses as malformed, 400, before the application sees the request).
        subprotocols=[Subprotocol(name) for name in (subprotocols if subprotocols is not None else ["jmap"])] or None,
        additional_headers=headers,
        open_timeout=10,
        close_timeout=5,
        proxy=None,
        max_size=None,
    ) as socket:
        yield socket


def send(socket: ClientConnection, message: dict[str, Any]) -> None:
    socket.send(json.dumps(message))


def receive(socket: ClientConnection, *, timeout: float = CHANGE_WAIT) -> dict[str, Any] | None:
    try:
        return dict(json.loads(socket.recv(timeout=timeout)))
    except TimeoutError:
        return None


def request(socket: ClientConnection, *calls: list[Any], request_id: str | None = "r1", **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"@type": "Request", "using": [CORE, SUBMISSION], "methodCalls": list(calls), **extra}
    if request_id is not None:
        message["id"] = request_id
    send(socket, message)
    answer = receive(socket, timeout=10)
    assert answer is not None, "no answer to a Request"
    return answer


def settled(socket: ClientConnection) -> None:
    """Messages of one socket are handled in order: once this echo is answered, earlier ones are done."""
    answer = request(socket, ["Core/echo", {}, "sync"], request_id="sync")
    assert answer["@type"] == "Response"


def request_error(answer: dict[str, Any], short_type: str, *, status: int = 400) -> None:
    assert answer["@type"] == "RequestError", answer
    assert answer["type"] == PROBLEM_PREFIX + short_type, answer
    assert answer["status"] == status
    assert isinstance(answer["detail"], str) and answer["detail"]


def test_session_advertises_the_websocket(push_alice: PushPerson) -> None:
    response = httpx.get(push_alice.proxy.jmap_url + "/session", headers={"Authorization": push_alice.basic})
    capability = response.json()["capabilities"][WEBSOCKET]
    assert capability == {"url": ws_url(push_alice.proxy), "supportsPush": True}


def test_request_and_response(push_alice: PushPerson) -> None:
    with jmap_socket(push_alice) as socket:
        assert socket.subprotocol == "jmap"
        answer = request(socket, ["Core/echo", {"hello": True}, "c0"])
        assert answer["@type"] == "Response"
        assert answer["requestId"] == "r1"
        assert answer["methodResponses"] == [["Core/echo", {"hello": True}, "c0"]]
        assert isinstance(answer["sessionState"], str)
        without_id = request(socket, ["Core/echo", {}, "c1"], request_id=None)
        assert without_id["@type"] == "Response" and "requestId" not in without_id


def test_same_engine_as_http(push_alice: PushPerson) -> None:
    """A write over the socket is a real write: the HTTP API sees the new state."""
    with jmap_socket(push_alice) as socket:
        ident = {"name": "Alice over WS", "email": push_alice.login}
        answer = request(socket, ["Identity/set", {"accountId": push_alice.account_id, "create": {"w": ident}}, "c"])
    (name, args, call_id), = answer["methodResponses"]
    assert name == "Identity/set" and "w" in args["created"] and call_id == "c"
    (_, got, _), = push_alice.call(["Identity/get", {"accountId": push_alice.account_id, "ids": None}, "g"])
    assert got["state"] == args["newState"]
    assert "Alice over WS" in {identity["name"] for identity in got["list"]}


def test_request_errors(push_alice: PushPerson) -> None:
    with jmap_socket(push_alice) as socket:
        socket.send("{not json")
        request_error(receive(socket) or {}, "notJSON")
        socket.send(b'{"@type": "Request"}')
        request_error(receive(socket) or {}, "notJSON")
        send(socket, {"@type": "Nonsense", "id": "n1"})
        answer = receive(socket) or {}
        request_error(answer, "notRequest")
        assert answer["requestId"] == "n1"
        send(socket, {"@type": "Request", "id": "n2", "using": [CORE]})
        request_error(receive(socket) or {}, "notRequest")
        unknown = request(socket, ["Core/echo", {}, "c"], using=["urn:example:nothing"], request_id="u1")
        request_error(unknown, "unknownCapability")
        assert unknown["requestId"] == "u1"
        # Method-level errors stay inside the Response, as over HTTP.
        answer = request(socket, ["Nothing/here", {}, "m"])
        assert answer["methodResponses"] == [["error", {"type": "unknownMethod", "description": "no such method"}, "m"]]
        # The socket is still usable after every error.
        settled(socket)


def test_limits(push_alice: PushPerson) -> None:
    with jmap_socket(push_alice) as socket:
        too_many = request(socket, *[["Core/echo", {}, f"c{i}"] for i in range(65)], request_id="l1")
        request_error(too_many, "limit")
        assert too_many["limit"] == "maxCallsInRequest" and too_many["requestId"] == "l1"
        padding = "x" * (MAX_SIZE_REQUEST + 10)
        calls = [["Core/echo", {"p": padding}, "c"]]
        send(socket, {"@type": "Request", "id": "big", "using": [CORE], "methodCalls": calls})
        too_big = receive(socket, timeout=30) or {}
        request_error(too_big, "limit")
        assert too_big["limit"] == "maxSizeRequest"
        settled(socket)


@pytest.mark.parametrize("subprotocols", [[], ["chat"]])
def test_subprotocol_jmap_required(push_alice: PushPerson, subprotocols: list[str]) -> None:
    with pytest.raises(InvalidStatus) as refused, jmap_socket(push_alice, subprotocols=subprotocols):
        pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("auth", ["Basic bWFsbG9yeTp3cm9uZw==", "Bearer jmap_not-a-token", "Digest x"])
def test_authentication_required(push_alice: PushPerson, auth: str) -> None:
    with pytest.raises(InvalidStatus) as refused, jmap_socket(push_alice, auth=auth):
        pass
    assert refused.value.response.status_code == 403


def test_bearer_token(push_proxy: ProxyProcess, push_bob: PushPerson) -> None:
    response = httpx.post(f"{push_proxy.mgmt_url}/api/accounts/{push_bob.account_id}/tokens", json={}, timeout=15)
    token = response.json()["token"]
    with jmap_socket(push_bob, auth=f"Bearer {token}") as socket:
        settled(socket)


def test_only_on_the_jmap_port_and_path(push_proxy: ProxyProcess, push_alice: PushPerson) -> None:
    for url in (ws_url(push_proxy, port=push_proxy.mgmt_port), ws_url(push_proxy, path="/eventsource/")):
        with pytest.raises(InvalidStatus), jmap_socket(push_alice, url=url):
            pass


def test_push_enable_and_disable(push_proxy: ProxyProcess, push_alice: PushPerson) -> None:
    with jmap_socket(push_alice) as socket:
        send(socket, {"@type": "WebSocketPushEnable", "dataTypes": None})
        settled(socket)
        new_state = push_alice.identity_create()
        change = receive(socket)
        assert change is not None and change["@type"] == "StateChange", change
        assert change["changed"] == {push_alice.account_id: {"Identity": new_state}}
        assert isinstance(change["pushState"], str)
        # A change committed by another process (embedded mode: the web process polls).
        foreign_process_write(push_proxy, push_alice.account_ids[1], "Mailbox")
        change = receive(socket)
        assert change is not None and set(change["changed"]) == {push_alice.account_ids[1]}
        send(socket, {"@type": "WebSocketPushDisable"})
        settled(socket)
        push_alice.identity_create()
        assert receive(socket, timeout=QUIET_WAIT) is None


def test_push_data_types(push_proxy: ProxyProcess, push_alice: PushPerson) -> None:
    with jmap_socket(push_alice) as socket:
        send(socket, {"@type": "WebSocketPushEnable", "dataTypes": ["Email"]})
        settled(socket)
        foreign_process_write(push_proxy, push_alice.account_id, "Mailbox")
        assert receive(socket, timeout=QUIET_WAIT) is None
        foreign_process_write(push_proxy, push_alice.account_id, "Mailbox,Email")
        change = receive(socket)
        assert change is not None and set(change["changed"][push_alice.account_id]) == {"Email"}
        send(socket, {"@type": "WebSocketPushEnable", "dataTypes": "Email"})
        request_error(receive(socket) or {}, "notRequest")


def test_push_state_replays_missed_changes(push_proxy: ProxyProcess, push_alice: PushPerson) -> None:
    """RFC 8887 §4.3.5.2: with the last pushState, what changed since is pushed at once."""
    with jmap_socket(push_alice) as socket:
        send(socket, {"@type": "WebSocketPushEnable", "dataTypes": None})
        settled(socket)
        push_alice.identity_create()
        first = receive(socket)
        assert first is not None
    foreign_process_write(push_proxy, push_alice.account_id, "Mailbox")
    with jmap_socket(push_alice) as socket:
        send(socket, {"@type": "WebSocketPushEnable", "dataTypes": None, "pushState": first["pushState"]})
        missed = receive(socket)
    assert missed is not None and missed["@type"] == "StateChange"
    assert "Mailbox" in missed["changed"][push_alice.account_id]


def test_foreign_accounts_never_appear(
    push_proxy: ProxyProcess, push_alice: PushPerson, push_mallory: PushPerson
) -> None:
    with jmap_socket(push_mallory) as socket:
        send(socket, {"@type": "WebSocketPushEnable", "dataTypes": None})
        settled(socket)
        push_alice.identity_create()
        foreign_process_write(push_proxy, push_alice.account_id, "Mailbox")
        assert receive(socket, timeout=QUIET_WAIT) is None
        answer = request(socket, ["Identity/get", {"accountId": push_alice.account_id}, "x"])
        (name, args, _), = answer["methodResponses"]
        assert name == "error" and args["type"] == "accountNotFound"
        # A forged pushState naming alice's account replays nothing of hers.
        send(socket, {"@type": "WebSocketPushEnable", "pushState": first_push_state_naming(push_alice.account_id)})
        assert receive(socket, timeout=QUIET_WAIT) is None


def first_push_state_naming(account_id: str) -> str:
    import base64

    raw = json.dumps({account_id: 0}).encode()
    return "p1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")
