"""CardDAV request bodies (RFC 6352 §6.3.1, §8.7; RFC 5689 §5.1). The generic
WebDAV XML (multistatus parsing, PROPFIND and sync-collection bodies) is in
backends.dav.davxml and re-exported here for the CardDAV modules."""
from __future__ import annotations

from xml.sax.saxutils import escape

from backends.dav.davxml import (
    CALSERVER,
    CARDDAV,
    DAV,
    NSMAP,
    DavResponse,
    Multistatus,
    error_precondition,
    multistatus_parse,
    propfind_body,
    qname,
    status_code,
    sync_collection_body,
    xml_parse,
)

__all__ = [
    "CALSERVER", "CARDDAV", "DAV", "NSMAP", "DavResponse", "Multistatus", "displayname_props", "error_precondition",
    "mkcol_addressbook_body", "multiget_body", "multistatus_parse", "propfind_body", "proppatch_body", "qname",
    "status_code", "sync_collection_body", "xml_parse",
]

_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
_XMLNS = f'xmlns:D="{DAV}" xmlns:C="{CARDDAV}" xmlns:CS="{CALSERVER}"'


def multiget_body(*, paths: list[str]) -> bytes:
    """RFC 6352 §8.7: getetag and address-data of the resources at `paths`."""
    hrefs = "".join(f"<D:href>{escape(path)}</D:href>" for path in paths)
    return (f"{_HEAD}<C:addressbook-multiget {_XMLNS}><D:prop><D:getetag/><C:address-data/></D:prop>"
            f"{hrefs}</C:addressbook-multiget>").encode()


def displayname_props(*, name: str | None, description: str | None) -> str:
    parts = []
    if name is not None:
        parts.append(f"<D:displayname>{escape(name)}</D:displayname>")
    if description is not None:
        parts.append(f"<C:addressbook-description>{escape(description)}</C:addressbook-description>")
    return "".join(parts)


def mkcol_addressbook_body(*, name: str, description: str) -> bytes:
    """Extended MKCOL (RFC 5689 §5.1) creating an address book (RFC 6352 §6.3.1)."""
    props = displayname_props(name=name, description=description or None)
    return (f"{_HEAD}<D:mkcol {_XMLNS}><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/>"
            f"</D:resourcetype>{props}</D:prop></D:set></D:mkcol>").encode()


def proppatch_body(*, set_props: str, resourcetype: bool = False) -> bytes:
    """PROPPATCH (RFC 4918 §9.2) setting the given property XML."""
    kind = "<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>" if resourcetype else ""
    return (f"{_HEAD}<D:propertyupdate {_XMLNS}><D:set><D:prop>{kind}{set_props}</D:prop></D:set>"
            f"</D:propertyupdate>").encode()
