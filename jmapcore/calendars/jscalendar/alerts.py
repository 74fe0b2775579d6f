"""VALARM ↔ alerts (RFC 8984 §4.5.2; RFC 5545 §3.6.6; RFC 9074 for UID and
ACKNOWLEDGED; draft-ietf-calext-jscalendar-icalendar-30 "alerts").

TRIGGER with a duration (RELATED=START or END) is an OffsetTrigger, TRIGGER
with VALUE=DATE-TIME an AbsoluteTrigger; ACTION DISPLAY or EMAIL is the
alert's action; ACKNOWLEDGED its acknowledged time. Everything else in the
VALARM (DESCRIPTION, SUMMARY, REPEAT/DURATION, an AUDIO action, X- lines)
stays in the alert's iCalComponent and is written back. Each alert is one
slot: an unchanged alert keeps its VALARM byte for byte.
"""
from __future__ import annotations

import re
from typing import Any

from jmapcore.calendars.jscalendar.context import ReadContext, WriteContext, as_map, id_valid
from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalParam, IcalProperty
from jmapcore.calendars.jscalendar.ical_syntax import text_escape, text_unescape
from jmapcore.calendars.jscalendar.ical_values import date_time_parse
from jmapcore.calendars.jscalendar.ical_values import duration_parse as ical_duration_parse
from jmapcore.calendars.jscalendar.preservation import component_from, property_from, property_object
from jmapcore.calendars.jscalendar.times import (
    duration_format,
    duration_parse,
    ical_date_time,
    naive,
    utc_format,
    utc_parse,
)

_POSITIONAL = re.compile(r"a[0-9]+")
ACTIONS = {"DISPLAY": "display", "EMAIL": "email"}


def _trigger(prop: IcalProperty) -> dict[str, Any] | None:
    value_type = (prop.param_first("VALUE") or "DURATION").upper()
    if value_type == "DATE-TIME":
        moment, _problem = date_time_parse(prop.value)
        if moment is None or not moment.utc:
            return None
        return {"@type": "AbsoluteTrigger", "when": utc_format(naive(moment))}
    length, _problem = ical_duration_parse(prop.value)
    if length is None or value_type != "DURATION":
        return None
    related = (prop.param_first("RELATED") or "START").upper()
    if related not in ("START", "END"):
        return None
    trigger: dict[str, Any] = {"@type": "OffsetTrigger", "offset": duration_format(length.timedelta(), signed=True)}
    if related == "END":
        trigger["relativeTo"] = "end"
    return trigger


def read_alarm(ctx: ReadContext, index: int, component: IcalComponent) -> bool:
    """One VALARM → one alert; False (kept as it is) when it has no usable TRIGGER."""
    alert: dict[str, Any] = {"@type": "Alert"}
    kept: list[dict[str, Any]] = []
    uid = ""
    for prop in component.properties:
        known = set(param.name for param in prop.params)
        if prop.name == "TRIGGER" and "trigger" not in alert and known <= {"VALUE", "RELATED"}:
            trigger = _trigger(prop)
            if trigger is not None:
                alert["trigger"] = trigger
                continue
        elif prop.name == "ACTION" and "action" not in alert and not prop.params \
                and prop.value.strip().upper() in ACTIONS:
            alert["action"] = ACTIONS[prop.value.strip().upper()]
            continue
        elif prop.name == "ACKNOWLEDGED" and "acknowledged" not in alert and not prop.params:
            moment, _problem = date_time_parse(prop.value)
            if moment is not None and moment.utc:
                alert["acknowledged"] = utc_format(naive(moment))
                continue
        elif prop.name == "DESCRIPTION" and not prop.params and "described" not in alert \
                and text_unescape(prop.value) == str(ctx.event.get("title") or "Reminder"):
            # The text a DISPLAY alarm must have (RFC 5545 §3.6.6), as event_write makes it: not
            # kept, so that it follows the title. Any other text is the client's and is kept.
            alert["described"] = True
            continue
        elif prop.name == "UID" and not uid and not prop.params:
            uid = prop.value.strip()
        kept.append(property_object(prop))
    alert.pop("described", None)
    if "trigger" not in alert:
        ctx.problem("a VALARM without a usable TRIGGER is kept as it is")
        return False
    if kept or component.components:
        extra: dict[str, Any] = {"@type": "ICalComponent", "name": "valarm"}
        if kept:
            extra["properties"] = kept
        if component.components:
            from jmapcore.calendars.jscalendar.preservation import component_object

            extra["components"] = [component_object(sub) for sub in component.components]
        alert["iCalComponent"] = extra
    alert_id = ctx.next_id("alerts", "a", uid if id_valid(uid) else None)
    ctx.event.setdefault("alerts", {})[alert_id] = alert
    ctx.component_slot_of[index] = ("alerts", alert_id)
    return True


def title_described(alert: Any) -> bool:
    """Whether the VALARM of `alert` says the event's title as its DESCRIPTION (a display
    alert without a DESCRIPTION of its own in iCalComponent)."""
    if not isinstance(alert, dict) or alert.get("action", "display") != "display":
        return False
    kept = as_map(alert.get("iCalComponent")).get("properties")
    return not any(isinstance(entry, dict) and str(entry.get("name", "")).upper() in ("DESCRIPTION", "ACTION")
                   for entry in (kept if isinstance(kept, list) else []))


def alarm_component(alert: dict[str, Any], event: dict[str, Any]) -> IcalComponent:
    """The VALARM of one (validated) alert."""
    props: list[IcalProperty] = []
    kept = as_map(alert.get("iCalComponent"))
    kept_props = [p for p in (property_from(e) for e in (kept.get("properties") or [])) if p is not None]
    kept_names = {prop.name for prop in kept_props}
    trigger = alert["trigger"]
    if trigger.get("@type") == "AbsoluteTrigger" or ("@type" not in trigger and "when" in trigger):
        moment = utc_parse(trigger.get("when"))
        assert moment is not None
        props.append(IcalProperty(name="TRIGGER", value=ical_date_time(moment.replace(tzinfo=None), utc=True),
                                  params=[IcalParam(name="VALUE", values=["DATE-TIME"])]))
    else:
        offset = duration_parse(trigger.get("offset", "PT0S"))
        params = [IcalParam(name="RELATED", values=["END"])] if trigger.get("relativeTo") == "end" else []
        props.append(IcalProperty(name="TRIGGER", value=duration_format(offset or duration_parse("PT0S"),  # type: ignore[arg-type]
                                                                         signed=True), params=params))
    if "ACTION" not in kept_names:
        props.append(IcalProperty(name="ACTION", value=str(alert.get("action", "display")).upper()))
    if "DESCRIPTION" not in kept_names and alert.get("action", "display") == "display":
        # RFC 5545 §3.6.6: a DISPLAY alarm has a DESCRIPTION; the event's title says what it is about.
        props.append(IcalProperty(name="DESCRIPTION", value=text_escape(str(event.get("title") or "Reminder"))))
    if isinstance(alert.get("acknowledged"), str):
        moment = utc_parse(alert["acknowledged"])
        if moment is not None:
            props.append(IcalProperty(name="ACKNOWLEDGED", value=ical_date_time(moment.replace(tzinfo=None), utc=True)))
    props.extend(kept_props)
    subs = [c for c in (component_from(e) for e in (kept.get("components") or [])) if c is not None]
    return IcalComponent(name="VALARM", properties=props, components=subs)


def write_alerts(ctx: WriteContext, event: dict[str, Any]) -> None:
    alerts = event.get("alerts")
    if not isinstance(alerts, dict):
        return
    for alert_id, alert in alerts.items():
        if isinstance(alert, dict) and isinstance(alert.get("trigger"), dict):
            component = alarm_component(alert, event)
            if id_valid(alert_id) and not _POSITIONAL.fullmatch(alert_id) \
                    and "UID" not in {p.name for p in component.properties}:
                # A client's own alert id is kept as the VALARM's UID (RFC 9074 §4) so it reads back the same.
                component.properties.insert(0, IcalProperty(name="UID", value=alert_id))
            ctx.emit_component(("alerts", alert_id), component)
