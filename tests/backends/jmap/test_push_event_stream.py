"""The upstream event stream parser (backends.jmap.event_stream): HTML
"Server-sent events" §9.2.6 parsing, fed in arbitrary pieces, bounded, linear."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.jmap.event_stream import EventStreamParser, EventStreamTooLarge, ServerSentEvent
from tests.linear_run import sizes_run

STREAM = (
    b"\xef\xbb\xbf: jmap event stream\r\n\r\n"
    b'event: state\r\ndata: {"@type":"StateChange",\r\ndata: "changed":{}}\r\nid: p1.abc\r\n\r\n'
    b"event: ping\ndata: {\"interval\":20}\n\n"
    b"retry: 100\rdata:no space\r\r"
    b"data\n\n"
    b"event: empty\n\n"
)
EXPECTED = [
    ServerSentEvent(event="state", data='{"@type":"StateChange",\n"changed":{}}', id="p1.abc"),
    ServerSentEvent(event="ping", data='{"interval":20}', id="p1.abc"),
    ServerSentEvent(event="message", data="no space", id="p1.abc"),
    ServerSentEvent(event="message", data="", id="p1.abc"),
]


def _parse(chunks: list[bytes]) -> list[ServerSentEvent]:
    parser = EventStreamParser()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def test_a_whole_stream_gives_its_events_with_the_html_rules() -> None:
    assert _parse([STREAM]) == EXPECTED


def test_every_split_point_gives_the_same_events() -> None:
    for cut in range(len(STREAM) + 1):
        assert _parse([STREAM[:cut], STREAM[cut:]]) == EXPECTED, cut


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    assert _parse([STREAM[a:b] for a, b in itertools.pairwise(points)]) == EXPECTED


def test_byte_by_byte_gives_the_same_events() -> None:
    assert _parse([STREAM[i:i + 1] for i in range(len(STREAM))]) == EXPECTED


def test_a_line_longer_than_the_bound_is_refused_even_in_pieces() -> None:
    parser = EventStreamParser(max_line=100)
    parser.feed(b"data: " + b"x" * 90)
    with pytest.raises(EventStreamTooLarge):
        parser.feed(b"y" * 20)
    with pytest.raises(EventStreamTooLarge):
        EventStreamParser(max_line=100).feed(b"data: " + b"x" * 200 + b"\n")


def test_an_event_larger_than_the_bound_is_refused() -> None:
    parser = EventStreamParser(max_line=100, max_event=250)
    with pytest.raises(EventStreamTooLarge):
        parser.feed(b"data: " + b"x" * 90 + b"\n" * 1 + (b"data: " + b"x" * 90 + b"\n") * 3)


def test_invalid_utf8_is_replaced_not_raised() -> None:
    (event,) = EventStreamParser().feed(b"event: state\ndata: \xff\xfe\n\n")
    assert event.data == "\ufffd\ufffd"


def test_parsing_is_linear_in_many_small_events_and_in_one_long_line_fed_in_pieces() -> None:
    setup = """
from backends.jmap.event_stream import EventStreamParser
def make(n):
    return n
def run(n):
    parser = EventStreamParser(max_line=10**9, max_event=10**9)
    events = parser.feed(b"event: state\\ndata: {}\\n\\n" * n)
    for _ in range(n):
        parser.feed(b"data: " + b"x" * 50)
    events += parser.feed(b"\\n\\n")
    return events
"""
    assert sizes_run(setup, base=20000) == ["list:20001", "list:320001"]
