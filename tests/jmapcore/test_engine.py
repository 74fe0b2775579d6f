"""request_process works without HTTP, for the WebSocket transport (RFC 8887) to reuse."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jmapcore.engine import request_process, response_encode
from jmapcore.limits import CORE_CAPABILITY, LIMITS
from jmapcore.protocol.envelope import request_parse
from jmapcore.protocol.errors import RequestError
from jmapcore.session_object import session_state
from tests.personas import Persona

ECHO = {"using": [CORE_CAPABILITY], "methodCalls": [["Core/echo", {"x": [1, "two"]}, "c1"]]}


@pytest.mark.parametrize("form", ["dict", "bytes", "str", "parsed"])
def test_every_body_form_gives_the_same_response(alice: Persona, form: str) -> None:
    bodies: dict[str, Any] = {
        "dict": ECHO,
        "bytes": json.dumps(ECHO).encode(),
        "str": json.dumps(ECHO),
        "parsed": request_parse(ECHO),
    }
    response = request_process(pool=alice.pool, body=bodies[form])
    assert response["methodResponses"] == [["Core/echo", {"x": [1, "two"]}, "c1"]]
    assert response["sessionState"] == session_state(pool=alice.pool, accounts={alice.account_id: alice.account})


def test_websocket_style_request_members_are_tolerated(alice: Persona) -> None:
    response = request_process(pool=alice.pool, body={**ECHO, "@type": "Request", "id": "req-1"})
    assert response["methodResponses"][0][0] == "Core/echo"


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        (b"{", "notJSON"),
        ({"using": [CORE_CAPABILITY]}, "notRequest"),
        ({"using": ["urn:nope"], "methodCalls": []}, "unknownCapability"),
        ({"using": [], "methodCalls": [["Core/echo", {}, "c"]] * (LIMITS.maxCallsInRequest + 1)}, "limit"),
    ],
)
def test_request_errors_are_raised_for_the_transport(alice: Persona, body: Any, error_type: str) -> None:
    with pytest.raises(RequestError) as caught:
        request_process(pool=alice.pool, body=body)
    assert caught.value.type == error_type


def test_response_encoding_is_utf8_json(alice: Persona) -> None:
    response = request_process(
        pool=alice.pool, body={"using": [CORE_CAPABILITY], "methodCalls": [["Core/echo", {"t": "é€😀"}, "c"]]}
    )
    encoded = response_encode(response)
    assert "é€😀".encode() in encoded
    assert json.loads(encoded) == response


def test_response_encoding_survives_lone_surrogates() -> None:
    encoded = response_encode({"methodResponses": [["Core/echo", {"t": "\ud800"}, "c"]], "sessionState": "s"})
    assert b"\\ud800" in encoded
