"""Moved to backends.dav.client; this alias keeps older imports working."""
from __future__ import annotations

from backends.dav.client import (  # noqa: F401
    DAV_MAX_RESPONSE_BYTES,
    DAV_REQUEST_OBSERVERS,
    DAV_TIMEOUT,
    USER_AGENT,
    DavAnswer,
    DavClient,
    etag_normalise,
    log,
)
