"""Small helpers for the iCalendar ↔ JSCalendar conversion tests: build iCalendar text from lines."""
from __future__ import annotations

from typing import Any

from jmapcore.calendars.jscalendar import event_read


def calendar(*lines: str) -> str:
    """A VCALENDAR with the given lines (components included), CRLF-terminated."""
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//alice//test//EN", *lines, "END:VCALENDAR", ""])


def vevent(*lines: str, uid: str = "alice-1@example.com") -> str:
    """A VCALENDAR holding one VEVENT with UID, DTSTAMP and the given lines."""
    return calendar("BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T090000Z", *lines, "END:VEVENT")


def read(*lines: str) -> dict[str, Any]:
    """The event of vevent(*lines); fails the test when it is None."""
    reading = event_read(vevent(*lines))
    assert reading.event is not None, reading.problems
    return reading.event


def content_lines(text: str) -> list[str]:
    """The unfolded content lines of an object, in order."""
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
    return [line for line in unfolded.split("\r\n") if line]


def component_lines(text: str, name: str = "VEVENT", index: int = 0) -> list[str]:
    """The unfolded lines inside the `index`-th component `name` (BEGIN/END excluded, nested ones included)."""
    lines = content_lines(text)
    found = -1
    out: list[str] = []
    inside = False
    for line in lines:
        if line == f"BEGIN:{name}" and not inside:
            found += 1
            inside = found == index
            continue
        if line == f"END:{name}" and inside:
            return out
        if inside:
            out.append(line)
    return out
