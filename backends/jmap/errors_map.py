"""What a client is told when forwarding a request upstream fails (RFC 8620 §3.6).

A forwarded call never makes the proxy answer 500: every failure of the
upstream request (backends.jmap.client.UpstreamError) becomes a method-level
error for each call that was in it, chosen so that a client knows whether to
retry:

- no answer (connection refused or cut, timeout): serverUnavailable (§3.6.2,
  "some internal server resource was temporarily unavailable");
- 401/403: forbidden, saying that the upstream refused the stored credentials;
  the refusal is also recorded on the account like a sync error, for the
  operator (it needs new credentials, not a retry);
- a problem document of type urn:ietf:params:jmap:error:limit (§3.6.1): the
  upstream's limit as requestTooLarge with its name and detail, except
  maxConcurrentRequests, which passes with time: serverUnavailable;
- notJSON, notRequest, unknownCapability: serverFail, "the upstream refused
  the forwarded request" (the proxy built that request: the client cannot fix it);
- an answer over JMAP_MAX_RESPONSE_SIZE (UpstreamError.too_large, when the
  client sets it): requestTooLarge, as for a local answer that does not fit;
- 5xx: serverUnavailable; any other answer that is not a usable Response:
  serverFail.

Descriptions carry the upstream's own detail cut short, never credentials
(UpstreamError messages never contain one).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from accounts.models import Account
from jmapcore.protocol.errors import PROBLEM_PREFIX, MethodError

if TYPE_CHECKING:
    from backends.jmap.client import UpstreamError

logger = logging.getLogger("jmap.backends.jmap")

# The upstream's detail is shown to the client, shortened: it is another server's text.
DETAIL_MAX = 200
REFUSED_REQUEST_TYPES = frozenset({"notJSON", "notRequest", "unknownCapability"})
# Not "maxSizeResponse": the engine reads that limit name as "this Response is full".
_RESERVED_LIMIT_NAMES = frozenset({"maxSizeResponse"})


def _short(text: object) -> str:
    shown = str(text).replace("\r", " ").replace("\n", " ").strip()
    return shown if len(shown) <= DETAIL_MAX else shown[:DETAIL_MAX] + "…"


def _problem_type(problem: dict[str, Any] | None) -> str | None:
    if problem is None:
        return None
    kind = problem.get("type")
    if isinstance(kind, str) and kind.startswith(PROBLEM_PREFIX):
        return kind[len(PROBLEM_PREFIX):]
    return None


def _problem_detail(problem: dict[str, Any]) -> str:
    for member in ("detail", "title"):
        if isinstance(problem.get(member), str) and problem[member].strip():
            return _short(problem[member])
    return ""


def upstream_refusal_record(*, account: Account, message: str) -> None:
    """Record on `account` that the upstream refused its credentials (shown like a sync error).

    A queryset update: the row's updated_at (the client cache key) stays, and
    nothing else on the row is overwritten.
    """
    Account.objects.filter(pk=account.pk).update(last_sync_error=message, last_sync_error_at=timezone.now())


def upstream_error_to_method_error(*, error: UpstreamError, account: Account) -> MethodError:
    """The method error each forwarded call of a failed upstream request answers (see the module)."""
    if error.timed_out or error.status is None:
        return MethodError("serverUnavailable", f"the upstream JMAP server did not answer: {_short(error.message)}")
    status = error.status
    if status in (401, 403):
        message = f"the upstream JMAP server refused the stored credentials (HTTP {status})"
        upstream_refusal_record(account=account, message=message)
        logger.warning("account %s: %s", account.accountid, message)
        return MethodError("forbidden", message)
    problem_type = _problem_type(error.problem)
    if problem_type == "limit" and error.problem is not None:
        limit = error.problem.get("limit")
        limit_name = limit if isinstance(limit, str) and limit not in _RESERVED_LIMIT_NAMES else None
        detail = _problem_detail(error.problem) or "the forwarded request passed a limit of the upstream server"
        if limit_name == "maxConcurrentRequests":
            return MethodError("serverUnavailable", f"the upstream JMAP server is busy: {detail}")
        extra: dict[str, Any] = {"limit": _short(limit_name)} if limit_name else {}
        return MethodError("requestTooLarge", f"upstream limit: {detail}", **extra)
    if problem_type in REFUSED_REQUEST_TYPES and error.problem is not None:
        detail = _problem_detail(error.problem)
        shown = f"{problem_type}: {detail}" if detail else problem_type
        return MethodError("serverFail", f"the upstream refused the forwarded request ({shown})")
    if getattr(error, "too_large", False):
        # An answer over JMAP_MAX_RESPONSE_SIZE, refused while it was read (backends.jmap.client).
        return MethodError("requestTooLarge", "the upstream's answer is larger than this server accepts; "
                                              "ask for less in one request")
    if status >= 500:
        return MethodError("serverUnavailable", f"the upstream JMAP server failed: HTTP {status}")
    if 200 <= status < 300:
        why = _short(error.message)
        return MethodError("serverFail", f"the upstream's answer was not a usable JMAP Response: {why}")
    return MethodError("serverFail", f"the upstream refused the forwarded request: {_short(error.message)}")
