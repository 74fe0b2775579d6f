"""Validators of the Calendar properties a client may set
(draft-ietf-jmap-calendars-33 §4): each takes the client's JSON value and
returns the stored form, or raises InvalidValue, which /set reports as
invalidProperties naming the property.
"""
from __future__ import annotations

import re
import zoneinfo
from typing import Any

from jmapcore.datatypes.values import InvalidValue, xml_text_check
from jmapcore.protocol.arguments import is_id

__all__ = [
    "INCLUDE_IN_AVAILABILITY",
    "alerts_validate",
    "color_validate",
    "description_validate",
    "include_in_availability_validate",
    "name_validate",
    "share_with_validate",
    "time_zone_validate",
]

# The name is at most 255 octets of UTF-8, as for every JMAP collection name.
MAX_NAME_OCTETS = 255
# Free text; the bound keeps a PROPPATCH a reasonable size.
MAX_DESCRIPTION = 10000
# A CSS color value (draft-33 §4 color): names, #hex, rgb()/hsl() forms all fit.
MAX_COLOR = 64
_COLOR = re.compile(r"[A-Za-z0-9#(),.%/ +-]+")
INCLUDE_IN_AVAILABILITY = ("all", "attending", "none")
# Default alerts per calendar: a client shows a handful; more is abuse.
MAX_ALERTS = 32
# RFC 8984 §1.4.7 SignedDuration and §1.4.3 UTCDateTime, in the forms JSCalendar allows.
_SIGNED_DURATION = re.compile(r"[+-]?P(?:\d{1,8}W)?(?:\d{1,8}D)?(?:T(?=\d)(?:\d{1,8}H)?(?:\d{1,8}M)?(?:\d{1,8}S)?)?")
_UTC_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z")
_ALERT_KEYS = frozenset({"@type", "trigger", "acknowledged", "relatedTo", "action"})


def _no_controls(value: str) -> bool:
    return not any(ord(char) < 0x20 or ord(char) == 0x7F for char in value)


def name_validate(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue("must be a non-empty String")
    if len(value.encode()) > MAX_NAME_OCTETS:
        raise InvalidValue(f"must be at most {MAX_NAME_OCTETS} octets")
    if not _no_controls(value):
        raise InvalidValue("must not contain control characters")
    return value


def description_validate(value: Any) -> str:
    """description: String|null; null is stored as ''."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidValue("must be a String or null")
    if len(value) > MAX_DESCRIPTION:
        raise InvalidValue(f"must be at most {MAX_DESCRIPTION} characters")
    return xml_text_check(value)


def color_validate(value: Any) -> str:
    """color: String|null, a CSS color value; null is stored as ''. Only the
    characters CSS color syntax uses are let through, since the value is
    written into the collection's XML (Apple calendar-color)."""
    if value is None:
        return ""
    if not isinstance(value, str) or not value:
        raise InvalidValue("must be a CSS color String or null")
    if len(value) > MAX_COLOR or not _COLOR.fullmatch(value):
        raise InvalidValue("must be a CSS color value")
    return value


def include_in_availability_validate(value: Any) -> str:
    if value not in INCLUDE_IN_AVAILABILITY:
        raise InvalidValue("must be one of " + ", ".join(f'"{item}"' for item in INCLUDE_IN_AVAILABILITY))
    return str(value)


def time_zone_validate(value: Any) -> str:
    """timeZone: String|null, an IANA time zone id (draft-33 §4); null is stored as ''."""
    if value is None:
        return ""
    if not isinstance(value, str) or not value or len(value) > 255:
        raise InvalidValue("must be an IANA time zone id or null")
    if value not in zoneinfo.available_timezones():
        raise InvalidValue(f"{value!r} is not an IANA time zone id")
    return value


def _trigger_check(trigger: Any) -> None:
    if not isinstance(trigger, dict):
        raise InvalidValue("an Alert's trigger must be an object")
    kind = trigger.get("@type")
    if kind == "OffsetTrigger":
        if set(trigger) - {"@type", "offset", "relativeTo"}:
            raise InvalidValue("an OffsetTrigger has only offset and relativeTo")
        offset = trigger.get("offset")
        if not isinstance(offset, str) or not _SIGNED_DURATION.fullmatch(offset) or offset.rstrip("T").endswith("P"):
            raise InvalidValue("an OffsetTrigger's offset must be a SignedDuration")
        if trigger.get("relativeTo", "start") not in ("start", "end"):
            raise InvalidValue('an OffsetTrigger\'s relativeTo must be "start" or "end"')
    elif kind == "AbsoluteTrigger":
        if set(trigger) - {"@type", "when"}:
            raise InvalidValue("an AbsoluteTrigger has only when")
        when = trigger.get("when")
        if not isinstance(when, str) or not _UTC_DATE_TIME.fullmatch(when):
            raise InvalidValue("an AbsoluteTrigger's when must be a UTCDateTime")
    else:
        raise InvalidValue('an Alert\'s trigger @type must be "OffsetTrigger" or "AbsoluteTrigger"')


def alerts_validate(value: Any) -> dict[str, Any] | None:
    """defaultAlertsWithTime / defaultAlertsWithoutTime: Id[Alert]|null (draft-33
    §4; Alert as RFC 8984 §4.5.2). The alerts are kept as given; an "@type"
    left out is added, as RFC 8984 lets a client omit it."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidValue("must be a map of Ids to Alert objects, or null")
    if len(value) > MAX_ALERTS:
        raise InvalidValue(f"at most {MAX_ALERTS} alerts")
    stored: dict[str, Any] = {}
    for key, alert in value.items():
        if not is_id(key):
            raise InvalidValue("keys must be Ids")
        if not isinstance(alert, dict) or alert.get("@type", "Alert") != "Alert":
            raise InvalidValue("values must be Alert objects")
        unknown = set(alert) - _ALERT_KEYS
        if unknown:
            raise InvalidValue("unknown Alert properties: " + ", ".join(sorted(map(str, unknown))))
        _trigger_check(alert.get("trigger"))
        if alert.get("action", "display") not in ("display", "email"):
            raise InvalidValue('an Alert\'s action must be "display" or "email"')
        acknowledged = alert.get("acknowledged")
        if acknowledged is not None and not (isinstance(acknowledged, str) and _UTC_DATE_TIME.fullmatch(acknowledged)):
            raise InvalidValue("an Alert's acknowledged must be a UTCDateTime")
        if "relatedTo" in alert and alert["relatedTo"] is not None and not isinstance(alert["relatedTo"], dict):
            raise InvalidValue("an Alert's relatedTo must be an object")
        stored[key] = {"@type": "Alert", **alert}
    return stored


def share_with_validate(value: Any) -> dict[str, Any]:
    """shareWith: Id[CalendarRights]|null; null is stored as {}. Whether it
    may be set at all is decided by the type (mayShare)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(is_id(key) and isinstance(rights, dict) for key, rights in value.items()):
        raise InvalidValue("must be a map of principal Ids to CalendarRights, or null")
    return value
