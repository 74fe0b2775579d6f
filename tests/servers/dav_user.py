"""What the DAV test servers (tests/servers/radicale.py, xandikos.py) hand to tests.

`DavUser` is one user on one server: the URLs a test configures an account
with. `dav_collection_make` creates an address book (extended MKCOL, RFC 5689)
or a calendar (MKCALENDAR, RFC 4791 §5.3.1) with a plain httpx client, the way
any other DAV client would; an existing collection is left as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

import httpx


@dataclass(frozen=True)
class DavUser:
    login: str
    password: str
    # The principal URL: what an account's carddav_url/caldav_url is set to.
    carddav_url: str
    caldav_url: str
    # The default address book "contacts" (absolute URL, ends with "/").
    addressbook_url: str


_ADDRESSBOOK_MKCOL = """<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
    <D:displayname>{name}</D:displayname>
  </D:prop></D:set>
</D:mkcol>"""

_MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set>
</C:mkcalendar>"""


def dav_collection_make(client: httpx.Client, url: str, *, kind: str, name: str) -> None:
    """Create the collection at `url` unless it exists ("addressbook" or "calendar").

    An existing collection answers 405 (RFC 4918 §9.3.1: MKCOL on a mapped URL),
    or 409 with DAV:resource-must-be-null to MKCALENDAR (RFC 4791 §5.3.1.1; Radicale)."""
    if kind == "addressbook":
        answer = client.request("MKCOL", url, content=_ADDRESSBOOK_MKCOL.format(name=escape(name)),
                                headers={"Content-Type": "application/xml; charset=utf-8"})
    else:
        answer = client.request("MKCALENDAR", url, content=_MKCALENDAR.format(name=escape(name)),
                                headers={"Content-Type": "application/xml; charset=utf-8"})
    exists = answer.status_code == 409 and b"resource-must-be-null" in answer.content
    if answer.status_code not in (201, 405) and not exists:
        raise RuntimeError(f"{kind} {url}: {answer.status_code} {answer.text[:300]}")
