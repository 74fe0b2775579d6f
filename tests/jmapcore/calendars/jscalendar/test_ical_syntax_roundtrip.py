"""Property-based round trips of the iCalendar syntax and value layer (hypothesis).

A component tree of hostile names, parameters and values (ical_strategies.py)
is written and read back to the same fields without a problem; the text
written is valid RFC 5545 §3.1 (CRLF, ≤ 75 octets a line); re-writing what was
read is byte-identical; arbitrary or mangled text never makes the reader
raise; and every value type of §3.3 writes and reads back to the same value.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalParam, IcalProperty
from jmapcore.calendars.jscalendar.ical_syntax import (
    ical_parse,
    ical_serialize,
    text_escape,
    text_list,
    text_list_join,
    text_unescape,
)
from jmapcore.calendars.jscalendar.ical_values import (
    IcalDuration,
    IcalTime,
    duration_parse,
    recur_parse,
    time_parse,
)
from tests.jmapcore.calendars.jscalendar.ical_strategies import (
    calendars,
    durations,
    recur_rules,
    recur_text,
    times,
    without_raw,
)
from tests.jmapcore.contacts.jscontact.vcard_strategies import texts


def _walk_properties(component: IcalComponent) -> list[IcalProperty]:
    found = list(component.properties)
    for child in component.components:
        found += _walk_properties(child)
    return found


@settings(max_examples=150, deadline=None)
@given(calendars())
def test_written_object_reads_back_to_the_same_fields(calendar: IcalComponent) -> None:
    obj = ical_parse(ical_serialize(calendar))
    assert obj.problems == []
    assert obj.root is not None
    assert without_raw(obj.root) == without_raw(calendar)


@settings(max_examples=100, deadline=None)
@given(calendars())
def test_written_text_is_crlf_and_folded_at_75_octets(calendar: IcalComponent) -> None:
    text = ical_serialize(calendar)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("\r\nEND:VCALENDAR\r\n")
    lines = text.split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert max(len(line.encode("utf-8")) for line in lines) <= 75


@settings(max_examples=100, deadline=None)
@given(calendars())
def test_rewriting_an_untouched_object_is_byte_identical(calendar: IcalComponent) -> None:
    text = ical_serialize(calendar)
    obj = ical_parse(text)
    assert obj.root is not None
    assert all(prop.raw is not None for prop in _walk_properties(obj.root))
    assert ical_serialize(obj.root) == text


@settings(max_examples=100, deadline=None)
@given(calendars(max_children=1), st.data())
def test_one_changed_property_changes_only_its_own_line(calendar: IcalComponent, data: st.DataObject) -> None:
    # What the converter's minimal change relies on: clearing raw on one
    # property rewrites that line only.
    text = ical_serialize(calendar)
    obj = ical_parse(text)
    assert obj.root is not None
    props = _walk_properties(obj.root)
    if not props:
        return
    chosen = data.draw(st.sampled_from(props))
    chosen.value = text_escape("changed by alice, with a; and\na newline")
    chosen.params = [*chosen.params, IcalParam("X-CHANGED", ["yes"])]
    chosen.raw = None
    before = ical_parse(text).root
    after = ical_parse(ical_serialize(obj.root)).root
    assert before is not None and after is not None
    changed = [(old, new) for old, new in zip(_walk_properties(before), _walk_properties(after), strict=True)
               if (old.name, old.value, old.params) != (new.name, new.value, new.params)]
    assert len(changed) == 1
    assert text_unescape(changed[0][1].value) == "changed by alice, with a; and\na newline"


@st.composite
def _mangled(draw: st.DrawFn) -> str:
    """A written object with junk spliced in, line ends changed, or cut short."""
    text = ical_serialize(draw(calendars(max_children=1)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["junk", "cut", "lf", "cr", "drop"]))
        if how == "junk":
            junk = draw(st.text(st.sampled_from('\r\n :;="\\^BEGINDVCALENTX-\x00é'), max_size=14))
            text = text[:at] + junk + text[at:]
        elif how == "cut":
            text = text[:at]
        elif how == "lf":
            text = text.replace("\r\n", "\n", 1)
        elif how == "cr":
            text = text.replace("\r\n", "\r", 2)
        else:
            text = text[:at] + text[at + 1:]
    return text


def _count(component: IcalComponent) -> int:
    return 1 + sum(_count(child) for child in component.components)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=300), _mangled()))
def test_any_text_reads_without_raising_and_writes_again(text: str) -> None:
    obj = ical_parse(text)
    if obj.root is None:
        assert obj.more == [] and any("no iCalendar object" in problem for problem in obj.problems)
    for root in ([obj.root] if obj.root is not None else []) + obj.more:
        again = ical_parse(ical_serialize(root))
        assert again.root is not None and _count(again.root) == _count(root)


@settings(max_examples=300, deadline=None)
@given(texts.map(lambda text: text.replace("\r", "")))
def test_text_escape_round_trips(text: str) -> None:
    escaped = text_escape(text)
    assert "\n" not in escaped
    assert text_unescape(escaped) == text


@settings(max_examples=200, deadline=None)
@given(st.lists(texts.map(lambda text: text.replace("\r", "")), min_size=1, max_size=6))
def test_text_list_round_trips(items: list[str]) -> None:
    assert text_list(text_list_join(items)) == items


@settings(max_examples=300, deadline=None)
@given(times)
def test_date_and_date_time_round_trip(value: IcalTime) -> None:
    params = [IcalParam("VALUE", ["DATE"])] if value.is_date else []
    if value.tzid is not None:
        params.append(IcalParam("TZID", [value.tzid]))
    prop = IcalProperty("DTSTART", value.text(), params=params)
    assert time_parse(prop) == (value, None)


@settings(max_examples=300, deadline=None)
@given(durations)
def test_duration_round_trips(duration: IcalDuration) -> None:
    read, problem = duration_parse(duration.text())
    assert problem is None and read is not None
    assert read.timedelta() == duration.timedelta()
    assert read.text() == duration.text()


@settings(max_examples=300, deadline=None)
@given(recur_rules())
def test_recur_round_trips(parts: dict[str, object]) -> None:
    assert recur_parse(recur_text(parts)) == (parts, [])


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("FREQ=;,YEARLYMONTHBYDAY-+0123456789SUMOTUNTILZT"), max_size=80))
def test_recur_never_raises(text: str) -> None:
    parts, problems = recur_parse(text)
    assert parts is not None or problems
