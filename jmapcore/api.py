"""The API endpoint (apiUrl, RFC 8620 §3.1): POST a Request, get a Response.

A thin edge: authenticate, enforce the request-level limits that need HTTP
(Content-Type, maxSizeRequest, maxConcurrentRequests), then hand the body to
jmapcore.engine. Every request-level error is an RFC 7807 problem document
(RFC 8620 §3.6.1).

The API is csrf_exempt because JMAP clients are not browsers posting forms;
requiring Content-Type application/json keeps a cross-site HTML form (which
cannot send that type without a CORS preflight) from riding a session cookie.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from accounts.auth import AuthenticationFailed, authenticate_request_accounts
from accounts.models import Account, Pool
from jmapcore.concurrency import request_slot
from jmapcore.debuglog import debug_log_body
from jmapcore.engine import request_run
from jmapcore.limits import LIMITS
from jmapcore.protocol.envelope import json_decode, request_from_json
from jmapcore.protocol.errors import RequestError
from jmapsite.metrics import HTTP_REQUESTS

logger = logging.getLogger("jmap.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
JSON_CONTENT_TYPE = "application/json"
# Seconds a client should wait after a maxConcurrentRequests refusal.
CONCURRENCY_RETRY_AFTER = 1
# Bound once: labels() is a locked dictionary lookup on every call.
_API_REQUESTS = HTTP_REQUESTS.labels(endpoint="api")


def problem_response(error: RequestError, *, headers: dict[str, str] | None = None) -> HttpResponse:
    """An RFC 7807 problem document for a request-level error."""
    body = json.dumps(error.to_problem()).encode("utf-8")
    return HttpResponse(body, status=error.status, content_type=PROBLEM_CONTENT_TYPE, headers=headers)


def authentication_failed_response(exc: AuthenticationFailed) -> HttpResponse:
    """401 with a Basic challenge (RFC 7235 §4.1), or 429 with Retry-After."""
    headers: dict[str, str] = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="jmap"'
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    body = {"type": "about:blank", "status": exc.status, "detail": exc.detail}
    return HttpResponse(json.dumps(body), status=exc.status, content_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _content_type_check(request: HttpRequest) -> None:
    """RFC 8620 §3.6.1: a body that is not application/json is notJSON."""
    media_type, _, params = str(request.META.get("CONTENT_TYPE", "")).partition(";")
    if media_type.strip().lower() != JSON_CONTENT_TYPE:
        raise RequestError("notJSON", "the request's Content-Type must be application/json")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise RequestError("notJSON", "a JMAP request must be UTF-8")


def _size_limit_error() -> RequestError:
    return RequestError(
        "limit", f"the request is larger than {LIMITS.maxSizeRequest} octets", limit="maxSizeRequest"
    )


def _body_read(request: HttpRequest) -> bytes:
    """The body, refusing anything over maxSizeRequest before reading it all."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > LIMITS.maxSizeRequest:
        raise _size_limit_error()
    body = request.read(LIMITS.maxSizeRequest + 1)
    if len(body) > LIMITS.maxSizeRequest:
        raise _size_limit_error()
    return body


def _process(request: HttpRequest, pool: Pool, accounts: dict[str, Account]) -> HttpResponse:
    _content_type_check(request)
    raw = _body_read(request)
    with request_slot(pool_id=pool.pk):
        value: Any = None
        try:
            value = json_decode(raw)
        finally:
            debug_log_body(direction="request", login=pool.login, endpoint="api", body=value)
        processed = request_run(pool=pool, body=request_from_json(value), accounts=accounts)
    debug_log_body(direction="response", login=pool.login, endpoint="api", body=processed.to_json())
    return HttpResponse(processed.encode(), content_type=JSON_CONTENT_TYPE)


@csrf_exempt
def api_view(request: HttpRequest) -> HttpResponse:
    """POST apiUrl (RFC 8620 §3.1)."""
    _API_REQUESTS.inc()
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        # The pool and its accounts, read together (accounts.auth.authenticate_request_accounts).
        pool, accounts = authenticate_request_accounts(request)
    except AuthenticationFailed as exc:
        return authentication_failed_response(exc)
    try:
        return _process(request, pool, accounts)
    except RequestError as exc:
        debug_log_body(direction="response", login=pool.login, endpoint="api", body=exc.to_problem())
        headers = {"Retry-After": str(CONCURRENCY_RETRY_AFTER)} if exc.limit == "maxConcurrentRequests" else None
        return problem_response(exc, headers=headers)
    except Exception:
        # The engine already turns handler failures into serverFail; this is
        # for the rest (e.g. the database going away): no traceback to the client.
        logger.exception("unexpected error answering an API request")
        body = {"type": "about:blank", "status": 500, "detail": "internal server error"}
        return HttpResponse(json.dumps(body), status=500, content_type=PROBLEM_CONTENT_TYPE)
