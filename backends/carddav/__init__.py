"""The CardDAV backend (RFC 6352 over WebDAV, RFC 4918): discovery, sync into the
contacts cache (jmapcore.models.contacts) and writes.

The services are importable from here (`from backends.carddav import
carddav_card_put`); they load on first use, so importing this package does not
import Django models before the app registry is ready.

- sync.py: carddav_account_sync, carddav_book_sync
- writes.py: carddav_card_put/delete/move, carddav_book_create/update/delete,
  DavPutResult, DavBookResult
- errors.py: DavRefused, DavConflict
- client.py (HTTP, TLS, size caps), discovery.py, hrefs.py (the URL forms of
  Radicale, Xandikos and others), davxml.py, cards.py, progress.py, part.py
  (the "carddav" sync part), poll.py (shorter polling while a client listens)
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backends.carddav.errors import DavConflict, DavRefused
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

_EXPORTS = {
    "carddav_account_sync": "sync",
    "carddav_book_sync": "sync",
    "carddav_card_put": "writes",
    "carddav_card_delete": "writes",
    "carddav_card_move": "writes",
    "carddav_book_create": "writes",
    "carddav_book_update": "writes",
    "carddav_book_delete": "writes",
    "DavPutResult": "writes",
    "DavBookResult": "writes",
    "DavRefused": "errors",
    "DavConflict": "errors",
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
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
