"""API requests and method calls are counted with the README's metric names."""

from __future__ import annotations

from django.test import Client
from prometheus_client import REGISTRY

from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_calls_and_errors_are_counted(jmap_client: Client, alice: Persona) -> None:
    before = {
        "api": sample("jmap_http_requests_total", endpoint="api"),
        "echo": sample("jmap_method_calls_total", method="Core/echo"),
        "unknown": sample("jmap_method_calls_total", method="unknown"),
        "unknown_err": sample("jmap_method_errors_total", method="unknown", type="unknownMethod"),
        "echo_err": sample("jmap_method_errors_total", method="Core/echo", type="invalidResultReference"),
    }
    body = jmap_request(
        ["Core/echo", {}, "c1"],
        ["Core/echo", {}, "c2"],
        ["Made/up-name-123", {}, "c3"],
        ["Core/echo", {"#x": {"resultOf": "zz", "name": "Core/echo", "path": ""}}, "c4"],
    )
    method_responses(api_post(jmap_client, alice.basic, body))
    api_post(jmap_client, alice.basic, b"not json")
    assert sample("jmap_http_requests_total", endpoint="api") == before["api"] + 2
    assert sample("jmap_method_calls_total", method="Core/echo") == before["echo"] + 3
    assert sample("jmap_method_calls_total", method="unknown") == before["unknown"] + 1
    assert sample("jmap_method_errors_total", method="unknown", type="unknownMethod") == before["unknown_err"] + 1
    assert (
        sample("jmap_method_errors_total", method="Core/echo", type="invalidResultReference") == before["echo_err"] + 1
    )
    # A client-chosen method name never becomes a label value.
    assert REGISTRY.get_sample_value("jmap_method_calls_total", {"method": "Made/up-name-123"}) is None
