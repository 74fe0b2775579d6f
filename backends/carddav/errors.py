"""Moved to backends.dav.errors; this alias keeps older imports working."""
from __future__ import annotations

from backends.dav.errors import (  # noqa: F401
    KIND,
    TRANSIENT_STATUSES,
    DavConflict,
    DavRefused,
    DavTooLarge,
    dav_permanent,
    dav_transient,
)
