"""CalDAV request bodies (RFC 4791 §5.3.1, §7.9, §7.10; RFC 4918 §9.2; RFC 6578 §3.2).

Multistatus parsing, hrefs and errors are the shared WebDAV code (today in
backends.dav.davxml / hrefs / errors, see backends/caldav/__init__.py);
only the bodies that name CalDAV or Apple properties live here, with every
text value XML-escaped.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from backends.dav.davxml import CALSERVER, DAV

CALDAV = "urn:ietf:params:xml:ns:caldav"
# Apple's calendar-color and calendar-order (iCal; read and written by Radicale, Xandikos, most clients).
APPLE = "http://apple.com/ns/ical/"

_PREFIXES = {DAV: "D", CALDAV: "C", CALSERVER: "CS", APPLE: "A"}
_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
_XMLNS = f'xmlns:D="{DAV}" xmlns:C="{CALDAV}" xmlns:CS="{CALSERVER}" xmlns:A="{APPLE}"'


def _props_xml(props: list[tuple[str, str]]) -> str:
    return "".join(f"<{_PREFIXES[ns]}:{local}/>" for ns, local in props)


def cal_propfind_body(props: list[tuple[str, str]]) -> bytes:
    return f"{_HEAD}<D:propfind {_XMLNS}><D:prop>{_props_xml(props)}</D:prop></D:propfind>".encode()


def cal_sync_collection_body(*, token: str) -> bytes:
    """RFC 6578 §3.2 with getetag; an empty token asks for the whole collection."""
    return (f"{_HEAD}<D:sync-collection {_XMLNS}><D:sync-token>{escape(token)}</D:sync-token>"
            f"<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>").encode()


def calendar_multiget_body(*, paths: list[str]) -> bytes:
    """RFC 4791 §7.9: getetag and calendar-data of the resources at `paths`
    (whole objects: the proxy expands recurrences itself, never the server)."""
    hrefs = "".join(f"<D:href>{escape(path)}</D:href>" for path in paths)
    return (f"{_HEAD}<C:calendar-multiget {_XMLNS}><D:prop><D:getetag/><C:calendar-data/></D:prop>"
            f"{hrefs}</C:calendar-multiget>").encode()


def calendar_props_xml(*, name: str | None = None, description: str | None = None, color: str | None = None,
                       sort_order: int | None = None, timezone_ical: str | None = None,
                       components: tuple[str, ...] | None = None) -> str:
    """The <D:prop> children that set the given calendar properties (None: not set)."""
    parts: list[str] = []
    if name is not None:
        parts.append(f"<D:displayname>{escape(name)}</D:displayname>")
    if description is not None:
        parts.append(f"<C:calendar-description>{escape(description)}</C:calendar-description>")
    if color is not None:
        parts.append(f"<A:calendar-color>{escape(color)}</A:calendar-color>")
    if sort_order is not None:
        parts.append(f"<A:calendar-order>{int(sort_order)}</A:calendar-order>")
    if timezone_ical is not None:
        parts.append(f"<C:calendar-timezone>{escape(timezone_ical)}</C:calendar-timezone>")
    if components:
        items = "".join(f'<C:comp name="{escape(comp, {chr(34): "&quot;"})}"/>' for comp in components)
        parts.append(f"<C:supported-calendar-component-set>{items}</C:supported-calendar-component-set>")
    return "".join(parts)


def calendar_props_remove_xml(*, names: list[tuple[str, str]]) -> str:
    return _props_xml(names)


def mkcalendar_body(*, props_xml: str) -> bytes:
    """RFC 4791 §5.3.1.2: MKCALENDAR with the properties to set."""
    return f"{_HEAD}<C:mkcalendar {_XMLNS}><D:set><D:prop>{props_xml}</D:prop></D:set></C:mkcalendar>".encode()


def cal_proppatch_body(*, set_xml: str, remove_xml: str = "") -> bytes:
    """PROPPATCH (RFC 4918 §9.2): set then remove."""
    body = f"{_HEAD}<D:propertyupdate {_XMLNS}>"
    if set_xml:
        body += f"<D:set><D:prop>{set_xml}</D:prop></D:set>"
    if remove_xml:
        body += f"<D:remove><D:prop>{remove_xml}</D:prop></D:remove>"
    return (body + "</D:propertyupdate>").encode()


def free_busy_query_body(*, start: str, end: str) -> bytes:
    """RFC 4791 §7.10: start/end as UTC DATE-TIME values (19970105T080000Z)."""
    return (f'{_HEAD}<C:free-busy-query {_XMLNS}><C:time-range start="{escape(start)}" end="{escape(end)}"/>'
            f"</C:free-busy-query>").encode()
