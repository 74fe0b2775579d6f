"""ATTACH, URL and IMAGE ↔ links (RFC 8984 §1.4.11, §4.2.7; RFC 5545 §3.8.1.1,
§3.8.4.6; RFC 7986 §5.10 IMAGE; RFC 8607 managed attachments' parameters;
draft-ietf-calext-jscalendar-icalendar-30 "links").

ATTACH is a Link with rel "enclosure" (an inline BINARY attachment becomes a
data: URI), URL a Link with rel "describedby", IMAGE a Link with its display.
Parameters with no Link member (MANAGED-ID, X-…) are kept in iCalParams.
"""
from __future__ import annotations

from typing import Any

from jmapcore.calendars.jscalendar.context import ReadContext, WriteContext, as_map
from jmapcore.calendars.jscalendar.ical_model import IcalParam, IcalProperty

PARAMS_KEY = "iCalParams"
DISPLAYS = ("badge", "graphic", "fullsize", "thumbnail")


def _link(ctx: ReadContext, index: int, entry: dict[str, Any], prop: IcalProperty, handled: set[str]) -> bool:
    others = {param.name.lower(): param.values[0] if len(param.values) == 1 else list(param.values)
              for param in prop.params if param.name not in handled}
    if others:
        entry[PARAMS_KEY] = others
    link_id = ctx.next_id("links", "k")
    ctx.event.setdefault("links", {})[link_id] = entry
    ctx.claim(("links",), index)
    return True


def read_attach(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    value = prop.value.strip()
    entry: dict[str, Any] = {"@type": "Link", "rel": "enclosure"}
    content_type = prop.param_first("FMTTYPE")
    inline = (prop.param_first("VALUE") or "").upper() == "BINARY"
    if inline or (prop.param_first("ENCODING") or "").upper() == "BASE64":
        entry["href"] = f"data:{content_type or 'application/octet-stream'};base64,{value}"
    elif value:
        entry["href"] = value
    else:
        return False
    if content_type:
        entry["contentType"] = content_type
    size = prop.param_first("SIZE")
    if size and size.isdigit():
        entry["size"] = int(size)
    title = prop.param_first("FILENAME") or prop.param_first("X-FILENAME")
    if title:
        entry["title"] = title
    handled = {"FMTTYPE", "VALUE", "ENCODING", "FILENAME"} | ({"SIZE"} if "size" in entry else set())
    return _link(ctx, index, entry, prop, handled)


def read_url(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    if not prop.value.strip():
        return False
    return _link(ctx, index, {"@type": "Link", "href": prop.value.strip(), "rel": "describedby"}, prop, {"VALUE"})


def read_image(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    if (prop.param_first("VALUE") or "URI").upper() != "URI" or not prop.value.strip():
        return False
    entry: dict[str, Any] = {"@type": "Link", "href": prop.value.strip(), "rel": "icon"}
    display = (prop.param_first("DISPLAY") or "").lower()
    if display in DISPLAYS and len(prop.param("DISPLAY")) == 1:
        entry["display"] = display
    if prop.param_first("FMTTYPE"):
        entry["contentType"] = prop.param_first("FMTTYPE")
    handled = {"VALUE", "FMTTYPE"} | ({"DISPLAY"} if "display" in entry else set())
    return _link(ctx, index, entry, prop, handled)


READERS = {"ATTACH": read_attach, "URL": read_url, "IMAGE": read_image}


def write_links(ctx: WriteContext, event: dict[str, Any]) -> None:
    links = event.get("links")
    if not isinstance(links, dict):
        return
    for entry in links.values():
        if not (isinstance(entry, dict) and isinstance(entry.get("href"), str)):
            continue
        href = entry["href"]
        kept = as_map(entry.get(PARAMS_KEY))
        extra = [IcalParam(name=k.upper(), values=[str(x) for x in v] if isinstance(v, list) else [str(v)])
                 for k, v in kept.items()]
        rel = entry.get("rel")
        if rel == "describedby" and not entry.get("contentType") and not entry.get("title"):
            ctx.emit(("links",), "URL", href, extra)
            continue
        params: list[IcalParam] = []
        if rel == "icon" or entry.get("display"):
            params.append(IcalParam(name="VALUE", values=["URI"]))
            if entry.get("display") in DISPLAYS:
                params.append(IcalParam(name="DISPLAY", values=[str(entry["display"]).upper()]))
            if isinstance(entry.get("contentType"), str):
                params.append(IcalParam(name="FMTTYPE", values=[entry["contentType"]]))
            ctx.emit(("links",), "IMAGE", href, params + extra)
            continue
        value = href
        if href.startswith("data:") and ";base64," in href:
            value = href.split(";base64,", 1)[1]
            params += [IcalParam(name="ENCODING", values=["BASE64"]), IcalParam(name="VALUE", values=["BINARY"])]
        if isinstance(entry.get("contentType"), str):
            params.insert(0, IcalParam(name="FMTTYPE", values=[entry["contentType"]]))
        if isinstance(entry.get("size"), int) and not isinstance(entry["size"], bool):
            params.append(IcalParam(name="SIZE", values=[str(entry["size"])]))
        if isinstance(entry.get("title"), str):
            params.append(IcalParam(name="FILENAME", values=[entry["title"]]))
        ctx.emit(("links",), "ATTACH", value, params + extra)
