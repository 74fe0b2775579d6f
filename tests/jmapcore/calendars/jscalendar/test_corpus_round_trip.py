"""F1's corpus of real-world and broken iCalendar objects survives iCalendar → JSCalendar →
iCalendar without loss of meaning (issue 11 item 2)."""
from __future__ import annotations

from pathlib import Path

import pytest

from jmapcore.calendars.jscalendar import event_parse_blob, event_read, event_search_fields, event_write
from jmapcore.calendars.jscalendar.ical_syntax import ical_parse, ical_serialize
from jmapcore.calendars.jscalendar.properties import text_clean

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("**/*.ics"))


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _without_controls(value: object) -> object:
    if isinstance(value, str):      # line breaks are one \n in TEXT (RFC 5545 §3.3.11)
        return text_clean(value).replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(value, dict):
        return {key: _without_controls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_controls(item) for item in value]
    return value


def test_corpus_is_there() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_unchanged_event_is_written_back_as_it_was(path: Path) -> None:
    text = _text(path)
    reading = event_read(text)
    if reading.event is None:
        assert reading.component in ("VTODO", "VJOURNAL"), reading.problems
        return
    root = ical_parse(text).root
    assert root is not None
    canonical = ical_serialize(root)      # folding and line ends as ical_serialize writes them
    assert event_write(reading.event, previous_text=text) == canonical


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_fresh_write_reads_back_the_same_event(path: Path) -> None:
    reading = event_read(_text(path))
    if reading.event is None:
        return
    event = reading.event
    if "start" not in event:
        # A broken DTSTART (kept in iCalComponent) cannot be written without the old object.
        assert any("DTSTART" in problem for problem in reading.problems)
        return
    again = event_read(event_write(event, previous_text=None))
    # Control characters (a NUL, a lone CR) read from a broken object are not written (RFC 5545
    # §3.1 allows none in a value): the rest of the meaning must be the same.
    assert _without_controls(again.event) == _without_controls(event), again.problems


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_search_fields_and_blob_never_fail(path: Path) -> None:
    text = _text(path)
    reading = event_read(text)
    if reading.event is not None:
        fields = event_search_fields(reading.event)
        assert fields["uid"] == reading.uid
    events = event_parse_blob(text)
    assert (reading.event is None) == (not events) or reading.component != "VEVENT"


def test_broken_objects_are_reported() -> None:
    for path in sorted((CORPUS / "broken").glob("*.ics")):
        reading = event_read(_text(path))
        assert reading.problems, path.name
