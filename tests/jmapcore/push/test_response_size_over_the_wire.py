"""The response bound (JMAP_MAX_RESPONSE_SIZE, default 32 MiB) in the real web
process (jmapsite.web_server, started by `manage.py runproxy`), over HTTP and over the
WebSocket (RFC 8887): maxCallsInRequest Core/echo calls that each reference
the previous result twice end in requestTooLarge after about 21 calls, the
process's peak memory stays bounded, and it answers the next request."""
from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import httpx

from jmapcore.engine import DEFAULT_MAX_RESPONSE_SIZE
from jmapcore.limits import LIMITS
from tests.jmapcore.push.clients import CORE, PushPerson
from tests.jmapcore.push.test_websocket import jmap_socket, send
from tests.servers.proxy import ProxyProcess

# Peak resident memory the web process may reach: its own size plus a few
# times the bound (the measured peak is about 250 MB). Without the bound the
# doubling reaches gigabytes by the 30th call.
PEAK_RSS_BOUND = 1024 * 1024 * 1024
ERROR_SLACK = 400


def _doubling_echoes() -> list[list[Any]]:
    calls: list[list[Any]] = [["Core/echo", {"seed": 1}, "e0"]]
    for i in range(1, LIMITS.maxCallsInRequest):
        reference = {"resultOf": f"e{i - 1}", "name": "Core/echo", "path": ""}
        calls.append(["Core/echo", {"#a": reference, "#b": reference}, f"e{i}"])
    return calls


def _web_process_peak_rss(proxy: ProxyProcess) -> int:
    """VmHWM of the web child of runproxy, in octets."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == proxy.process.pid and b"jmapsite.web_server" in cmdline:
            status = (stat.parent / "status").read_text()
            return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM:"))
    raise AssertionError("no web process under runproxy")


def _decoded(raw: bytes | str) -> dict[str, Any]:
    # Millions of small objects: decoding without the collector is five times faster.
    gc.disable()
    try:
        return dict(json.loads(raw))
    finally:
        gc.enable()


def _check_bounded(responses: list[list[Any]], size: int) -> None:
    assert len(responses) == LIMITS.maxCallsInRequest
    assert size <= DEFAULT_MAX_RESPONSE_SIZE + LIMITS.maxCallsInRequest * ERROR_SLACK
    first_error = next(i for i, response in enumerate(responses) if response[0] == "error")
    assert 18 <= first_error <= 23
    assert all(r[1]["type"] == "requestTooLarge" for r in responses[first_error:])
    assert all(r[0] == "Core/echo" for r in responses[:first_error])


def test_doubling_echoes_over_http(push_alice: PushPerson) -> None:
    body = {"using": [CORE], "methodCalls": _doubling_echoes()}
    response = httpx.post(
        push_alice.proxy.jmap_url + "/jmap/", json=body, headers={"Authorization": push_alice.basic}, timeout=300
    )
    assert response.status_code == 200, response.text[:500]
    _check_bounded(_decoded(response.content)["methodResponses"], len(response.content))
    del response
    peak = _web_process_peak_rss(push_alice.proxy)
    assert peak < PEAK_RSS_BOUND, f"web process peak RSS {peak / 2**20:.0f} MiB"
    assert push_alice.call(["Core/echo", {"ok": True}, "after"]) == [["Core/echo", {"ok": True}, "after"]]


def test_doubling_echoes_over_the_websocket(push_alice: PushPerson) -> None:
    with jmap_socket(push_alice) as socket:
        send(socket, {"@type": "Request", "id": "big", "using": [CORE], "methodCalls": _doubling_echoes()})
        raw = socket.recv(timeout=300)
        answer = _decoded(raw)
        assert answer["@type"] == "Response" and answer["requestId"] == "big", str(answer)[:500]
        _check_bounded(answer["methodResponses"], len(raw.encode() if isinstance(raw, str) else raw))
        del raw, answer
        send(socket, {"@type": "Request", "id": "after", "using": [CORE], "methodCalls": [["Core/echo", {}, "c"]]})
        after = _decoded(socket.recv(timeout=60))
        assert after["methodResponses"] == [["Core/echo", {}, "c"]]
    assert _web_process_peak_rss(push_alice.proxy) < PEAK_RSS_BOUND


def test_a_large_created_ids_echo_still_fits_one_websocket_message(push_alice: PushPerson) -> None:
    """The Response echoes createdIds (RFC 8887 §4.3.3): the bound leaves room
    for it, so a response near the limit still arrives as one message."""
    from jmapcore.limits import WEBSOCKET_MAX_MESSAGE

    created_ids = {f"c{i}": "x" * 1000 for i in range(5000)}  # about 5 MB, echoed back whole
    with jmap_socket(push_alice) as socket:
        send(socket, {"@type": "Request", "id": "ids", "using": [CORE], "methodCalls": _doubling_echoes(),
                      "createdIds": created_ids})
        raw = socket.recv(timeout=300)
        size = len(raw.encode() if isinstance(raw, str) else raw)
        answer = _decoded(raw)
        del raw
    assert answer["@type"] == "Response" and answer["requestId"] == "ids", str(answer)[:500]
    assert answer["createdIds"] == created_ids
    assert size <= WEBSOCKET_MAX_MESSAGE
    errors = [response for response in answer["methodResponses"] if response[0] == "error"]
    assert errors and all(error[1]["type"] == "requestTooLarge" for error in errors)
