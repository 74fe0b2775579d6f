"""TZIDs as calendar objects write them (RFC 5545 §3.2.19, §3.6.5): IANA ids,
Microsoft ids and display names (CLDR windowsZones), vendor-prefixed ids, and
VTIMEZONEs with unknown TZIDs built into a tzinfo and matched to an IANA zone.
"""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jmapcore.calendars.jscalendar.ical_model import IcalComponent
from jmapcore.calendars.jscalendar.ical_syntax import ical_parse
from jmapcore.calendars.jscalendar.recurrence import occurrences
from jmapcore.calendars.jscalendar.timezones import VTimezone, tz_iana_name, tz_resolve, vtimezone_zone
from jmapcore.calendars.jscalendar.windows_zones import WINDOWS_ZONES
from tests.linear_run import sizes_run


def _vtimezones(*blocks: str) -> dict[str, IcalComponent]:
    text = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//alice//test//EN", *blocks, "END:VCALENDAR", ""])
    parsed = ical_parse(text)
    assert parsed.root is not None
    found = {}
    for component in parsed.root.subcomponents("VTIMEZONE"):
        tzid = component.first("TZID")
        assert tzid is not None
        found[tzid.value] = component
    return found


# As Outlook writes central European time: rules from 1601, under a name of its own.
OUTLOOK_BERLIN = "\r\n".join([
    "BEGIN:VTIMEZONE", "TZID:Alice's Office Time",
    "BEGIN:STANDARD", "DTSTART:16011028T030000", "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
    "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "END:STANDARD",
    "BEGIN:DAYLIGHT", "DTSTART:16010325T020000", "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
    "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "END:DAYLIGHT",
    "END:VTIMEZONE"])

# US Eastern with the post-2007 rules, and a name no database knows.
CUSTOM_EASTERN = "\r\n".join([
    "BEGIN:VTIMEZONE", "TZID:Bob Eastern",
    "BEGIN:DAYLIGHT", "DTSTART:20070311T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
    "TZOFFSETFROM:-0500", "TZOFFSETTO:-0400", "TZNAME:EDT", "END:DAYLIGHT",
    "BEGIN:STANDARD", "DTSTART:20071104T020000", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
    "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "TZNAME:EST", "END:STANDARD",
    "END:VTIMEZONE"])

# A zone given by RDATEs only, with a fixed offset since its last change.
RDATE_ZONE = "\r\n".join([
    "BEGIN:VTIMEZONE", "TZID:Island Time",
    "BEGIN:STANDARD", "DTSTART:19700101T000000", "RDATE:19700101T000000,20200301T020000",
    "TZOFFSETFROM:+0530", "TZOFFSETTO:+0530", "TZNAME:IST", "END:STANDARD",
    "END:VTIMEZONE"])


@pytest.mark.parametrize(("tzid", "iana"), [
    ("Europe/Berlin", "Europe/Berlin"),
    ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("pacific standard time", "America/Los_Angeles"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin"),
    ("(UTC+01:00) Brussels, Copenhagen, Madrid, Paris", "Europe/Paris"),
    ("(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"),
    ("(UTC-08:00) Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("(UTC+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney"),
    ("(UTC) Dublin, Edinburgh, Lisbon, London", "Europe/London"),
    ("(GMT+01.00) Amsterdam / Berlin / Bern / Rome / Stockholm / Vienna", "Europe/Berlin"),
    ("/mozilla.org/20050126_1/Europe/Berlin", "Europe/Berlin"),
    ("/freeassociation.sourceforge.net/Tzfile/America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("/citadel.org/20190914_1/Asia/Tokyo", "Asia/Tokyo"),
    ("UTC", "Etc/UTC"),
])
def test_names_resolve_to_iana_zones(tzid: str, iana: str) -> None:
    assert tz_iana_name(tzid, vtimezones={}) == iana
    zone = tz_resolve(tzid, vtimezones={})
    assert zone is not None
    winter = datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert winter.astimezone(zone).utcoffset() == winter.astimezone(ZoneInfo(iana)).utcoffset()


def test_every_windows_id_maps_to_a_zone_this_machine_has() -> None:
    assert len(WINDOWS_ZONES) > 130
    for windows, iana in WINDOWS_ZONES.items():
        assert tz_iana_name(windows, vtimezones={}) == iana
        zone = tz_resolve(windows, vtimezones={})
        assert zone is not None
        summer = datetime(2026, 7, 1, tzinfo=UTC)
        assert summer.astimezone(zone).utcoffset() == summer.astimezone(ZoneInfo(iana)).utcoffset()


@pytest.mark.parametrize("tzid", ["Mars/Olympus_Mons", "", "Central Standard Time (Mallory)", "../../etc/passwd",
                                  "(UTC+99:00) Atlantis", "/a/b/c"])
def test_unknown_names_without_a_vtimezone_are_none(tzid: str) -> None:
    assert tz_resolve(tzid, vtimezones={}) is None
    assert tz_iana_name(tzid, vtimezones={}) is None


def test_an_iana_tzid_wins_over_its_own_truncated_vtimezone() -> None:
    # A VTIMEZONE called Europe/Berlin that (wrongly) says +0300 all year: the IANA rules are used.
    wrong = "\r\n".join(["BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD", "DTSTART:19700101T000000",
                         "TZOFFSETFROM:+0300", "TZOFFSETTO:+0300", "END:STANDARD", "END:VTIMEZONE"])
    assert tz_resolve("Europe/Berlin", vtimezones=_vtimezones(wrong)) == ZoneInfo("Europe/Berlin")


def test_a_vtimezone_with_rules_behaves_like_the_iana_zone() -> None:
    vtimezones = _vtimezones(OUTLOOK_BERLIN)
    zone = tz_resolve("Alice's Office Time", vtimezones=vtimezones)
    assert isinstance(zone, VTimezone)
    berlin = ZoneInfo("Europe/Berlin")
    pick = random.Random(5545)
    for _ in range(3000):
        instant = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=pick.randrange(60 * 24 * 366 * 12))
        assert instant.astimezone(zone).replace(tzinfo=None) == instant.astimezone(berlin).replace(tzinfo=None)
        assert instant.astimezone(zone).fold == instant.astimezone(berlin).fold
        wall = instant.astimezone(berlin).replace(tzinfo=None)
        for fold in (0, 1):
            assert wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) == \
                wall.replace(tzinfo=berlin, fold=fold).astimezone(UTC)
    assert datetime(2026, 7, 1, 12, tzinfo=zone).tzname() == "CEST"
    assert datetime(2026, 7, 1, 12, tzinfo=zone).dst() == timedelta(hours=1)
    assert datetime(2026, 1, 1, 12, tzinfo=zone).dst() == timedelta(0)


def test_gap_and_fold_follow_rfc_5545_in_a_vtimezone() -> None:
    zone = tz_resolve("Alice's Office Time", vtimezones=_vtimezones(OUTLOOK_BERLIN))
    assert zone is not None
    # 02:30 on 29 March 2026 does not exist: the offset before the gap (+01:00) applies.
    assert datetime(2026, 3, 29, 2, 30, tzinfo=zone).astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 on 25 October 2026 happens twice: the first (+02:00).
    assert datetime(2026, 10, 25, 2, 30, tzinfo=zone).astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_vtimezones_are_matched_to_the_iana_zone_people_mean() -> None:
    vtimezones = _vtimezones(OUTLOOK_BERLIN, CUSTOM_EASTERN, RDATE_ZONE)
    assert tz_iana_name("Alice's Office Time", vtimezones=vtimezones) == "Europe/Berlin"
    assert tz_iana_name("Bob Eastern", vtimezones=vtimezones) == "America/New_York"
    # CLDR still names India's zone by its old id (a link to Asia/Kolkata in the IANA database).
    assert tz_iana_name("Island Time", vtimezones=vtimezones) in ("Asia/Kolkata", "Asia/Calcutta")


def test_x_lic_location_names_the_zone() -> None:
    block = OUTLOOK_BERLIN.replace("TZID:Alice's Office Time", "TZID:Thunderbird Zone\r\nX-LIC-LOCATION:Europe/Rome")
    assert tz_iana_name("Thunderbird Zone", vtimezones=_vtimezones(block)) == "Europe/Rome"


def test_recurrence_runs_in_a_vtimezone_zone() -> None:
    zone = tz_resolve("Bob Eastern", vtimezones=_vtimezones(CUSTOM_EASTERN))
    event = {"start": "2026-03-06T09:00:00", "timeZone": None, "duration": "PT1H",
             "recurrenceRules": [{"frequency": "weekly", "count": 2}]}
    found = occurrences(event, after=None, before=None, limit=5, zone=zone)
    assert [o.utc_start for o in found] == [datetime(2026, 3, 6, 14, tzinfo=UTC),   # EST
                                            datetime(2026, 3, 13, 13, tzinfo=UTC)]  # EDT from 8 March


@pytest.mark.parametrize("block", [
    "BEGIN:VTIMEZONE\r\nTZID:Broken\r\nEND:VTIMEZONE",
    "BEGIN:VTIMEZONE\r\nTZID:Broken\r\nBEGIN:STANDARD\r\nDTSTART:nonsense\r\nTZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE",
    "BEGIN:VTIMEZONE\r\nTZID:Broken\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+25\r\n"
    "TZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE",
])
def test_broken_vtimezones_are_reported_and_resolve_to_none(block: str) -> None:
    vtimezones = _vtimezones(block)
    problems: list[str] = []
    assert vtimezone_zone(vtimezones["Broken"], problems=problems) is None
    assert problems
    assert tz_resolve("Broken", vtimezones=vtimezones) is None
    assert tz_iana_name("Broken", vtimezones=vtimezones) is None


def test_a_hostile_vtimezone_rule_is_bounded() -> None:
    # mallory: a SECONDLY observance would be billions of transitions; it is cut and reported.
    block = "\r\n".join(["BEGIN:VTIMEZONE", "TZID:Mallory Time", "BEGIN:STANDARD", "DTSTART:19700101T000000",
                         "RRULE:FREQ=SECONDLY", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0100", "END:STANDARD",
                         "END:VTIMEZONE"])
    problems: list[str] = []
    zone = vtimezone_zone(_vtimezones(block)["Mallory Time"], problems=problems)
    assert zone is not None
    assert datetime(2026, 1, 1, tzinfo=zone).utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    "shape",
    [
        "'(utc' + '\\t' * n + ')' + '\\t' * n + '+0\\n)'",  # recheck's attack on the old display-name regex
        "'(UTC+' + ' ' * n + '01:00) ' + 'Berlin, ' * n",
        "'(' * n + 'GMT)'",
    ],
)
def test_windows_display_names_are_read_in_linear_time(shape: str) -> None:
    summaries = sizes_run(f"""
from jmapcore.calendars.jscalendar.timezones import tz_resolve
def make(n):
    return {shape}
def run(text):
    return [tz_resolve(text, vtimezones={{}})]
""", base=20_000, what="display-name parse")
    assert summaries == ["list:1", "list:1"]
