"""The query parameters of the EventSource URL (RFC 8620 §7.3)."""
from __future__ import annotations

import pytest

from jmapcore.push.eventsource import (
    PING_MAX,
    PING_MIN,
    EventSourceParameterError,
    EventSourceParameters,
    eventsource_parameters_parse,
    sse_event,
)


def test_defaults() -> None:
    assert eventsource_parameters_parse(query={}) == EventSourceParameters(types=None, close_after_state=False, ping=0)


def test_values() -> None:
    parsed = eventsource_parameters_parse(query={"types": "Email,Mailbox", "closeafter": "state", "ping": "300"})
    assert parsed == EventSourceParameters(types=frozenset({"Email", "Mailbox"}), close_after_state=True, ping=300)


@pytest.mark.parametrize(("asked", "used"), [("1", PING_MIN), ("0", 0), ("99999", PING_MAX), ("30", 30)])
def test_ping_is_clamped(asked: str, used: int) -> None:
    assert eventsource_parameters_parse(query={"ping": asked}).ping == used
    # RFC 8620 §7.3: a minimum of at most 30 and a maximum of at least 300.
    assert PING_MIN <= 30 and PING_MAX >= 300


@pytest.mark.parametrize(
    "query",
    [{"types": ""}, {"types": "Email,"}, {"types": "E mail"}, {"closeafter": "yes"}, {"ping": "-5"},
     {"ping": "1.5"}, {"ping": ""}],
)  # fmt: skip
def test_bad_values(query: dict[str, str]) -> None:
    with pytest.raises(EventSourceParameterError):
        eventsource_parameters_parse(query=query)


def test_event_framing() -> None:
    assert sse_event(event="ping", data={"interval": 5}) == b'event: ping\ndata: {"interval":5}\n\n'
    assert sse_event(event="state", data={}, event_id="p1.x") == b"event: state\ndata: {}\nid: p1.x\n\n"
