"""CalendarEvent/query filters and sorts (draft-ietf-jmap-calendars-33 §5.10.1, §5.10.2)
over the cache's columns, and the expansion of recurrences (§5.10, expandRecurrences).

Text conditions are case-insensitive substring tests on the ``search_*``
columns, which hold case-folded text (jscalendar.event_search_fields); the
client's text goes into SQL as a LIKE operand that Django escapes, so no user
text ever becomes a pattern. ``after``/``before`` test the cached span of the
event (utc_start of the first occurrence, utc_end of the last, NULL = no
end): "after" matches an event that ends after the date, "before" one that
starts before it (§5.10.1). For a recurring event whose occurrences all miss
a window inside its span, only the expanded query (which looks at each
occurrence) leaves it out.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, OrderBy, Q

from jmapcore.calendars.capability import MAX_EXPANDED_QUERY_DURATION
from jmapcore.datatypes.sql import sort_text
from jmapcore.datatypes.values import InvalidValue, jmap_id, string, utc_date
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.query import Comparator, Filter, FilterCondition

MAX_FILTER_TEXT = 1024
MAX_UID = 1024
# At most this many occurrences in one expanded query (across all events).
MAX_EXPANDED_RESULTS = 20_000


def _casefolded_text(column: str) -> Callable[[Any], Q]:
    check = string(max_length=MAX_FILTER_TEXT)

    def build(value: Any) -> Q:
        return Q(**{f"{column}__icontains": check(value).casefold()})

    return build


def _in_calendars(value: Any) -> Q:
    """§5.10.1 inCalendars: the event is in one of these calendars."""
    if not isinstance(value, list) or not value or len(value) > 1000:
        raise InvalidValue("must be a non-empty list of calendar ids")
    check = jmap_id()
    return Q(calendar__jmap_id__in=[check(item) for item in value], calendar__destroyed=False)


def _uid(value: Any) -> Q:
    """§5.10.1 uid: the event's uid is exactly this."""
    return Q(uid=string(max_length=MAX_UID)(value))


def _after(value: Any) -> Q:
    """§5.10.1 after: the end of the event (or of its last occurrence) is after the date."""
    moment = utc_date()(value)
    return Q(utc_end__gt=moment) | Q(utc_end__isnull=True, utc_start__isnull=False)


def _before(value: Any) -> Q:
    """§5.10.1 before: the start of the event (or of its first occurrence) is before the date."""
    return Q(utc_start__lt=utc_date()(value))


CALENDAR_EVENT_FILTERS: dict[str, Callable[[Any], Q]] = {
    "inCalendars": _in_calendars,
    "after": _after,
    "before": _before,
    "text": _casefolded_text("search_text"),
    "title": _casefolded_text("search_title"),
    "description": _casefolded_text("search_description"),
    "location": _casefolded_text("search_location"),
    "owner": _casefolded_text("search_owner"),
    "attendee": _casefolded_text("search_attendee"),
    "uid": _uid,
}


def _sort_column(column: str) -> Callable[[Comparator], list[OrderBy]]:
    def build(comparator: Comparator) -> list[OrderBy]:
        if comparator.extra:
            raise MethodError("invalidArguments", "sort: unknown Comparator key " + ", ".join(sorted(comparator.extra)))
        if comparator.collation is not None:
            raise MethodError("unsupportedSort", f"{comparator.property}: no collation applies")
        field = F(column)
        return [field.asc(nulls_last=True) if comparator.is_ascending else field.desc(nulls_last=True)]

    return build


# §5.10.2: start, uid, recurrenceId (expanded results only, see below), created, updated.
CALENDAR_EVENT_SORTS: dict[str, Callable[[Comparator], list[OrderBy]]] = {
    "start": _sort_column("utc_start"),
    "uid": sort_text("uid"),
    "created": _sort_column("created"),
    "updated": _sort_column("updated"),
    # Unexpanded, a base event has no recurrence id: ties are broken by start.
    "recurrenceId": _sort_column("utc_start"),
}

# uid never changes once an event exists (CalendarEvent/set refuses it).
CALENDAR_EVENT_IMMUTABLE_QUERY = frozenset({"uid"})


def _iso_duration(text: str) -> timedelta:
    """The days of a "PnD" duration (MAX_EXPANDED_QUERY_DURATION's form)."""
    return timedelta(days=int(text.strip("PD")))


MAX_EXPANDED_WINDOW = _iso_duration(MAX_EXPANDED_QUERY_DURATION)


@dataclass
class ExpansionWindow:
    after: datetime
    before: datetime


def expansion_window(parsed: Filter | None) -> ExpansionWindow:
    """§5.10: with expandRecurrences the filter must be a FilterCondition with
    both `after` and `before`, at most maxExpandedQueryDuration apart;
    otherwise invalidArguments."""
    if not isinstance(parsed, FilterCondition) or "after" not in parsed.values or "before" not in parsed.values:
        raise MethodError(
            "invalidArguments", "expandRecurrences needs a filter with both after and before at its top level"
        )
    try:
        after = utc_date()(parsed.values["after"])
        before = utc_date()(parsed.values["before"])
    except InvalidValue as error:
        raise MethodError("invalidArguments", f"filter after/before: {error}") from None
    assert after is not None and before is not None
    if before <= after:
        raise MethodError("invalidArguments", "filter: before must be later than after")
    if before - after > MAX_EXPANDED_WINDOW:
        raise MethodError(
            "invalidArguments",
            f"expandRecurrences over more than maxExpandedQueryDuration ({MAX_EXPANDED_QUERY_DURATION})",
        )
    return ExpansionWindow(after=after, before=before)
