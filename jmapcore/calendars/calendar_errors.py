"""CalDAV refusals of calendar writes as JMAP SetErrors (RFC 8620 §5.3,
draft-ietf-jmap-calendars-33 §4.3).

The status of the server's answer says whose fault it is: 403 (and 401 once
logged in) is the server's access control → forbidden; 507 → overQuota;
413 → tooLarge; 404 → notFound (someone removed it meanwhile); anything else
is the server failing → serverFail with its reason. A 412 (changed
meanwhile) is handled by the caller, which resyncs first.
"""
from __future__ import annotations

from typing import Any

from jmapcore.protocol.errors import SetError, SetErrorException

__all__ = ["caldav_refusal_set_error", "caldav_refused"]

_BY_STATUS = {401: "forbidden", 403: "forbidden", 404: "notFound", 413: "tooLarge", 507: "overQuota"}


def caldav_refusal_set_error(*, status: int, reason: str, precondition: str | None = None) -> SetError:
    """The SetError for a CalDAV status `status` with the server's `reason`
    (and, when the server named one, its failed precondition, RFC 4791 §1.3)."""
    kind = _BY_STATUS.get(status, "serverFail")
    detail = f"the CalDAV server refused it ({status}"
    detail += f", {precondition})" if precondition else ")"
    if reason:
        detail += f": {reason}"
    return SetError(kind, detail)


def caldav_refused(refused: Any) -> SetErrorException:
    """A DavRefused from backends.caldav as the exception standard_set turns into a SetError."""
    return SetErrorException(
        caldav_refusal_set_error(
            status=int(getattr(refused, "status", 0) or 0),
            reason=str(getattr(refused, "reason", "") or refused),
            precondition=getattr(refused, "precondition", None),
        )
    )
