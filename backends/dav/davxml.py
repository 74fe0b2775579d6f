"""WebDAV XML shared by CardDAV and CalDAV: PROPFIND and sync-collection bodies and
multistatus parsing (RFC 4918 §13-14, RFC 6578).

Parsing uses lxml with entity resolution, DTD loading and network access off
(no XXE, no billion laughs) and without huge_tree, so its cost is linear in the
size of the body, which the client has already capped. Hrefs are turned into
absolute, normalised URLs (hrefs.href_absolute) as they are read, so every
other module compares URLs in one form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from lxml import etree

from backends.dav.errors import dav_permanent
from backends.dav.hrefs import href_absolute

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
CALSERVER = "http://calendarserver.org/ns/"

NSMAP = {"D": DAV, "C": CARDDAV, "CS": CALSERVER}


def qname(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True)
_STATUS = re.compile(r"^\S+\s+(\d{3})")


def xml_parse(body: bytes, *, what: str) -> etree._Element:
    """The root element of `body`; BackendError (permanent) when it is not XML."""
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise dav_permanent(f"{what}: the server's answer is not XML ({exc.msg})") from None
    if root is None:
        raise dav_permanent(f"{what}: empty XML answer")
    return root


def status_code(text: str | None) -> int | None:
    """200 from "HTTP/1.1 200 OK"; None when absent or unreadable."""
    found = _STATUS.match((text or "").strip())
    return int(found.group(1)) if found else None


@dataclass
class DavResponse:
    """One <D:response> of a multistatus."""

    href: str
    # The response-level <D:status> (sync-collection reports removals as 404); None with propstats.
    status: int | None = None
    # Properties the server returned with 200, by "{namespace}local".
    props: dict[str, etree._Element] = field(default_factory=dict)

    def text(self, name: str) -> str:
        """The text of property `name` ("" when absent)."""
        element = self.props.get(name)
        return "".join(element.itertext()).strip() if element is not None else ""

    def hrefs(self, name: str, *, base: str) -> list[str]:
        """The <D:href> children of property `name`, absolute."""
        element = self.props.get(name)
        if element is None:
            return []
        return [href_absolute(base, "".join(item.itertext()).strip())
                for item in element.iter(qname(DAV, "href")) if "".join(item.itertext()).strip()]

    def children(self, name: str) -> list[str]:
        """The "{namespace}local" names of the element children of property `name`."""
        element = self.props.get(name)
        if element is None:
            return []
        return [child.tag for child in element if isinstance(child.tag, str)]

    @property
    def found(self) -> bool:
        return self.status is None or 200 <= self.status < 300


@dataclass
class Multistatus:
    responses: list[DavResponse]
    # RFC 6578 §6.4: the new sync-token of a sync-collection report.
    sync_token: str = ""


def multistatus_parse(body: bytes, *, base: str, what: str) -> Multistatus:
    """Parse a 207 body; hrefs become absolute against `base` (the request URL)."""
    root = xml_parse(body, what=what)
    if root.tag != qname(DAV, "multistatus"):
        raise dav_permanent(f"{what}: expected a DAV multistatus, got {root.tag}")
    responses: list[DavResponse] = []
    for item in root.iterchildren(qname(DAV, "response")):
        href_element = item.find(qname(DAV, "href"))
        raw = "".join(href_element.itertext()).strip() if href_element is not None else ""
        if not raw:
            continue
        response = DavResponse(href=href_absolute(base, raw))
        status = item.find(qname(DAV, "status"))
        if status is not None:
            response.status = status_code(status.text)
        for propstat in item.iterchildren(qname(DAV, "propstat")):
            code = status_code(propstat.findtext(qname(DAV, "status")))
            prop = propstat.find(qname(DAV, "prop"))
            if prop is None or code is None or not 200 <= code < 300:
                continue
            for element in prop:
                if isinstance(element.tag, str):
                    response.props[element.tag] = element
        responses.append(response)
    token = root.findtext(qname(DAV, "sync-token")) or ""
    return Multistatus(responses=responses, sync_token=token.strip())


def error_precondition(body: bytes) -> str | None:
    """The local name of the first precondition in a <D:error> body (RFC 4918 §16)."""
    if not body or b"error" not in body[:4096]:
        return None
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError:
        return None
    if root is None or root.tag != qname(DAV, "error"):
        return None
    for child in root:
        if isinstance(child.tag, str):
            return etree.QName(child).localname
    return None


def _props_xml(props: list[tuple[str, str]]) -> str:
    prefixes = {DAV: "D", CARDDAV: "C", CALSERVER: "CS"}
    return "".join(f"<{prefixes[ns]}:{local}/>" for ns, local in props)


_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
_XMLNS = f'xmlns:D="{DAV}" xmlns:C="{CARDDAV}" xmlns:CS="{CALSERVER}"'


def propfind_body(props: list[tuple[str, str]]) -> bytes:
    return f"{_HEAD}<D:propfind {_XMLNS}><D:prop>{_props_xml(props)}</D:prop></D:propfind>".encode()


def sync_collection_body(*, token: str, props: list[tuple[str, str]]) -> bytes:
    """RFC 6578 §3.2; an empty token asks for the whole collection (initial sync)."""
    return (f"{_HEAD}<D:sync-collection {_XMLNS}><D:sync-token>{escape(token)}</D:sync-token>"
            f"<D:sync-level>1</D:sync-level><D:prop>{_props_xml(props)}</D:prop></D:sync-collection>").encode()
