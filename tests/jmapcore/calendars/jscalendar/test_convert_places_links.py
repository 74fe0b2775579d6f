"""LOCATION/GEO/X-APPLE-STRUCTURED-LOCATION/VLOCATION/CONFERENCE ↔ locations and virtualLocations;
ATTACH/URL/IMAGE ↔ links (RFC 8984 §4.2.5-4.2.7; RFC 7986; RFC 9073)."""
from __future__ import annotations

from jmapcore.calendars.jscalendar import event_read, event_write
from tests.jmapcore.calendars.jscalendar.icals import component_lines, read

START = "DTSTART:20260105T100000Z"


def test_location_with_geo_is_one_location() -> None:
    event = read(START, "LOCATION:Room 1\\, Floor 2", "GEO:52.52;13.405")
    assert event["locations"] == {"l1": {"@type": "Location", "name": "Room 1, Floor 2",
                                         "coordinates": "geo:52.52,13.405"}}
    lines = component_lines(event_write(event, previous_text=None))
    assert "LOCATION:Room 1\\, Floor 2" in lines and "GEO:52.52;13.405" in lines


def test_apple_structured_location_keeps_its_parameters() -> None:
    apple = ('X-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-ADDRESS=Unter den Linden 1;X-APPLE-RADIUS=70;'
             'X-TITLE=Cafe:geo:52.517,13.394')
    event = read(START, "LOCATION:Cafe", apple)
    location = event["locations"]["l1"]
    assert location["coordinates"] == "geo:52.517,13.394" and location["name"] == "Cafe"
    again = event_read(event_write(event, previous_text=None)).event
    assert again is not None and again["locations"] == event["locations"]


def test_conference_is_a_virtual_location() -> None:
    event = read(START, "CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=Join:https://meet.example.com/abc")
    assert event["virtualLocations"] == {"v1": {"@type": "VirtualLocation", "uri": "https://meet.example.com/abc",
                                                "name": "Join", "features": {"audio": True, "video": True}}}
    assert event_read(event_write(event, previous_text=None)).event == event


def test_second_location_is_a_vlocation() -> None:
    event = {"@type": "Event", "uid": "bob-loc", "start": "2026-02-01T10:00:00",
             "locations": {"main": {"@type": "Location", "name": "Office"},
                           "park": {"@type": "Location", "name": "Car park", "coordinates": "geo:1.5,2.5"}}}
    text = event_write(event, previous_text=None)
    assert "LOCATION:Office" in component_lines(text)
    vlocation = component_lines(text, "VLOCATION")
    assert vlocation[:3] == ["UID:park", "NAME:Car park", "GEO:1.5;2.5"]
    again = event_read(text).event
    assert again is not None
    names = sorted(entry["name"] for entry in again["locations"].values())
    assert names == ["Car park", "Office"]


def test_attachments_url_and_image_are_links() -> None:
    event = read(START, "ATTACH;FMTTYPE=application/pdf;SIZE=1024;FILENAME=agenda.pdf:https://files.example.com/a",
                 "ATTACH;ENCODING=BASE64;VALUE=BINARY;FMTTYPE=text/plain:aGVsbG8=",
                 "URL:https://example.com/event", "IMAGE;VALUE=URI;DISPLAY=BADGE:https://example.com/i.png")
    links = event["links"]
    assert links["k1"] == {"@type": "Link", "rel": "enclosure", "href": "https://files.example.com/a",
                           "contentType": "application/pdf", "size": 1024, "title": "agenda.pdf"}
    assert links["k2"]["href"] == "data:text/plain;base64,aGVsbG8="
    assert links["k3"] == {"@type": "Link", "href": "https://example.com/event", "rel": "describedby"}
    assert links["k4"] == {"@type": "Link", "href": "https://example.com/i.png", "rel": "icon", "display": "badge"}
    assert event_read(event_write(event, previous_text=None)).event == event
