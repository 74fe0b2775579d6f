"""The JMAP request engine (RFC 8620 §3): one Request in, one Response out.

Independent of the transport: the HTTP API view (jmapcore.api) and, later, the
WebSocket consumer (RFC 8887) both call `request_process` with the caller's
pool and the request body, and turn a raised RequestError into their own
request-level error (a problem document over HTTP).

Per method call (RFC 8620 §3.6.2): an unregistered method, or one whose
capability is not in `using`, answers unknownMethod; "#" arguments are
resolved as result references (§3.7); the handler runs with a CallContext; a
MethodError becomes ["error", {...}, callId]; anything unexpected becomes
serverFail with a short description (the traceback goes to the log only) and
the remaining calls still run.
"""
from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from typing import Any

from accounts.auth import pool_accounts
from accounts.models import Account, Pool
from backends.base import BackendError
from jmapcore.context import CallContext
from jmapcore.limits import LIMITS
from jmapcore.protocol.envelope import Invocation, Request, request_parse
from jmapcore.protocol.errors import MethodError, RequestError
from jmapcore.protocol.resultref import arguments_resolve
from jmapcore.registry import CAPABILITIES, METHODS
from jmapcore.session_object import session_state
from jmapsite.metrics import METHOD_CALLS, METHOD_ERRORS

logger = logging.getLogger("jmap.engine")

# Metric label for names that are not registered methods: a client must not be
# able to create unbounded label values.
UNKNOWN_METHOD_LABEL = "unknown"


def request_check(request: Request) -> None:
    """Request-level checks before any call runs (RFC 8620 §3.6.1)."""
    unknown = sorted(request.using - CAPABILITIES.keys())
    if unknown:
        raise RequestError("unknownCapability", "this server does not support: " + ", ".join(unknown[:10]))
    if len(request.method_calls) > LIMITS.maxCallsInRequest:
        raise RequestError(
            "limit",
            f"{len(request.method_calls)} method calls, at most {LIMITS.maxCallsInRequest} are allowed",
            limit="maxCallsInRequest",
        )


def _error(call: Invocation, error: MethodError, *, metric_label: str) -> Invocation:
    METHOD_ERRORS.labels(method=metric_label, type=error.type).inc()
    return Invocation(name="error", arguments=error.to_arguments(), call_id=call.call_id)


def method_call_process(
    *,
    call: Invocation,
    pool: Pool,
    accounts: dict[str, Account],
    using: frozenset[str],
    created_ids: dict[str, str],
    responses: list[Invocation],
) -> list[Invocation]:
    """Run one method call; returns its response(s), never raises.

    `responses` are the responses so far (for result references).
    `created_ids` is shared by every call of the request: handlers add to it.
    """
    spec = METHODS.get(call.name)
    metric_label = call.name if spec is not None else UNKNOWN_METHOD_LABEL
    METHOD_CALLS.labels(method=metric_label).inc()
    if spec is None:
        return [_error(call, MethodError("unknownMethod", "no such method"), metric_label=metric_label)]
    if spec.capability not in using:
        error = MethodError("unknownMethod", f"this method needs {spec.capability} in 'using'")
        return [_error(call, error, metric_label=metric_label)]
    ctx = CallContext(
        pool=pool,
        accounts=accounts,
        using=using,
        created_ids=created_ids,
        call_id=call.call_id,
        method_name=call.name,
    )
    try:
        arguments = arguments_resolve(call.arguments, responses=responses)
        if arguments is not call.arguments:
            # A referenced value is part of an earlier response: a handler
            # that modifies its arguments must not change that response.
            arguments = copy.deepcopy(arguments)
        result = spec.handler(ctx, arguments)
        if not isinstance(result, dict):
            raise TypeError(f"handler of {call.name} returned {type(result).__name__}, not a dict")
    except MethodError as exc:
        return [_error(call, exc, metric_label=metric_label)]
    except BackendError as exc:
        logger.warning("%s failed in the backend: %s", call.name, exc)
        error = MethodError("serverFail", f"backend error: {exc}")
        return [_error(call, error, metric_label=metric_label)]
    except Exception:
        logger.exception("unexpected error in %s (call %r)", call.name, call.call_id)
        error = MethodError("serverFail", f"unexpected server error while processing {call.name}")
        return [_error(call, error, metric_label=metric_label)]
    out = [Invocation(name=call.name, arguments=result, call_id=call.call_id)]
    out.extend(Invocation(name=name, arguments=args, call_id=call.call_id) for name, args in ctx.extra_responses)
    return out


def request_process(
    *,
    pool: Pool,
    body: bytes | str | Mapping[str, Any] | Request,
    accounts: dict[str, Account] | None = None,
) -> dict[str, Any]:
    """Process one JMAP Request for `pool` and return the Response object (RFC 8620 §3.4).

    `body` is raw bytes/text (decoded as I-JSON), an already-decoded JSON
    object, or a parsed Request. `accounts` defaults to the pool's accounts.
    Raises RequestError (notJSON, notRequest, unknownCapability, limit) for
    request-level errors; method-level errors are inside the response.
    "createdIds" is in the response only when the request had it.
    """
    request = body if isinstance(body, Request) else request_parse(body)
    request_check(request)
    if accounts is None:
        accounts = pool_accounts(pool)
    created_ids: dict[str, str] = dict(request.created_ids or {})
    responses: list[Invocation] = []
    for call in request.method_calls:
        responses.extend(
            method_call_process(
                call=call,
                pool=pool,
                accounts=accounts,
                using=request.using,
                created_ids=created_ids,
                responses=responses,
            )
        )
    response: dict[str, Any] = {"methodResponses": [[r.name, r.arguments, r.call_id] for r in responses]}
    if request.created_ids is not None:
        response["createdIds"] = created_ids
    response["sessionState"] = session_state(pool=pool, accounts=accounts)
    return response


def _dumps(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate from a backend: \u escapes keep the output valid UTF-8.
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def response_encode(response: dict[str, Any]) -> bytes:
    """Serialise a Response object as UTF-8 JSON.

    A handler that returned something JSON cannot express is a server bug;
    rather than failing the whole request, that one response becomes
    serverFail and the others are kept.
    """
    try:
        return _dumps(response)
    except (TypeError, ValueError, RecursionError):
        logger.exception("a method response could not be serialised")
    repaired: list[Any] = []
    for entry in response.get("methodResponses", []):
        try:
            _dumps(entry)
            repaired.append(entry)
        except (TypeError, ValueError, RecursionError):
            label = entry[0] if entry[0] in METHODS else UNKNOWN_METHOD_LABEL
            METHOD_ERRORS.labels(method=label, type="serverFail").inc()
            repaired.append(
                ["error", {"type": "serverFail", "description": "the method's result could not be encoded"}, entry[2]]
            )
    return _dumps({**response, "methodResponses": repaired})
