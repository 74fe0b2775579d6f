"""The error event_write raises for a JSCalendar Event it cannot write."""
from __future__ import annotations


class EventInvalid(ValueError):
    """A JSCalendar Event (RFC 8984 §5.1) that breaks the format's rules.

    `properties` names every offending property as a path relative to the event
    ("alerts/a1/trigger"), so that CalendarEvent/set can answer SetError
    invalidProperties (RFC 8620 §5.3) naming all of them at once.
    """

    def __init__(self, properties: list[str], description: str) -> None:
        super().__init__(description)
        self.properties = properties
        self.description = description
