"""Hypothesis strategies for iCalendar: component trees with hostile (but
writable) names, parameters and values, and values of the RFC 5545 §3.3 types.

"Writable" means what ical_serialize can write so that ical_parse reads the
same fields back (RFC 5545 §3.1): names of letters, digits and '-' (upper-
cased, since the reader upper-cases them); parameter values of any text but
CR (RFC 6868 has no encoding for it); raw values of any text but CR and LF (a
raw value is the escaped form, where a newline is \\n). Component names never
repeat one of RFC 5545's non-nesting components inside itself (the reader
takes that as a missing END). Everything else is fair game: quotes, colons,
semicolons, commas, carets, backslashes, control characters, astral
characters, combining marks. The hostile text itself comes from the vCard
strategies (the same grammar, RFC 6350 §3.3 without groups).
"""
from __future__ import annotations

from datetime import date, datetime

from hypothesis import strategies as st

from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalParam, IcalProperty
from jmapcore.calendars.jscalendar.ical_values import WEEKDAYS, IcalDuration, IcalTime
from tests.jmapcore.contacts.jscontact.vcard_strategies import raw_values, texts

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
_RESERVED_PROPERTIES = frozenset({"BEGIN", "END"})

names = st.text(_UPPER, min_size=1, max_size=12)
property_names = st.one_of(
    names.filter(lambda name: name not in _RESERVED_PROPERTIES),
    st.sampled_from(["DTSTART", "SUMMARY", "ATTENDEE", "RRULE", "X-APPLE-STRUCTURED-LOCATION", "X-MOZ-GENERATION"]),
)
param_names = names
params = st.builds(IcalParam, param_names, st.lists(texts, min_size=1, max_size=4))

properties = st.builds(IcalProperty, property_names, raw_values, params=st.lists(params, max_size=4))

# Per level, the names a component may have: the real ones where RFC 5545 puts
# them, and X- names anywhere.
_x_names = names.map(lambda name: f"X-{name}")
_LEVEL_NAMES = [
    st.just("VCALENDAR"),
    st.one_of(st.sampled_from(["VEVENT", "VTODO", "VJOURNAL", "VTIMEZONE", "VFREEBUSY"]), _x_names),
    st.one_of(st.sampled_from(["VALARM", "STANDARD", "DAYLIGHT", "VLOCATION"]), _x_names),
    _x_names,
]


@st.composite
def components(draw: st.DrawFn, *, level: int = 0, max_children: int = 2) -> IcalComponent:
    """A component tree from `level` down (at most four levels in all)."""
    name = draw(_LEVEL_NAMES[min(level, len(_LEVEL_NAMES) - 1)])
    children: list[IcalComponent] = []
    if level < 3:
        children = draw(st.lists(components(level=level + 1, max_children=max(max_children - 1, 0)),
                                 max_size=max_children))
    return IcalComponent(name, properties=draw(st.lists(properties, max_size=4)), components=children)


def calendars(*, max_children: int = 2) -> st.SearchStrategy[IcalComponent]:
    """A VCALENDAR tree a reader must accept without a problem."""
    return components(level=0, max_children=max_children)


def without_raw(component: IcalComponent) -> IcalComponent:
    """A copy of `component` with `raw` cleared everywhere, for comparing fields only."""
    return IcalComponent(
        component.name,
        properties=[IcalProperty(prop.name, prop.value, params=prop.params) for prop in component.properties],
        components=[without_raw(child) for child in component.components],
    )


# --- values (RFC 5545 §3.3) --------------------------------------------------------------------------------

_days = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
_wall_clock = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
    lambda moment: moment.replace(microsecond=0))
_tzids = st.one_of(st.sampled_from(["Europe/Berlin", "W. Europe Standard Time", "America/New_York"]),
                   st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1, max_size=20))

times = st.one_of(
    st.builds(IcalTime, _days),
    st.builds(IcalTime, _wall_clock),
    st.builds(IcalTime, _wall_clock, utc=st.just(True)),
    st.builds(IcalTime, _wall_clock, tzid=_tzids),
)

_amount = st.integers(0, 10_000)
durations = st.one_of(
    st.builds(IcalDuration, negative=st.booleans(), weeks=st.integers(1, 500)),
    st.builds(IcalDuration, negative=st.booleans(), days=_amount, hours=_amount, minutes=_amount, seconds=_amount),
)


@st.composite
def recur_rules(draw: st.DrawFn) -> dict[str, object]:
    """A valid RECUR as recur_parse returns it (UNTIL or COUNT, never both)."""
    freq = draw(st.sampled_from(["SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts: dict[str, object] = {"FREQ": freq}
    end = draw(st.sampled_from(["none", "until-date", "until-utc", "count"]))
    if end == "until-date":
        parts["UNTIL"] = IcalTime(draw(_days))
    elif end == "until-utc":
        parts["UNTIL"] = IcalTime(draw(_wall_clock), utc=True)
    elif end == "count":
        parts["COUNT"] = draw(st.integers(1, 10**6))
    if draw(st.booleans()):
        parts["INTERVAL"] = draw(st.integers(1, 1000))
    ordinal = st.one_of(st.none(), st.integers(1, 5), st.integers(-5, -1)) if freq in ("MONTHLY", "YEARLY") \
        else st.none()
    optional: dict[str, st.SearchStrategy[object]] = {
        "BYDAY": st.lists(st.tuples(ordinal, st.sampled_from(WEEKDAYS)), min_size=1, max_size=7),
        "BYMONTH": st.lists(st.integers(1, 12).map(str), min_size=1, max_size=12),
        "BYMONTHDAY": st.lists(st.one_of(st.integers(1, 31), st.integers(-31, -1)), min_size=1, max_size=5),
        "BYYEARDAY": st.lists(st.one_of(st.integers(1, 366), st.integers(-366, -1)), min_size=1, max_size=5),
        "BYHOUR": st.lists(st.integers(0, 23), min_size=1, max_size=5),
        "BYMINUTE": st.lists(st.integers(0, 59), min_size=1, max_size=5),
        "BYSECOND": st.lists(st.integers(0, 60), min_size=1, max_size=5),
        "BYSETPOS": st.lists(st.one_of(st.integers(1, 366), st.integers(-366, -1)), min_size=1, max_size=3),
        "WKST": st.sampled_from(WEEKDAYS),
    }
    if freq == "YEARLY":
        optional["BYWEEKNO"] = st.lists(st.one_of(st.integers(1, 53), st.integers(-53, -1)), min_size=1, max_size=3)
    for part, strategy in optional.items():
        if draw(st.integers(0, 3)) == 0:
            parts[part] = draw(strategy)
    return parts


def recur_text(parts: dict[str, object]) -> str:
    """A RECUR dict written as RRULE text (§3.3.10), parts in dict order."""
    pieces: list[str] = []
    for name, value in parts.items():
        if isinstance(value, IcalTime):
            text = value.text()
        elif isinstance(value, list):
            text = ",".join(f"{item[0] or ''}{item[1]}" if isinstance(item, tuple) else str(item) for item in value)
        else:
            text = str(value)
        pieces.append(f"{name}={text}")
    return ";".join(pieces)
