"""The iCalendar syntax layer: content lines, parameters, components (RFC 5545 §3.1-§3.6, RFC 6868).

Each test reads a small object a real writer (or a hostile one: mallory) could
send and checks the fields read, the problems reported and the text written.
"""
from __future__ import annotations

from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalParam, IcalProperty
from jmapcore.calendars.jscalendar.ical_syntax import (
    DEPTH_MAX,
    ical_parse,
    ical_property_line,
    ical_serialize,
    text_escape,
    text_list,
    text_list_join,
    text_unescape,
)


def _calendar(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//alice//test//EN", *lines,
                        "END:VCALENDAR", ""])


def _event(*lines: str) -> str:
    return _calendar("BEGIN:VEVENT", "UID:alice-1@example.com", *lines, "END:VEVENT")


def _only_event(text: str) -> IcalComponent:
    obj = ical_parse(text)
    assert obj.root is not None
    events = obj.root.subcomponents("VEVENT")
    assert len(events) == 1
    return events[0]


def test_a_well_formed_object_reads_without_problems() -> None:
    obj = ical_parse(_event("SUMMARY:Team lunch", "DTSTART;TZID=Europe/Berlin:20240105T120000",
                            "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM"))
    assert obj.problems == []
    assert obj.root is not None and obj.root.name == "VCALENDAR"
    assert [prop.name for prop in obj.root.properties] == ["VERSION", "PRODID"]
    event = obj.root.components[0]
    assert event.name == "VEVENT"
    assert event.first("summary") is not None and event.first("SUMMARY").value == "Team lunch"  # type: ignore[union-attr]
    start = event.first("DTSTART")
    assert start is not None and start.param("tzid") == ["Europe/Berlin"] and start.value == "20240105T120000"
    assert [alarm.name for alarm in event.components] == ["VALARM"]
    assert event.components[0].first("TRIGGER").value == "-PT15M"  # type: ignore[union-attr]


def test_folded_lines_are_unfolded_with_space_or_tab_and_lf_only_text() -> None:
    text = ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDESCRIPTION:Bring the sl\n ides and\n\t the charts\n"
            "END:VEVENT\nEND:VCALENDAR\n")
    event = _only_event(text)
    assert event.first("DESCRIPTION").value == "Bring the slides and the charts"  # type: ignore[union-attr]
    assert ical_parse(text).problems == []


def test_values_keep_their_escapes_and_text_helpers_unescape() -> None:
    event = _only_event(_event(r"SUMMARY:Lunch\, then talk\; bring\nnotes\\files", r"CATEGORIES:Work,Fun\,ish"))
    summary = event.first("SUMMARY")
    assert summary is not None
    assert summary.value == r"Lunch\, then talk\; bring\nnotes\\files"
    assert text_unescape(summary.value) == "Lunch, then talk; bring\nnotes\\files"
    assert text_list(event.first("CATEGORIES").value) == ["Work", "Fun,ish"]  # type: ignore[union-attr]
    assert text_escape("a;b,c\\d\ne") == r"a\;b\,c\\d\ne"
    assert text_list(text_list_join(["x,y", "z;w", ""])) == ["x,y", "z;w", ""]


def test_parameters_quoted_multi_valued_and_rfc6868() -> None:
    line = ('ATTENDEE;CN="Doe, Jane: CFO";ROLE=REQ-PARTICIPANT;DELEGATED-FROM="mailto:a@x","mailto:b@x";'
            "X-NOTE=say ^'hi^' ^^ ^nbye;PARTSTAT=accepted:mailto:jane@example.com")
    prop = _only_event(_event(line)).first("ATTENDEE")
    assert prop is not None
    assert prop.value == "mailto:jane@example.com"
    assert prop.param("CN") == ["Doe, Jane: CFO"]
    assert prop.param("delegated-from") == ["mailto:a@x", "mailto:b@x"]
    assert prop.param("X-NOTE") == ['say "hi" ^ \nbye']
    assert prop.param_first("PARTSTAT") == "accepted"
    assert prop.raw == line


def test_value_may_hold_colons_and_semicolons() -> None:
    prop = _only_event(_event("URL;VALUE=URI:https://example.com/a;b?c=d:e")).first("URL")
    assert prop is not None and prop.value == "https://example.com/a;b?c=d:e"
    assert prop.params == [IcalParam("VALUE", ["URI"])]


def test_unterminated_quote_reads_the_header_without_quotes() -> None:
    obj = ical_parse(_event('X-MALLORY;A="open;B=c:value'))
    assert obj.root is not None
    prop = obj.root.components[0].first("X-MALLORY")
    assert prop is not None and prop.value == "value"
    assert prop.param("A") == ['"open'] and prop.param("B") == ["c"]
    assert any("without its closing quote" in problem for problem in obj.problems)


def test_a_line_without_colon_joins_the_property_before_as_a_new_line() -> None:
    obj = ical_parse(_event("DESCRIPTION:first line", "second line the writer did not escape", "LOCATION:Room 1"))
    assert obj.root is not None
    event = obj.root.components[0]
    assert event.first("DESCRIPTION").value == r"first line\nsecond line the writer did not escape"  # type: ignore[union-attr]
    assert event.first("DESCRIPTION").raw is None  # type: ignore[union-attr]
    assert event.first("LOCATION").value == "Room 1"  # type: ignore[union-attr]
    assert any("not a property" in problem for problem in obj.problems)


def test_missing_end_is_closed_where_the_next_begin_or_outer_end_comes() -> None:
    obj = ical_parse(_calendar("BEGIN:VEVENT", "UID:a", "BEGIN:VEVENT", "UID:b", "BEGIN:VALARM", "TRIGGER:-PT5M"))
    assert obj.root is not None
    assert [event.first("UID").value for event in obj.root.components] == ["a", "b"]  # type: ignore[union-attr]
    assert [alarm.name for alarm in obj.root.components[1].components] == ["VALARM"]
    assert sum("has no END:" in problem for problem in obj.problems) == 3


def test_text_cut_short_keeps_what_was_read() -> None:
    text = _event("SUMMARY:Half", "DTSTART:20240101T100000Z")[:-len("END:VEVENT\r\nEND:VCALENDAR\r\n")]
    obj = ical_parse(text)
    assert obj.root is not None
    assert obj.root.components[0].first("DTSTART").value == "20240101T100000Z"  # type: ignore[union-attr]
    assert any("VEVENT begun at line 4 has no END:VEVENT" in problem for problem in obj.problems)
    assert any("VCALENDAR begun at line 1 has no END:VCALENDAR" in problem for problem in obj.problems)


def test_end_without_begin_and_text_outside_are_reported_and_ignored() -> None:
    obj = ical_parse("junk before\r\n" + _event("END:VTODO", "SUMMARY:x") + "junk after\r\n")
    assert obj.root is not None
    assert obj.root.components[0].first("SUMMARY") is not None
    assert any("END:VTODO without its BEGIN" in problem for problem in obj.problems)
    assert sum("outside any component" in problem for problem in obj.problems) == 2


def test_nesting_deeper_than_the_cap_is_dropped_with_a_problem() -> None:
    depth = DEPTH_MAX + 5
    text = "".join(f"BEGIN:X-N{level}\r\nX-LEVEL:{level}\r\n" for level in range(depth)) + "".join(
        f"END:X-N{level}\r\n" for level in reversed(range(depth)))
    obj = ical_parse(text)
    levels = 0
    component = obj.root
    while component is not None:
        levels += 1
        component = component.components[0] if component.components else None
    assert levels == DEPTH_MAX
    assert any("nested deeper" in problem for problem in obj.problems)
    assert not any("without its BEGIN" in problem for problem in obj.problems)


def test_no_object_and_several_objects() -> None:
    empty = ical_parse("")
    assert empty.root is None and empty.problems
    two = ical_parse(_event("SUMMARY:one") + _event("SUMMARY:two"))
    assert two.root is not None and len(two.more) == 1
    assert two.more[0].components[0].first("SUMMARY").value == "two"  # type: ignore[union-attr]
    assert any("2 top-level components" in problem for problem in two.problems)
    bare = ical_parse("BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n")
    assert bare.root is not None and bare.root.name == "VEVENT"
    assert any("not a VCALENDAR" in problem for problem in bare.problems)


def test_byte_order_mark_and_mixed_line_ends() -> None:
    obj = ical_parse("\ufeffBEGIN:VCALENDAR\r\nVERSION:2.0\nEND:VCALENDAR\r\n")
    assert obj.root is not None and obj.root.first("VERSION") is not None
    assert any("mixes CRLF" in problem for problem in obj.problems)


def test_problems_are_capped() -> None:
    obj = ical_parse(_calendar(*["mallory was here"] * 500))
    assert len(obj.problems) <= 52
    assert obj.problems[-1].startswith("… and ")


def test_serialize_writes_crlf_folded_and_raw_lines_unchanged() -> None:
    long_summary = "SUMMARY:" + "Grüße aus Köln 😀 " * 10
    text = _event(long_summary, "X-ODD;X-A=b:kept  as  is")
    obj = ical_parse(text)
    assert obj.root is not None
    written = ical_serialize(obj.root)
    assert written.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in written.split("\r\n"))
    written.encode("utf-8")  # no UTF-8 sequence was split
    assert ical_parse(written).root == obj.root


def test_serialize_from_fields_quotes_and_encodes_parameters() -> None:
    prop = IcalProperty("ATTENDEE", "mailto:bob@example.com",
                        params=[IcalParam("CN", ['Bob "the builder"; Jr.']), IcalParam("X-MULTI", ["a", "b:c"])])
    assert ical_property_line(prop) == 'ATTENDEE;CN="Bob ^\'the builder^\'; Jr.";X-MULTI=a,"b:c":mailto:bob@example.com'


def test_serialize_never_lets_a_value_start_a_line() -> None:
    # A JMAP client (mallory) sets a title with a raw line break and an END.
    event = IcalComponent("VEVENT", properties=[
        IcalProperty("SUMMARY", "hi\r\nEND:VEVENT\r\nBEGIN:VEVENT"),
        IcalProperty("END", "VCALENDAR"),
        IcalProperty("X-EVIL NAME", "x"),
    ])
    written = ical_serialize(IcalComponent("VCALENDAR", components=[event]))
    read = ical_parse(written)
    assert read.problems == []
    assert read.root is not None and len(read.root.components) == 1
    props = read.root.components[0].properties
    assert [prop.name for prop in props] == ["SUMMARY", "X-EVIL-NAME"]
    assert text_unescape(props[0].value) == "hi\nEND:VEVENT\nBEGIN:VEVENT"


def test_serialize_a_deep_component_made_by_a_caller() -> None:
    root = IcalComponent("X-DEEP")
    component = root
    for _ in range(5000):
        child = IcalComponent("X-DEEP")
        component.components.append(child)
        component = child
    written = ical_serialize(root)
    assert written.count("BEGIN:X-DEEP") == 5001 and written.count("END:X-DEEP") == 5001


def test_parameter_on_begin_is_not_a_component() -> None:
    obj = ical_parse(_event("BEGIN;X=1:VALARM", "SUMMARY:x"))
    assert obj.root is not None
    assert obj.root.components[0].components == []
    assert any("BEGIN with parameters ignored" in problem for problem in obj.problems)
