"""Prometheus metrics with the product README's names.

Counters and gauges that code updates live here; values computed at scrape time
(uptime, sync age, queue depth) are collected by jmapsite.monitoring.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge

HTTP_REQUESTS = Counter("jmap_http_requests", "Requests received on the JMAP port", ["endpoint"])
METHOD_CALLS = Counter("jmap_method_calls", "JMAP method calls executed", ["method"])
METHOD_ERRORS = Counter("jmap_method_errors", "JMAP method calls that returned an error", ["method", "type"])
SSE_CONNECTIONS = Gauge("jmap_sse_connections_active", "Open EventSource connections")
