"""The checks event_write makes before it writes (RFC 8984 §4-5 types and
values): every property of the wrong type is named, so that CalendarEvent/set
can answer invalidProperties with all of them at once (RFC 8620 §5.3).
"""
from __future__ import annotations

from typing import Any

from jmapcore.calendars.jscalendar.recurrence_map import DAYS, FREQUENCIES
from jmapcore.calendars.jscalendar.times import duration_valid, local_parse, utc_parse, zone_get

STATUS = ("confirmed", "cancelled", "tentative")
PRIVACY = ("public", "private", "secret")
FREE_BUSY = ("free", "busy")
MAPS = ("locations", "virtualLocations", "links", "participants", "alerts", "relatedTo", "replyTo")
INT_MEMBERS = {"byMonthDay": (-31, 31), "byYearDay": (-366, 366), "byWeekNo": (-53, 53), "byHour": (0, 23),
               "byMinute": (0, 59), "bySecond": (0, 60), "bySetPosition": (-366, 366)}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_clean(value: str) -> bool:
    """No control character but tab and line breaks (they would break a content line)."""
    return all(char in "\t\r\n" or ord(char) >= 32 for char in value) and "\x7f" not in value


def rule_problems(rule: Any, path: str) -> list[str]:
    if not isinstance(rule, dict) or rule.get("frequency") not in FREQUENCIES:
        return [path if not isinstance(rule, dict) else f"{path}/frequency"]
    bad: list[str] = []
    for key in ("interval", "count"):
        if key in rule and not (_is_int(rule[key]) and rule[key] >= 1):
            bad.append(f"{path}/{key}")
    if "until" in rule and local_parse(rule["until"]) is None:
        bad.append(f"{path}/until")
    if "count" in rule and "until" in rule:
        bad.append(f"{path}/until")
    if "firstDayOfWeek" in rule and rule["firstDayOfWeek"] not in DAYS:
        bad.append(f"{path}/firstDayOfWeek")
    for key in ("rscale", "skip"):
        if key in rule and not (isinstance(rule[key], str) and rule[key].replace("-", "").isalnum()):
            bad.append(f"{path}/{key}")
    days = rule.get("byDay", [])
    if not isinstance(days, list) or any(
            not isinstance(d, dict) or d.get("day") not in DAYS
            or ("nthOfPeriod" in d and not (_is_int(d["nthOfPeriod"]) and d["nthOfPeriod"] != 0)) for d in days):
        bad.append(f"{path}/byDay")
    months = rule.get("byMonth", [])
    if not isinstance(months, list) or any(not isinstance(m, str) or not m.rstrip("L").isdigit() for m in months):
        bad.append(f"{path}/byMonth")
    for key, (low, high) in INT_MEMBERS.items():
        items = rule.get(key, [])
        if not isinstance(items, list) or any(not _is_int(i) or not low <= i <= high or (i == 0 and low < 0)
                                              for i in items):
            bad.append(f"{path}/{key}")
    return bad


def alert_problems(alert: Any, path: str) -> list[str]:
    if not isinstance(alert, dict):
        return [path]
    bad: list[str] = []
    trigger = alert.get("trigger")
    if not isinstance(trigger, dict):
        bad.append(f"{path}/trigger")
    elif trigger.get("@type") == "AbsoluteTrigger" or ("@type" not in trigger and "when" in trigger):
        if utc_parse(trigger.get("when")) is None:
            bad.append(f"{path}/trigger/when")
    elif trigger.get("@type") in ("OffsetTrigger", None):
        if not duration_valid(trigger.get("offset"), signed=True):
            bad.append(f"{path}/trigger/offset")
        if trigger.get("relativeTo", "start") not in ("start", "end"):
            bad.append(f"{path}/trigger/relativeTo")
    else:
        bad.append(f"{path}/trigger/@type")
    if alert.get("action", "display") not in ("display", "email"):
        bad.append(f"{path}/action")
    if "acknowledged" in alert and utc_parse(alert["acknowledged"]) is None:
        bad.append(f"{path}/acknowledged")
    return bad


def event_validate(event: Any, *, new: bool = True) -> list[str]:
    """The paths of every invalid property of a JSCalendar Event; [] when it can be written.

    A `new` event (no previous object) needs a start; an event read from a
    broken object may lack one, and its unreadable DTSTART is written back."""
    if not isinstance(event, dict):
        return [""]
    bad: list[str] = []
    # A UID read from an object is written back as it was; a new one must be clean text.
    if not (isinstance(event.get("uid"), str) and event["uid"].strip()
            and (not new or (_text_clean(event["uid"]) and "\n" not in event["uid"]))):
        bad.append("uid")
    for key in ("title", "description", "color", "locale"):
        # Control characters are dropped when the line is written (properties.text_clean).
        if key in event and event[key] is not None and not isinstance(event[key], str):
            bad.append(key)
    if local_parse(event.get("start")) is None and (new or "start" in event):
        bad.append("start")
    zone = event.get("timeZone")
    if zone is not None and not (isinstance(zone, str) and zone_get(zone) is not None):
        bad.append("timeZone")
    if "duration" in event and not duration_valid(event["duration"]):
        bad.append("duration")
    if "showWithoutTime" in event and not isinstance(event["showWithoutTime"], bool):
        bad.append("showWithoutTime")
    for key, allowed in (("status", STATUS), ("privacy", PRIVACY), ("freeBusyStatus", FREE_BUSY)):
        if key in event and event[key] not in allowed:
            bad.append(key)
    if "priority" in event and not (_is_int(event["priority"]) and 0 <= event["priority"] <= 9):
        bad.append("priority")
    if "sequence" in event and not (_is_int(event["sequence"]) and event["sequence"] >= 0):
        bad.append("sequence")
    for key in ("created", "updated"):
        if key in event and event[key] is not None and utc_parse(event[key]) is None:
            bad.append(key)
    keywords = event.get("keywords")
    if keywords is not None and not (isinstance(keywords, dict)
                                     and all(v is True and _text_clean(k) for k, v in keywords.items())):
        bad.append("keywords")
    for key in ("recurrenceRules", "excludedRecurrenceRules"):
        rules = event.get(key)
        if rules is None:
            continue
        if not isinstance(rules, list):
            bad.append(key)
            continue
        for position, rule in enumerate(rules):
            bad += rule_problems(rule, f"{key}/{position}")
    overrides = event.get("recurrenceOverrides")
    if overrides is not None:
        if not isinstance(overrides, dict):
            bad.append("recurrenceOverrides")
        else:
            for key, patch in overrides.items():
                if local_parse(key) is None or not isinstance(patch, dict):
                    bad.append(f"recurrenceOverrides/{key}")
    for key in MAPS:
        value = event.get(key)
        if value is not None and not (isinstance(value, dict) and all(isinstance(v, (dict, str, bool))
                                                                      for v in value.values())):
            bad.append(key)
    alerts = event.get("alerts")
    if isinstance(alerts, dict):
        for alert_id, alert in alerts.items():
            bad += alert_problems(alert, f"alerts/{alert_id}")
    for key, member in (("virtualLocations", "uri"), ("links", "href")):
        entries = event.get(key)
        if isinstance(entries, dict):
            bad += [f"{key}/{entry_id}/{member}" for entry_id, entry in entries.items()
                    if not (isinstance(entry, dict) and isinstance(entry.get(member), str) and entry[member]
                            and _text_clean(entry[member]) and "\n" not in entry[member])]
    participants = event.get("participants")
    if isinstance(participants, dict):
        for pid, entry in participants.items():
            if not isinstance(entry, dict):
                bad.append(f"participants/{pid}")
                continue
            for key in ("name", "email", "participationStatus", "kind", "language"):
                if key in entry and not (isinstance(entry[key], str) and _text_clean(entry[key])):
                    bad.append(f"participants/{pid}/{key}")
            if "sendTo" in entry and not (isinstance(entry["sendTo"], dict)
                                          and all(isinstance(v, str) for v in entry["sendTo"].values())):
                bad.append(f"participants/{pid}/sendTo")
            if "roles" in entry and not isinstance(entry["roles"], dict):
                bad.append(f"participants/{pid}/roles")
    if "iCalComponent" in event and not isinstance(event["iCalComponent"], dict):
        bad.append("iCalComponent")
    if not bad and isinstance(overrides, dict):
        bad += overrides_validate(event)
    return bad


def overrides_validate(event: dict[str, Any]) -> list[str]:
    """Each override's patch (RFC 8984 §4.3.5): paths it may set, and the occurrence it
    makes checked as an event of its own (its errors prefixed with the override's path)."""
    from jmapcore.calendars.jscalendar.convert_read import NOT_PATCHED
    from jmapcore.calendars.jscalendar.convert_write import instance_event

    bad: list[str] = []
    for key, patch in event["recurrenceOverrides"].items():
        if patch.get("excluded") is True:
            continue
        where = f"recurrenceOverrides/{key}"
        paths = [path for path in patch if not (isinstance(path, str) and path and not path.startswith("/")
                                                and not path.endswith("/") and path.split("/")[0] not in NOT_PATCHED)]
        if paths:
            bad += [f"{where}/{path}" for path in paths]
            continue
        try:
            instance = instance_event(event, key, patch)
        except (TypeError, ValueError, AttributeError):
            bad.append(where)
            continue
        bad += [f"{where}/{path}" for path in event_validate(instance)]
    return bad
