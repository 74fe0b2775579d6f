"""The CardDAV backend (RFC 6352 over WebDAV, RFC 4918): discovery, sync into the
contacts cache (jmapcore.models.contacts) and writes.

The services are importable from here (`from backends.carddav import
carddav_card_put`); they load on first use, so importing this package does not
import Django models before the app registry is ready.

- sync.py: carddav_account_sync, carddav_book_sync
- writes.py: carddav_card_put/delete/move, carddav_book_create/update/delete,
  DavPutResult, DavBookResult
- backends.dav.errors: DavRefused, DavConflict
- discovery.py, davxml.py (CardDAV request bodies), cards.py, progress.py,
  part.py (the "carddav" sync part), poll.py (shorter polling while a client
  listens); the generic WebDAV client, XML, hrefs (the URL forms of Radicale,
  Xandikos and others) and errors are in backends.dav

Differences between the servers the tests run (Radicale 3.9, Xandikos 0.4),
and where they are handled:

- hrefs: Radicale writes absolute paths with "@" as %40, Xandikos leaves "@"
  and answers absolute URLs for resources it did not find → hrefs.href_absolute
  (one normal form for storing and comparing).
- layout: Radicale's address books sit in the principal, Xandikos's in a
  separate contacts/ home set → discovery follows addressbook-home-set.
- supported-address-data: CARDDAV:address-data-type (Radicale) or
  CARDDAV:content-type (Xandikos) → discovery reads the version attribute of any child.
- a missing resource: 404 (Radicale) or a 207 whose response says 404
  (Xandikos) → DavResponse.found, carddav_book_sync checks both.
- sync-tokens: a URI (Radicale) or a bare hash (Xandikos), both opaque here.
- ETags: quoted by both in headers and getetag; client.etag_normalise quotes a
  bare one, as some other servers send.
- MOVE: both ignore If-Match → writes.carddav_card_move compares the ETag first.
- extended MKCOL: Xandikos ignores addressbook-description → a PROPPATCH follows.
- invalid vCards: both refuse them on PUT (400; 412 or 500 for Xandikos), so
  what sync reads is at least parseable by them; the converter still reports
  invalid values (dates, REV, GEO) as parse problems.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backends.carddav.sync import carddav_account_sync, carddav_book_sync
    from backends.carddav.writes import (
        DavBookResult,
        DavPutResult,
        carddav_book_create,
        carddav_book_delete,
        carddav_book_update,
        carddav_card_delete,
        carddav_card_move,
        carddav_card_put,
    )
    from backends.dav.errors import DavConflict, DavRefused

_EXPORTS = {
    "carddav_account_sync": "sync",
    "carddav_book_sync": "sync",
    "carddav_card_put": "writes",
    "carddav_card_delete": "writes",
    "carddav_card_move": "writes",
    "carddav_book_create": "writes",
    "carddav_book_update": "writes",
    "carddav_book_delete": "writes",
    "DavPutResult": "backends.dav.resources",
    "DavBookResult": "writes",
    "DavRefused": "backends.dav.errors",
    "DavConflict": "backends.dav.errors",
}

__all__ = [
    "DavBookResult", "DavConflict", "DavPutResult", "DavRefused", "carddav_account_sync", "carddav_book_create",
    "carddav_book_delete", "carddav_book_sync", "carddav_book_update", "carddav_card_delete", "carddav_card_move",
    "carddav_card_put",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module if "." in module else f"{__name__}.{module}"), name)
