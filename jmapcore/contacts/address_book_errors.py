"""CardDAV refusals of address-book writes as JMAP SetErrors (RFC 8620 §5.3,
RFC 9610 §2.3).

The status of the server's answer says whose fault it is: 403 (and 401 once
logged in) is the server's access control → forbidden; 507 → overQuota;
413 → tooLarge; 404 → notFound (someone removed it meanwhile); anything else
is the server failing → serverFail with its reason, so the client can tell
the user. A 412 (the collection changed meanwhile) is handled by the caller:
it resyncs the book first.
"""
from __future__ import annotations

from jmapcore.protocol.errors import SetError

__all__ = ["dav_refusal_set_error"]

_BY_STATUS = {401: "forbidden", 403: "forbidden", 404: "notFound", 413: "tooLarge", 507: "overQuota"}


def dav_refusal_set_error(*, status: int, reason: str, precondition: str | None = None) -> SetError:
    """The SetError for a CardDAV status `status` with the server's `reason`
    (and, when the server named one, its failed precondition, RFC 4918 §16)."""
    kind = _BY_STATUS.get(status, "serverFail")
    detail = f"the CardDAV server refused it ({status}"
    detail += f", {precondition})" if precondition else ")"
    if reason:
        detail += f": {reason}"
    return SetError(kind, detail)
