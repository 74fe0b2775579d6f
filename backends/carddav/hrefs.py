"""Moved to backends.dav.hrefs; this alias keeps older imports working."""
from __future__ import annotations

from backends.dav.hrefs import (  # noqa: F401
    href_absolute,
    url_collection,
    url_credentials_allowed,
    url_inside,
    url_name,
    url_normalise,
    url_parent,
    url_path,
    url_same_origin,
)
