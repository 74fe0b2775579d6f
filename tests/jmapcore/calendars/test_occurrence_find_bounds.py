"""occurrence_find (jmapcore.calendars.calendar_event_read) answers "no such
occurrence" for any recurrence id a client sends, even at the ends of the
calendar (years 1 and 9999), where a search window around it would overflow."""
from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

from jmapcore.calendars.calendar_event_read import occurrence_find


def _daily(**rule: Any) -> dict[str, Any]:
    return {"@type": "Event", "uid": "u", "start": "1900-01-01T10:00:00", "timeZone": "Europe/Paris",
            "duration": "PT1H", "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "daily", **rule}]}


@pytest.mark.parametrize(
    "recurrence_id",
    ["9999-12-31T10:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00", "0001-01-02T10:00:00"],
)
@pytest.mark.parametrize("frequency", ["daily", "minutely", "secondly", "yearly"])
def test_ids_at_the_ends_of_the_calendar_find_nothing(recurrence_id: str, frequency: str) -> None:
    assert occurrence_find(_daily(frequency=frequency), recurrence_id, floating_zone=UTC) is None


def test_an_id_of_the_series_is_still_found() -> None:
    found = occurrence_find(_daily(), "2026-12-09T10:00:00", floating_zone=UTC)
    assert found is not None and found.recurrence_id == "2026-12-09T10:00:00"
