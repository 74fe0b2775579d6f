"""What event_write makes is read by the iCalendar libraries CalDAV servers and clients use
(icalendar: the caldav library; vobject: Radicale), with the same meaning (issue 11 items 2 and 5)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import vobject
from hypothesis import HealthCheck, given, settings

from jmapcore.calendars.jscalendar import event_write
from tests.jmapcore.calendars.jscalendar.jscalendar_strategies import events

WEEKLY_BERLIN = {
    "@type": "Event", "uid": "alice-weekly@example.com", "title": "Team sync", "start": "2026-03-02T10:00:00",
    "timeZone": "Europe/Berlin", "duration": "PT1H",
    "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "weekly", "byDay": [{"@type": "NDay", "day": "mo"}]}],
    "recurrenceOverrides": {"2026-03-09T10:00:00": {"start": "2026-03-09T14:00:00"},
                            "2026-03-16T10:00:00": {"excluded": True}},
    "alerts": {"a1": {"@type": "Alert", "trigger": {"@type": "OffsetTrigger", "offset": "-PT15M"}}},
}


def test_weekly_berlin_event_reads_in_icalendar() -> None:
    # icalendar's precise types are not what a test needs: its values are read as Any.
    calendar: Any = icalendar.Calendar.from_ical(event_write(WEEKLY_BERLIN, previous_text=None))
    master, moved = [c for c in calendar.walk("VEVENT")]
    assert master["RRULE"]["FREQ"] == ["WEEKLY"] and master["RRULE"]["BYDAY"] == ["MO"]
    assert str(master["DTSTART"].dt.tzinfo) == "Europe/Berlin"
    assert master["DTSTART"].dt.astimezone(UTC) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    excluded = [d.dt for d in master["EXDATE"].dts]
    assert [moment.astimezone(UTC) for moment in excluded] == [datetime(2026, 3, 16, 9, 0, tzinfo=UTC)]
    assert moved["RECURRENCE-ID"].dt.astimezone(UTC) == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert moved["DTSTART"].dt.astimezone(UTC) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    alarm = master.walk("VALARM")[0]
    assert alarm["TRIGGER"].dt == -timedelta(minutes=15) and str(alarm["ACTION"]) == "DISPLAY"


def test_weekly_berlin_event_reads_in_vobject() -> None:
    calendar: Any = vobject.readOne(event_write(WEEKLY_BERLIN, previous_text=None))
    master = calendar.vevent_list[0]
    starts = master.getrruleset(addRDate=True)
    first = [moment.astimezone(UTC) for moment in list(starts)[:4]]
    # 2 March, (9 March is moved: still in the rule set), 16 March excluded, 23 March.
    assert first[0] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert datetime(2026, 3, 16, 9, 0, tzinfo=UTC) not in first
    assert datetime(2026, 3, 23, 9, 0, tzinfo=UTC) in first


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_every_generated_event_parses_in_both_libraries(event: dict[str, Any]) -> None:
    text = event_write(event, previous_text=None)
    calendar: Any = icalendar.Calendar.from_ical(text)
    vevent = calendar.walk("VEVENT")[0]
    assert str(vevent["UID"]) == event["uid"]
    if "title" in event:
        assert str(vevent["SUMMARY"]) == event["title"].replace("\r\n", "\n")
    start = vevent["DTSTART"].dt
    if event.get("showWithoutTime") and not event.get("timeZone"):
        assert type(start) is date      # an all-day event in a zone is a zoned midnight (JSPROP says all-day)
    else:
        assert start.replace(tzinfo=None).isoformat() == event["start"]
    parsed: Any = vobject.readOne(text)
    assert parsed.vevent.uid.value == event["uid"]
