"""jmap_sse_connections_active in the embedded default (the README's run
command alone): the web process's /metrics counts the EventSource streams
open on it, and forgets them when they close."""
from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.jmapcore.push.clients import PushPerson, eventsource
from tests.servers.proxy import ProxyProcess


def sse_active(proxy: ProxyProcess) -> float:
    response = httpx.get(proxy.mgmt_url + "/metrics", timeout=10)
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "jmap_sse_connections_active":
                return float(sample.value)
    raise AssertionError("jmap_sse_connections_active not exposed")


def test_sse_gauge_counts_open_streams(push_proxy: ProxyProcess, push_bob: PushPerson) -> None:
    baseline = sse_active(push_proxy)
    with eventsource(push_bob), eventsource(push_bob, types="Email"):
        assert sse_active(push_proxy) == baseline + 2
    deadline = time.monotonic() + 10
    while sse_active(push_proxy) != baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sse_active(push_proxy) == baseline
