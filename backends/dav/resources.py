"""Resource-level WebDAV steps that CardDAV and CalDAV writes share: the
result of a PUT, reading a resource's ETag, MOVE where a server has none, and
undoing a collection whose create failed half way.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from backends.base import BackendError
from backends.dav.client import DavClient, etag_normalise
from backends.dav.davxml import DAV, qname
from backends.dav.errors import DavConflict, DavRefused
from backends.dav.hrefs import url_path

log = logging.getLogger("jmap.sync.dav")


@dataclass
class DavPutResult:
    href: str
    etag: str


def dav_etag_fetch(client: DavClient, href: str) -> str:
    """The ETag of `href` by PROPFIND Depth 0 ('' when the server has none)."""
    listing = client.propfind(href, depth="0", props=[(DAV, "getetag")])
    for response in listing.responses:
        if response.found:
            return etag_normalise(response.text(qname(DAV, "getetag")))
    return ""


def dav_move_conflict(href: str, *, why: str) -> DavConflict:
    """The 412 of a MOVE whose source is not what the caller last saw."""
    reason = f"MOVE {url_path(href)}: {why}"
    return DavConflict(reason, status=412, reason=reason)


def dav_move_by_copy(client: DavClient, *, href: str, etag: str | None, destination: str,
                     content_type: str) -> DavPutResult:
    """MOVE for a server without it (RFC 4918 §9.9 is optional): GET, PUT the
    same bytes to `destination` with If-None-Match, DELETE the source with
    If-Match.

    - No ETag to make that DELETE conditional: refused (DavConflict) before
      anything is written, since a change made meanwhile would be lost.
    - The DELETE refused for certain (412, 403, …): the copy is removed again,
      so the resource is in one collection, and the refusal is raised.
    - The DELETE without an answer: both may stay; the next sync shows them.
    - The source already gone (404): the move is done.
    """
    source = client.checked("GET", href, ok=(200,))
    current = source.etag
    if not current:
        raise dav_move_conflict(href, why="the server gives it no ETag, so it cannot be moved safely")
    if etag and current != etag_normalise(etag):
        raise dav_move_conflict(href, why="it changed on the server")
    put = client.checked("PUT", destination, ok=(200, 201, 204), body=source.body,
                         headers={"Content-Type": source.headers.get("content-type") or content_type,
                                  "If-None-Match": "*"})
    result = DavPutResult(href=destination, etag=put.etag or dav_etag_fetch(client, destination))
    try:
        client.checked("DELETE", href, ok=(200, 204, 404), headers={"If-Match": current})
    except DavRefused as refused:
        if refused.permanent:
            client.request("DELETE", destination, headers={"If-Match": result.etag} if result.etag else {})
        raise
    return result


@contextmanager
def dav_created(client: DavClient, href: str) -> Iterator[None]:
    """The steps that follow creating the collection at `href` (a PROPPATCH, reading
    it back): when one fails, the new collection is deleted again, best effort,
    so a create the caller reports as failed leaves nothing on the server."""
    try:
        yield
    except BaseException:
        try:
            client.request("DELETE", href)
        except BackendError as error:
            log.warning("could not remove the collection %s after a failed create: %s", url_path(href), error)
        raise
