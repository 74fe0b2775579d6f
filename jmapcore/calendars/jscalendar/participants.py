"""ORGANIZER/ATTENDEE ↔ participants and replyTo (RFC 8984 §4.4; RFC 5545
§3.8.4.1, §3.8.4.3, §3.2; RFC 6638 §7 for the SCHEDULE-* parameters;
RFC 9073 §6.2 EMAIL; draft-ietf-calext-jscalendar-icalendar-30 "participants").

A participant's id is made from its calendar address (a hash, so that it stays
the same when another client reorders or removes attendees, and a JMAP patch
"participants/<id>/participationStatus" keeps addressing the same person). The
organizer is a participant with role "owner" and the event's replyTo; when the
organizer is also an ATTENDEE the two are one participant. A parameter with no
JSCalendar member (X-NUM-GUESTS, …) is kept in the participant's iCalParams
and written back; the organizer's own such parameters, when the organizer also
attends, in iCalOrganizerParams.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from jmapcore.calendars.jscalendar.context import ReadContext, WriteContext, as_map
from jmapcore.calendars.jscalendar.ical_model import IcalParam, IcalProperty

KINDS = {"INDIVIDUAL": "individual", "GROUP": "group", "RESOURCE": "resource", "ROOM": "location",
         "UNKNOWN": "unknown"}
PARTSTAT = {"NEEDS-ACTION": "needs-action", "ACCEPTED": "accepted", "DECLINED": "declined",
            "TENTATIVE": "tentative", "DELEGATED": "delegated"}
ROLES = {"REQ-PARTICIPANT": {"attendee": True}, "OPT-PARTICIPANT": {"attendee": True, "optional": True},
         "NON-PARTICIPANT": {"informational": True}, "CHAIR": {"attendee": True, "chair": True}}
HANDLED = {"CN", "CUTYPE", "ROLE", "PARTSTAT", "RSVP", "DELEGATED-TO", "DELEGATED-FROM", "MEMBER", "SENT-BY",
           "LANGUAGE", "EMAIL", "SCHEDULE-AGENT", "SCHEDULE-FORCE-SEND", "SCHEDULE-STATUS"}
PARAMS_KEY = "iCalParams"


def participant_id(address: str) -> str:
    """A JMAP Id (RFC 8620 §1.2) for a calendar address: the same address always gives the same id."""
    digest = hashlib.sha256(address.strip().lower().encode("utf-8", "surrogatepass")).digest()
    return "p" + base64.b32encode(digest[:10]).decode("ascii").rstrip("=").lower()


def _send_to(address: str) -> dict[str, str]:
    return {"imip": address} if address.lower().startswith("mailto:") else {"other": address}


def _email(address: str) -> str | None:
    return address[7:] if address.lower().startswith("mailto:") else None


def _participant(prop: IcalProperty, *, organizer: bool) -> dict[str, Any]:
    address = prop.value.strip()
    # The first value of each parameter, looked up once (an attendee line has a dozen).
    first: dict[str, str] = {}
    for param in prop.params:
        if param.values and param.name not in first:
            first[param.name] = param.values[0]
    entry: dict[str, Any] = {"@type": "Participant"}
    if first.get("CN"):
        entry["name"] = first["CN"]
    email = first.get("EMAIL") or _email(address)
    if email:
        entry["email"] = email
    entry["sendTo"] = _send_to(address)
    kind = KINDS.get(first.get("CUTYPE", "").upper())
    if kind:
        entry["kind"] = kind
    role = first.get("ROLE", "REQ-PARTICIPANT").upper()
    if organizer:
        entry["roles"] = {"owner": True}
    else:
        entry["roles"] = dict(ROLES.get(role, {"attendee": True}))
        status = PARTSTAT.get(first.get("PARTSTAT", "").upper())
        if status:
            entry["participationStatus"] = status
        rsvp = first.get("RSVP", "").upper()
        if rsvp in ("TRUE", "FALSE"):
            entry["expectReply"] = rsvp == "TRUE"
    if first.get("SENT-BY"):
        entry["sentBy"] = _email(first["SENT-BY"]) or first["SENT-BY"]
    if first.get("LANGUAGE"):
        entry["language"] = first["LANGUAGE"]
    agent = first.get("SCHEDULE-AGENT", "").lower()
    if agent in ("server", "client", "none"):
        entry["scheduleAgent"] = agent
    if first.get("SCHEDULE-FORCE-SEND", "").upper() == "REQUEST" and not organizer:
        entry["scheduleForceSend"] = True
    if "SCHEDULE-STATUS" in first:
        entry["scheduleStatus"] = prop.param("SCHEDULE-STATUS")
    others: dict[str, Any] = {}
    for param in prop.params:
        if param.name not in HANDLED or (param.name == "CUTYPE" and kind is None) \
                or (param.name == "ROLE" and role not in ROLES) \
                or (param.name == "PARTSTAT" and "participationStatus" not in entry and not organizer) \
                or (param.name == "SCHEDULE-AGENT" and "scheduleAgent" not in entry) \
                or (param.name == "SCHEDULE-FORCE-SEND" and "scheduleForceSend" not in entry) \
                or (param.name in ("ROLE", "PARTSTAT", "RSVP") and organizer):
            others[param.name.lower()] = param.values[0] if len(param.values) == 1 else list(param.values)
    if others:
        entry[PARAMS_KEY] = others
    return entry


def read_organizer(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    if "organizer" in ctx.pending or not prop.value.strip():
        return False
    ctx.pending["organizer"] = (index, prop)
    ctx.claim(("replyTo",), index)
    return True


def read_attendee(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    if not prop.value.strip():
        return False
    ctx.pending.setdefault("attendees", []).append((index, prop))
    ctx.claim(("participants", ""), index)          # the participant's id is known in read_finish
    return True


READERS = {"ORGANIZER": read_organizer, "ATTENDEE": read_attendee}


def read_finish(ctx: ReadContext) -> None:
    found: dict[str, dict[str, Any]] = {}
    by_address: dict[str, str] = {}
    links: list[tuple[str, IcalProperty]] = []
    organizer = ctx.pending.pop("organizer", None)
    for index, prop in ctx.pending.pop("attendees", []):
        address = prop.value.strip()
        pid = participant_id(address)
        count = 1
        while pid in found:          # the same address twice: a second participant
            count += 1
            pid = participant_id(address) + str(count)
        found[pid] = _participant(prop, organizer=False)
        ctx.claim(("participants", pid), index)     # each attendee its own slot: one line per change
        by_address.setdefault(address.lower(), pid)
        links.append((pid, prop))
    if organizer is not None:
        _index, prop = organizer
        address = prop.value.strip()
        ctx.event["replyTo"] = _send_to(address)
        found_pid = by_address.get(address.lower())
        owner = _participant(prop, organizer=True)
        if found_pid is not None:
            pid = found_pid
            found[pid]["roles"] = {**found[pid]["roles"], "owner": True}
            for key in ("name", "sentBy", "scheduleAgent", "scheduleStatus", "language"):
                if key in owner and key not in found[pid]:
                    found[pid][key] = owner[key]
            if owner.get(PARAMS_KEY):
                found[pid]["iCalOrganizerParams"] = owner[PARAMS_KEY]
        else:
            pid = participant_id(address)
            found[pid] = owner
            by_address[address.lower()] = pid
    for pid, prop in links:
        for param_name, key in (("DELEGATED-TO", "delegatedTo"), ("DELEGATED-FROM", "delegatedFrom"),
                                ("MEMBER", "memberOf")):
            values = prop.param(param_name)
            if values:
                found[pid][key] = {by_address.get(value.strip().lower()) or participant_id(value): True
                                   for value in values}
                if any(value.strip().lower() not in by_address for value in values):
                    # An address that is not a participant: kept as written.
                    found[pid].setdefault(PARAMS_KEY, {})[f"x-{param_name.lower()}-address"] = list(values)
    if found:
        ctx.event["participants"] = found


# --- writing ----------------------------------------------------------------------------------------------

def _address(entry: dict[str, Any]) -> str | None:
    send_to = entry.get("sendTo")
    if isinstance(send_to, dict):
        for method in ("imip", "other"):
            if isinstance(send_to.get(method), str) and send_to[method]:
                return str(send_to[method])
        for value in send_to.values():
            if isinstance(value, str) and value:
                return value
    if isinstance(entry.get("calendarAddress"), str) and entry["calendarAddress"]:
        return str(entry["calendarAddress"])     # jscalendarbis names it calendarAddress
    if isinstance(entry.get("email"), str) and entry["email"]:
        return "mailto:" + entry["email"]
    return None


def _params(entry: dict[str, Any], participants: dict[str, Any], *, organizer: bool) -> list[IcalParam]:
    params: list[IcalParam] = []
    if isinstance(entry.get("name"), str) and entry["name"]:
        params.append(IcalParam(name="CN", values=[entry["name"]]))
    address = _address(entry) or ""
    email = entry.get("email")
    if isinstance(email, str) and email and email.lower() != (_email(address) or "").lower():
        params.append(IcalParam(name="EMAIL", values=[entry["email"]]))
    if not organizer:
        kind = {value: key for key, value in KINDS.items()}.get(entry.get("kind"))  # type: ignore[arg-type]
        if kind:
            params.append(IcalParam(name="CUTYPE", values=[kind]))
        roles = {role for role, on in (entry.get("roles") or {}).items() if on}
        role = "CHAIR" if "chair" in roles else "OPT-PARTICIPANT" if "optional" in roles else \
            "NON-PARTICIPANT" if "informational" in roles and "attendee" not in roles else "REQ-PARTICIPANT"
        if role != "REQ-PARTICIPANT":       # the default (RFC 5545 §3.2.16) goes without saying
            params.append(IcalParam(name="ROLE", values=[role]))
        status = {value: key for key, value in PARTSTAT.items()}.get(entry.get("participationStatus"))  # type: ignore[arg-type]
        if status:
            params.append(IcalParam(name="PARTSTAT", values=[status]))
        if isinstance(entry.get("expectReply"), bool):
            params.append(IcalParam(name="RSVP", values=["TRUE" if entry["expectReply"] else "FALSE"]))
        extra = as_map(entry.get(PARAMS_KEY))
        for key, param_name in (("delegatedTo", "DELEGATED-TO"), ("delegatedFrom", "DELEGATED-FROM"),
                                ("memberOf", "MEMBER")):
            kept = extra.get(f"x-{param_name.lower()}-address")
            if kept:
                params.append(IcalParam(name=param_name, values=[str(v) for v in kept]))
                continue
            targets = [participants[pid] for pid, on in (entry.get(key) or {}).items()
                       if on and isinstance(participants.get(pid), dict)] if isinstance(entry.get(key), dict) else []
            addresses = [a for a in (_address(t) for t in targets) if a]
            if addresses:
                params.append(IcalParam(name=param_name, values=addresses))
    if isinstance(entry.get("sentBy"), str) and entry["sentBy"]:
        sent_by = entry["sentBy"]
        params.append(IcalParam(name="SENT-BY", values=[sent_by if ":" in sent_by else "mailto:" + sent_by]))
    if isinstance(entry.get("language"), str) and entry["language"]:
        params.append(IcalParam(name="LANGUAGE", values=[entry["language"]]))
    if entry.get("scheduleAgent") in ("client", "none"):
        params.append(IcalParam(name="SCHEDULE-AGENT", values=[entry["scheduleAgent"].upper()]))
    if entry.get("scheduleForceSend") is True and not organizer:
        params.append(IcalParam(name="SCHEDULE-FORCE-SEND", values=["REQUEST"]))
    if isinstance(entry.get("scheduleStatus"), list) and entry["scheduleStatus"]:
        params.append(IcalParam(name="SCHEDULE-STATUS", values=[str(v) for v in entry["scheduleStatus"]]))
    attendee = {role for role, on in (entry.get("roles") or {}).items() if on} != {"owner"}
    extra = as_map(entry.get("iCalOrganizerParams" if organizer and attendee else PARAMS_KEY))
    for key, value in extra.items():
        if key.startswith("x-") and key.endswith("-address"):
            continue
        params.append(IcalParam(name=key.upper(), values=[str(v) for v in value] if isinstance(value, list)
                                else [str(value)]))
    return params


def write_participants(ctx: WriteContext, event: dict[str, Any]) -> None:
    participants = as_map(event.get("participants"))
    reply_to = as_map(event.get("replyTo"))
    organizer_address = next((v for k, v in reply_to.items() if isinstance(v, str) and k == "imip"), None) \
        or next((v for v in reply_to.values() if isinstance(v, str)), None)
    owner = next((p for p in participants.values() if isinstance(p, dict) and (p.get("roles") or {}).get("owner")
                  and (organizer_address is None or (_address(p) or "").lower() == organizer_address.lower())), None)
    if organizer_address is None and owner is not None:
        organizer_address = _address(owner)
    if organizer_address:
        params = _params(owner, participants, organizer=True) if owner is not None else []
        ctx.emit(("replyTo",), "ORGANIZER", organizer_address, params)
    for pid, entry in participants.items():
        if not isinstance(entry, dict):
            continue
        roles = {role for role, on in (entry.get("roles") or {}).items() if on}
        if roles == {"owner"}:
            continue        # the organizer alone is not an attendee
        address = _address(entry)
        if address:
            ctx.emit(("participants", pid), "ATTENDEE", address, _params(entry, participants, organizer=False))
