"""Time-zone identifiers as calendar objects write them, resolved to tzinfo and IANA ids.

A TZID parameter (RFC 5545 §3.2.19) is meant to name a VTIMEZONE in the same
object (§3.6.5), but in practice it is one of:

- an IANA id ("Europe/Berlin"), which wins over a VTIMEZONE of that name
  because the IANA rules cover every year and a VTIMEZONE often only a few
  (RFC 7809 §3.1 lets servers rely on IANA ids the same way);
- a Microsoft id as Outlook and Exchange write it ("W. Europe Standard Time"),
  mapped with CLDR's windowsZones table (windows_zones.py), or one of
  Windows' display names ("(UTC+01:00) Amsterdam, Berlin, Bern, Rome,
  Stockholm, Vienna"), matched by its city names and offset;
- an IANA id behind a vendor prefix ("/mozilla.org/20050126_1/Europe/Berlin",
  "/freeassociation.sourceforge.net/Tzfile/Europe/Berlin");
- anything else, explained only by the object's VTIMEZONE: its STANDARD and
  DAYLIGHT observances (DTSTART, TZOFFSETFROM, TZOFFSETTO, RRULE, RDATE) are
  built into a tzinfo here, and the IANA zone that agrees with them is found
  when a JSCalendar `timeZone` (RFC 8984 §4.7.1) is wanted.

Unknown: None, and the caller reports a problem (and reads the times as
floating or UTC). Nothing here raises on bad input.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from jmapcore.calendars.jscalendar.ical_model import IcalComponent
from jmapcore.calendars.jscalendar.ical_values import (
    IcalPeriod,
    IcalTime,
    date_time_parse,
    recur_parse,
    times_parse,
    utc_offset_parse,
)
from jmapcore.calendars.jscalendar.local_time import local_format
from jmapcore.calendars.jscalendar.recurrence_rule import Budget, BudgetExhausted, rule_read, rule_starts
from jmapcore.calendars.jscalendar.windows_zones import WINDOWS_ZONES

__all__ = ["VTimezone", "tz_iana_name", "tz_resolve", "vtimezone_zone"]

UTC_NAMES = frozenset({"utc", "etc/utc", "gmt", "etc/gmt", "z", "zulu", "universal", "etc/universal", "etc/zulu"})
# A VTIMEZONE's recurring observances are expanded up to this year (the capability's maxDateTime is 2200).
HORIZON_YEAR = 2201
_MAX_TRANSITIONS = 4000
_WINDOWS_LOWER = {name.lower(): zone for name, zone in WINDOWS_ZONES.items()}
_CANONICAL = frozenset(WINDOWS_ZONES.values())
# Windows display names that name a region rather than cities.
_DISPLAY_REGIONS = {
    "eastern time (us & canada)": "America/New_York", "central time (us & canada)": "America/Chicago",
    "mountain time (us & canada)": "America/Denver", "pacific time (us & canada)": "America/Los_Angeles",
    "alaska": "America/Anchorage", "hawaii": "Pacific/Honolulu", "arizona": "America/Phoenix",
    "atlantic time (canada)": "America/Halifax", "newfoundland": "America/St_Johns",
    "saskatchewan": "America/Regina", "indiana (east)": "America/Indiana/Indianapolis",
    "coordinated universal time": "Etc/UTC", "greenland": "America/Nuuk", "mid-atlantic": "Atlantic/South_Georgia",
    "international date line west": "Etc/GMT+12", "cabo verde is.": "Atlantic/Cape_Verde",
    "cape verde is.": "Atlantic/Cape_Verde", "beijing": "Asia/Shanghai", "brasilia": "America/Sao_Paulo",
    "guadalajara": "America/Mexico_City", "new delhi": "Asia/Kolkata", "islamabad": "Asia/Karachi",
    "astana": "Asia/Almaty", "abu dhabi": "Asia/Dubai", "kuwait": "Asia/Riyadh", "sri jayawardenepura": "Asia/Colombo",
    "osaka": "Asia/Tokyo", "canberra": "Australia/Sydney", "wellington": "Pacific/Auckland",
    "seoul": "Asia/Seoul", "taipei": "Asia/Taipei", "midway island": "Pacific/Midway",
}


# --- VTIMEZONE as a tzinfo ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Transition:
    utc: datetime          # naive UTC instant of the change
    before: timedelta      # offset until then
    after: timedelta       # offset from then on
    name: str | None
    is_dst: bool


class VTimezone(tzinfo):
    """A tzinfo built from one VTIMEZONE's observances (RFC 5545 §3.6.5).

    PEP 495 semantics, which RFC 5545 §3.3.5 matches: fold=0 reads a repeated
    wall-clock time as its first instance and a skipped one with the offset
    before the gap. Before the first transition the zone has the first
    observance's TZOFFSETFROM.
    """

    def __init__(self, tzid: str, transitions: list[_Transition], *, default: timedelta,
                 default_name: str | None) -> None:
        super().__init__()
        self.tzid = tzid
        self._transitions = transitions
        self._utc = [item.utc for item in transitions]
        # Wall-clock instants where fold=0 / fold=1 times switch to the new offset.
        self._local0 = [item.utc + max(item.before, item.after) for item in transitions]
        self._local1 = [item.utc + min(item.before, item.after) for item in transitions]
        self._default = default
        self._default_name = default_name

    def __repr__(self) -> str:
        return f"VTimezone({self.tzid!r}, {len(self._transitions)} transitions)"

    def _at_local(self, dt: datetime) -> _Transition | None:
        naive = dt.replace(tzinfo=None, fold=0)
        index = bisect_right(self._local1 if dt.fold else self._local0, naive) - 1
        return self._transitions[index] if index >= 0 else None

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        found = self._at_local(dt)
        return found.after if found is not None else self._default

    def dst(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        found = self._at_local(dt)
        if found is None or not found.is_dst:
            return timedelta(0)
        return found.after - self._standard_before(found)

    def _standard_before(self, transition: _Transition) -> timedelta:
        index = self._transitions.index(transition)
        for earlier in reversed(self._transitions[:index + 1]):
            if not earlier.is_dst:
                return earlier.after
        return transition.before

    def tzname(self, dt: datetime | None) -> str | None:
        if dt is None:
            return self.tzid
        found = self._at_local(dt)
        return (found.name if found is not None else self._default_name) or self.tzid

    def fromutc(self, dt: datetime) -> datetime:
        if not isinstance(dt, datetime) or dt.tzinfo is not self:
            raise ValueError("fromutc: dt.tzinfo is not self")
        naive = dt.replace(tzinfo=None)
        index = bisect_right(self._utc, naive) - 1
        if index < 0:
            return (naive + self._default).replace(tzinfo=self)
        found = self._transitions[index]
        local = naive + found.after
        # The second instance of a repeated wall-clock hour (offset went down) is fold=1.
        fold = 1 if found.after < found.before and local < found.utc + found.before else 0
        return local.replace(tzinfo=self, fold=fold)

    def sample(self, instants: list[datetime]) -> tuple[timedelta, ...]:
        """The offsets at naive UTC `instants` (for matching against IANA zones)."""
        offsets = []
        for instant in instants:
            index = bisect_right(self._utc, instant) - 1
            offsets.append(self._transitions[index].after if index >= 0 else self._default)
        return tuple(offsets)

    @property
    def transitions(self) -> list[datetime]:
        return list(self._utc)


def _rule_of(parts: dict[str, object], offset_from: timedelta) -> dict[str, Any]:
    """A JSCalendar RecurrenceRule for an observance's RRULE parts (UNTIL is UTC in a VTIMEZONE, §3.6.5)."""
    rule: dict[str, Any] = {"frequency": str(parts["FREQ"]).lower()}
    names = {"INTERVAL": "interval", "COUNT": "count", "BYMONTHDAY": "byMonthDay", "BYYEARDAY": "byYearDay",
             "BYWEEKNO": "byWeekNo", "BYHOUR": "byHour", "BYMINUTE": "byMinute", "BYSECOND": "bySecond",
             "BYSETPOS": "bySetPosition"}
    for part, key in names.items():
        if part in parts:
            rule[key] = parts[part]
    if "BYMONTH" in parts:
        rule["byMonth"] = parts["BYMONTH"]
    if "WKST" in parts:
        rule["firstDayOfWeek"] = str(parts["WKST"]).lower()
    by_day = parts.get("BYDAY")
    if isinstance(by_day, list):
        rule["byDay"] = [{"day": day.lower(), **({"nthOfPeriod": nth} if nth is not None else {})}
                         for nth, day in by_day]
    until = parts.get("UNTIL")
    if isinstance(until, IcalTime):
        value = until.value if isinstance(until.value, datetime) else datetime.combine(until.value, datetime.min.time())
        if until.utc:
            value = value + offset_from
        rule["until"] = local_format(value)
    return rule


def _observance(component: IcalComponent, problems: list[str], budget: Budget) -> list[_Transition]:
    where = f"VTIMEZONE {component.name}"
    offsets = []
    for name in ("TZOFFSETFROM", "TZOFFSETTO"):
        prop = component.first(name)
        value, problem = utc_offset_parse(prop.value) if prop is not None else (None, f"{where} has no {name}")
        if value is None:
            problems.append(problem or f"{where} {name} is invalid")
            return []
        offsets.append(value)
    offset_from, offset_to = offsets
    start_prop = component.first("DTSTART")
    start, problem = date_time_parse(start_prop.value) if start_prop is not None else (None, None)
    if start is None or not isinstance(start.value, datetime):
        problems.append(f"{where} DTSTART: {problem or 'missing or not a DATE-TIME'}")
        return []
    name_prop = component.first("TZNAME")
    tz_name = name_prop.value if name_prop is not None else None
    is_dst = component.name == "DAYLIGHT"
    onsets: list[datetime] = [start.value]
    for rrule in component.all("RRULE"):
        parts, rule_problems = recur_parse(rrule.value)
        problems.extend(f"{where}: {text}" for text in rule_problems)
        if parts is None:
            continue
        rule, read_problems = rule_read(_rule_of(parts, offset_from), start=start.value)
        problems.extend(f"{where}: {text}" for text in read_problems)
        if rule is None:
            continue
        # Offsets before 1900 matter to nobody's calendar (Outlook starts its rules in 1601): skip to then.
        lower = max(start.value, datetime(1900, 1, 1))
        try:
            for onset in rule_starts(rule, start=start.value, lower=lower, budget=budget, include_start=False):
                if onset.year >= HORIZON_YEAR or len(onsets) > _MAX_TRANSITIONS:
                    break
                onsets.append(onset)
        except BudgetExhausted:
            problems.append(f"{where}: its RRULE was expanded only partly (too many transitions)")
    for rdate in component.all("RDATE"):
        values, rdate_problems = times_parse(rdate)
        problems.extend(f"{where} RDATE: {text}" for text in rdate_problems)
        for item in values:
            moment = item.start if isinstance(item, IcalPeriod) else item
            if isinstance(moment.value, datetime):
                onsets.append(moment.value - offset_from if moment.utc else moment.value)
    return [_Transition(utc=onset - offset_from, before=offset_from, after=offset_to, name=tz_name, is_dst=is_dst)
            for onset in sorted(set(onsets))]


def _fingerprint(component: IcalComponent) -> tuple[object, ...]:
    return (component.name, tuple((prop.name, prop.value, tuple((param.name, tuple(param.values))
                                                                 for param in prop.params))
                                  for prop in component.properties),
            tuple(_fingerprint(child) for child in component.components))


_BUILT: dict[tuple[object, ...], tuple[VTimezone | None, tuple[str, ...]]] = {}


def vtimezone_zone(component: IcalComponent, *, problems: list[str] | None = None) -> VTimezone | None:
    """The tzinfo a VTIMEZONE describes, or None when it has no usable observance
    (what went wrong is appended to `problems`). The same VTIMEZONE text comes
    in every object a client writes, so built zones are kept (a few hundred)."""
    key = _fingerprint(component)
    cached = _BUILT.get(key)
    if cached is None:
        built_problems: list[str] = []
        cached = (_vtimezone_build(component, built_problems), tuple(built_problems))
        if len(_BUILT) >= 256:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = cached
    if problems is not None:
        problems.extend(cached[1])
    return cached[0]


def _vtimezone_build(component: IcalComponent, problems: list[str]) -> VTimezone | None:
    tzid_prop = component.first("TZID")
    tzid = tzid_prop.value if tzid_prop is not None else ""
    budget = Budget(200_000)
    transitions: list[_Transition] = []
    for child in component.components:
        if child.name in ("STANDARD", "DAYLIGHT"):
            transitions.extend(_observance(child, problems, budget))
    if not transitions:
        problems.append(f"VTIMEZONE {tzid} has no usable STANDARD or DAYLIGHT observance")
        return None
    transitions.sort(key=lambda item: item.utc)
    deduped: list[_Transition] = []
    for item in transitions:
        if deduped and deduped[-1].utc == item.utc:
            deduped[-1] = item
        else:
            deduped.append(item)
    first = deduped[0]
    return VTimezone(tzid, deduped[:_MAX_TRANSITIONS * 2], default=first.before, default_name=None)


# --- names ------------------------------------------------------------------------------------------------------

def _iana(name: str) -> str | None:
    if not name or len(name) > 128 or name.startswith("/") or ".." in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


@lru_cache(maxsize=1)
def _city_index() -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for zone in sorted(available_timezones()):
        city = zone.rsplit("/", 1)[-1].replace("_", " ").lower()
        index.setdefault(city, []).append(zone)
    return index


def _offsets_in(zone: str) -> set[timedelta]:
    info = ZoneInfo(zone)
    offsets = set()
    for month in (1, 7):
        offset = datetime(2025, month, 15, 12, tzinfo=UTC).astimezone(info).utcoffset()
        if offset is not None:
            offsets.add(offset)
    return offsets


def _display_split(tzid: str) -> tuple[timedelta, str] | None:
    """(offset, the rest) of "(UTC+01:00) Amsterdam, …" — also "(GMT)", "(UTC-3.30)"
    — or None when `tzid` is not in that form. A scan, not a regex: the blanks
    between the parts made the pattern's matching time polynomial in them."""
    text = tzid.strip()
    close = text.find(")")
    if not text.startswith("(") or close < 0:
        return None
    inner, rest = text[1:close].strip(), text[close + 1:].strip()
    if inner[:3].upper() not in ("UTC", "GMT"):
        return None
    spec = inner[3:].strip()
    if not spec:
        return timedelta(0), rest
    if spec[0] not in "+-":
        return None
    hours, separator, minutes = spec[1:].strip().replace(".", ":").partition(":")
    if not (hours.isascii() and hours.isdigit() and len(hours) <= 2):
        return None
    if separator and not (minutes.isascii() and minutes.isdigit() and len(minutes) == 2):
        return None
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return (-offset if spec[0] == "-" else offset), rest


def _display_name(tzid: str) -> str | None:
    """An IANA id for a Windows display name "(UTC+01:00) Amsterdam, Berlin, …"."""
    split = _display_split(tzid)
    if split is None:
        return None
    offset, rest = split
    if rest.lower().startswith(("greenwich mean time", "gmt")) and ":" in rest:
        rest = rest.split(":", 1)[1]
    region = _DISPLAY_REGIONS.get(rest.lower())
    if region is not None:
        return region
    found: list[str] = []
    for place in re.split(r"[,/;]| - ", rest):
        key = place.strip().rstrip(".").lower()
        if not key:
            continue
        if key in _DISPLAY_REGIONS:
            found.append(_DISPLAY_REGIONS[key])
        found.extend(_city_index().get(key, []))
    if not found:
        return "Etc/UTC" if not rest and offset == timedelta(0) else None
    fitting = [zone for zone in found if offset in _offsets_in(zone)] or found
    canonical = [zone for zone in fitting if zone in _CANONICAL]
    return (canonical or fitting)[0]


def _known_name(tzid: str) -> str | None:
    """The IANA id a TZID stands for by its name alone, or None."""
    name = tzid.strip().strip('"')
    if name.lower() in UTC_NAMES:
        return "Etc/UTC"
    direct = _iana(name)
    if direct is not None:
        return direct
    windows = _WINDOWS_LOWER.get(name.lower())
    if windows is not None:
        return windows
    if name.startswith("("):
        return _display_name(name)
    if "/" in name:
        # Vendor prefixes: the IANA id is the last two or three path segments.
        segments = [segment for segment in name.split("/") if segment]
        for size in (3, 2):
            if len(segments) >= size:
                candidate = _iana("/".join(segments[-size:]))
                if candidate is not None:
                    return candidate
    return None


def _vtimezone_of(tzid: str, vtimezones: dict[str, IcalComponent]) -> IcalComponent | None:
    found = vtimezones.get(tzid)
    if found is None:
        lower = tzid.lower()
        found = next((component for key, component in vtimezones.items() if key.lower() == lower), None)
    return found


def tz_resolve(tzid: str, *, vtimezones: dict[str, IcalComponent]) -> tzinfo | None:
    """The tzinfo for TZID `tzid`: an IANA id, a Microsoft id or display name,
    a prefixed IANA id, else the tzinfo built from the object's VTIMEZONE of
    that TZID (`vtimezones`, keyed by TZID); None when nothing explains it."""
    if not isinstance(tzid, str) or not tzid.strip():
        return None
    known = _known_name(tzid)
    if known is not None:
        return UTC if known == "Etc/UTC" else ZoneInfo(known)
    component = _vtimezone_of(tzid, vtimezones)
    if component is None:
        return None
    location = component.first("X-LIC-LOCATION")
    if location is not None and _known_name(location.value) is not None:
        return ZoneInfo(_known_name(location.value) or "Etc/UTC")
    return vtimezone_zone(component)


def _samples(zone: VTimezone) -> list[datetime]:
    """Instants to compare a VTIMEZONE with IANA zones: mid-January and mid-July
    and an hour either side of every transition, in recent years (or, for a zone
    whose transitions ended, in the last years it has)."""
    now_year = datetime.now(UTC).year
    years = list(range(now_year - 2, now_year + 3))
    recent = [moment for moment in zone.transitions if moment.year in years]
    if not recent and zone.transitions:
        last_year = zone.transitions[-1].year
        years = list(range(max(last_year - 3, 1900), last_year + 1))
        recent = [moment for moment in zone.transitions if moment.year in years]
    instants = [datetime(year, month, 15, 12) for year in years for month in (1, 7)]
    for moment in recent:
        instants.extend((moment - timedelta(hours=1), moment + timedelta(hours=1)))
    return sorted(instants)


@lru_cache(maxsize=256)
def _best_match(signature: tuple[tuple[datetime, timedelta], ...]) -> str | None:
    instants = [instant for instant, _ in signature]
    wanted = [offset for _, offset in signature]
    january_july = [index for index, instant in enumerate(instants) if instant.day == 15 and instant.hour == 12]
    candidates = sorted(_CANONICAL) + sorted(zone for zone in available_timezones() if zone not in _CANONICAL
                                             and not zone.startswith(("posix/", "right/")))
    loose: str | None = None
    exact: list[tuple[str, ZoneInfo]] = []
    for name in candidates:
        try:
            info = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
        offsets = [instant.replace(tzinfo=UTC).astimezone(info).utcoffset() for instant in instants]
        if offsets == wanted:
            exact.append((name, info))
        elif loose is None and all(offsets[i] == wanted[i] for i in january_july):
            loose = name
    if not exact:
        return loose
    # Several zones share today's rules (America/New_York and America/Indianapolis): a zone CLDR maps a
    # Windows id to, then the one that kept these winter and summer offsets longest since 1990, then the
    # first name (so a central European VTIMEZONE reads as Europe/Berlin, not Europe/Malta).
    winter, summer = wanted[january_july[0]], wanted[january_july[1]] if len(january_july) > 1 else wanted[0]
    history = [(datetime(year, 1, 15, 12), datetime(year, 7, 15, 12)) for year in range(1990, instants[0].year)]

    def kept(info: ZoneInfo) -> int:
        return sum(1 for january, july in history
                   if january.replace(tzinfo=UTC).astimezone(info).utcoffset() == winter
                   and july.replace(tzinfo=UTC).astimezone(info).utcoffset() == summer)

    best = max(exact, key=lambda item: (item[0] in _CANONICAL, kept(item[1]), [-ord(c) for c in item[0]]))
    return best[0]


def tz_iana_name(tzid: str, *, vtimezones: dict[str, IcalComponent]) -> str | None:
    """The IANA id for TZID `tzid` (for JSCalendar's timeZone, RFC 8984 §4.7.1):
    by name as in tz_resolve, else the VTIMEZONE's X-LIC-LOCATION, else the
    IANA zone whose offsets agree with the VTIMEZONE's in recent years
    (exactly, transitions included; failing that, in January and July);
    None when nothing fits."""
    if not isinstance(tzid, str) or not tzid.strip():
        return None
    known = _known_name(tzid)
    if known is not None:
        return known
    component = _vtimezone_of(tzid, vtimezones)
    if component is None:
        return None
    location = component.first("X-LIC-LOCATION")
    if location is not None:
        located = _known_name(location.value)
        if located is not None:
            return located
    zone = vtimezone_zone(component)
    if zone is None:
        return None
    instants = _samples(zone)
    return _best_match(tuple(zip(instants, zone.sample(instants), strict=True)))
