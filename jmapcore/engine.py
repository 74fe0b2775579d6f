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

Calls for a passthrough account (one served by an upstream JMAP server) are
not run here: the route the backend registered (jmapcore.passthrough) names
which calls go upstream, and each run of consecutive calls for one upstream
is handed over at once, so that it becomes one upstream request; its answers
take their place among the local ones in the client's order and count
against the same response bound. Capabilities those upstreams offer are
accepted in `using`.

The Response is bounded by settings.JMAP_MAX_RESPONSE_SIZE octets
(jmapcore.protocol.response_size): each method response is encoded once, as
soon as it is produced, and its size added to a running total; the call whose
response would pass the bound answers requestTooLarge instead, and the calls
after it are not run (they answer requestTooLarge too). The encoded pieces are
what goes on the wire (`ProcessedRequest.encode`).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from accounts.auth import pool_accounts
from accounts.models import Account, Pool
from backends.base import BackendError
from jmapcore.context import CallContext
from jmapcore.limits import LIMITS
from jmapcore.passthrough import passthrough_route
from jmapcore.protocol.envelope import Invocation, Request, request_parse
from jmapcore.protocol.errors import MethodError, RequestError
from jmapcore.protocol.json_fast import json_dumps
from jmapcore.protocol.response_size import (
    RESPONSE_SIZE_LIMIT_NAME,
    ResponseBudget,
    response_too_large_arguments,
)
from jmapcore.protocol.resultref import arguments_resolve
from jmapcore.registry import CAPABILITIES, METHODS
from jmapcore.session_object import session_state
from jmapcore.strictness import MAIL_CAPABILITY, MAIL_IMPLIED_CAPABILITIES, client_workarounds
from jmapsite.metrics import METHOD_CALLS, METHOD_ERRORS

logger = logging.getLogger("jmap.engine")

# Metric label for names that are not registered methods: a client must not be
# able to create unbounded label values.
UNKNOWN_METHOD_LABEL = "unknown"
# Method-level error types of RFC 8620 §3.6.2, §5 and RFC 8621: the label
# values an upstream's error may take (anything else is counted as "unknown").
METHOD_ERROR_TYPES = frozenset({
    "serverUnavailable", "serverFail", "serverPartialFail", "unknownMethod", "invalidArguments",
    "invalidResultReference", "forbidden", "accountNotFound", "accountNotSupportedByMethod",
    "accountReadOnly", "requestTooLarge", "cannotCalculateChanges", "stateMismatch",
    "anchorNotFound", "unsupportedSort", "unsupportedFilter", "tooManyChanges", "fromAccountNotFound",
    "fromAccountNotSupportedByMethod",
})
# Default of settings.JMAP_MAX_RESPONSE_SIZE (README "Configuration").
DEFAULT_MAX_RESPONSE_SIZE = 32 * 1024 * 1024


def max_response_size() -> int:
    """The bound on one Response, in octets of JSON (JMAP_MAX_RESPONSE_SIZE)."""
    configured = getattr(settings, "JMAP_MAX_RESPONSE_SIZE", DEFAULT_MAX_RESPONSE_SIZE)
    return configured if isinstance(configured, int) and configured > 0 else DEFAULT_MAX_RESPONSE_SIZE


def request_check(request: Request, *, upstream_capabilities: frozenset[str] = frozenset()) -> None:
    """Request-level checks before any call runs (RFC 8620 §3.6.1).

    `upstream_capabilities` are those the caller's passthrough accounts offer
    (jmapcore.passthrough): naming one in `using` is not unknownCapability.
    """
    unknown = sorted(request.using - CAPABILITIES.keys() - upstream_capabilities)
    if unknown:
        raise RequestError("unknownCapability", "this server does not support: " + ", ".join(unknown[:10]))
    if len(request.method_calls) > LIMITS.maxCallsInRequest:
        raise RequestError(
            "limit",
            f"{len(request.method_calls)} method calls, at most {LIMITS.maxCallsInRequest} are allowed",
            limit="maxCallsInRequest",
        )


def _implied_by_mail(capability: str, using: frozenset[str], call: Invocation, accounts: dict[str, Account]) -> bool:
    """A client workaround (jmapcore.strictness): submission, vacationresponse
    and quota methods called with only mail in `using` run when the account
    they name offers that capability. Off with JMAP_STRICT=1."""
    if capability not in MAIL_IMPLIED_CAPABILITIES or MAIL_CAPABILITY not in using or not client_workarounds():
        return False
    account_id = call.arguments.get("accountId")
    account = accounts.get(account_id) if isinstance(account_id, str) else None
    spec = CAPABILITIES.get(capability)
    return account is not None and spec is not None and spec.account_value(account) is not None


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
    max_reference_size: int | None = None,
) -> list[Invocation]:
    """Run one method call; returns its response(s), never raises.

    `responses` are the responses so far (for result references).
    `created_ids` is shared by every call of the request: handlers add to it.
    Referenced values adding up to more than `max_reference_size` octets
    answer requestTooLarge before the handler runs.
    """
    spec = METHODS.get(call.name)
    metric_label = call.name if spec is not None else UNKNOWN_METHOD_LABEL
    METHOD_CALLS.labels(method=metric_label).inc()
    if spec is None:
        return [_error(call, MethodError("unknownMethod", "no such method"), metric_label=metric_label)]
    if spec.capability not in using and not _implied_by_mail(spec.capability, using, call, accounts):
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
        # Referenced values come back as copies: a handler that modifies its
        # arguments cannot change the earlier response they came from.
        arguments = arguments_resolve(call.arguments, responses=responses, max_size=max_reference_size)
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


def _forwarded_count(call: Invocation, produced: list[Invocation]) -> None:
    """Count a call answered upstream like a local one: same names, same bounded labels."""
    metric_label = call.name if call.name in METHODS else UNKNOWN_METHOD_LABEL
    METHOD_CALLS.labels(method=metric_label).inc()
    for out in produced:
        error_type = out.arguments.get("type") if out.name == "error" else None
        if isinstance(error_type, str):
            # Error types are a registry of names (RFC 8620 §3.6.2); an upstream's own go under "unknown".
            METHOD_ERRORS.labels(method=metric_label, type=error_type if error_type in METHOD_ERROR_TYPES
                                 else UNKNOWN_METHOD_LABEL).inc()


def _response_add(
    call: Invocation,
    produced: list[Invocation],
    *,
    budget: ResponseBudget,
    responses: list[Invocation],
    encoded: list[bytes],
    ran: bool,
) -> None:
    """Encode one call's responses and add them, or requestTooLarge when they do not fit."""
    pieces = [_invocation_encode(out) for out in produced]
    if any(out.name == "error" and out.arguments.get("limit") == RESPONSE_SIZE_LIMIT_NAME for out, _ in pieces):
        # Its references alone would pass the bound: nothing after it runs.
        budget.exhausted = True
        responses.extend(out for out, _ in pieces)
        encoded.extend(piece for _, piece in pieces)
    # +1 for the comma that joins it to the others.
    elif budget.charge(sum(len(piece) + 1 for _, piece in pieces)):
        responses.extend(out for out, _ in pieces)
        encoded.extend(piece for _, piece in pieces)
    else:
        logger.warning("call %r of %s passed the response size limit of %d octets", call.call_id, call.name,
                       budget.limit)
        del pieces  # the oversized response goes before anything else is built
        error, error_json = _too_large(call, limit=budget.limit, ran=ran)
        responses.append(error)
        encoded.append(error_json)


@dataclass
class ProcessedRequest:
    """The Response of one Request, with each method response already encoded.

    `responses[i]` and `encoded[i]` are the same method response; `encoded`
    is what goes on the wire, so the Response is serialised once.
    """

    responses: list[Invocation]
    encoded: list[bytes]
    created_ids: dict[str, str] | None
    session_state: str

    def to_json(self) -> dict[str, Any]:
        """The Response object (RFC 8620 §3.4)."""
        response: dict[str, Any] = {"methodResponses": [[r.name, r.arguments, r.call_id] for r in self.responses]}
        if self.created_ids is not None:
            response["createdIds"] = self.created_ids
        response["sessionState"] = self.session_state
        return response

    def encode(self) -> bytes:
        """The Response as UTF-8 JSON, from the pieces encoded while it was built."""
        parts = [b'{"methodResponses":[', b",".join(self.encoded), b"]"]
        if self.created_ids is not None:
            parts.extend([b',"createdIds":', json_dumps(self.created_ids)])
        parts.extend([b',"sessionState":', json_dumps(self.session_state), b"}"])
        return b"".join(parts)


def _invocation_encode(response: Invocation) -> tuple[Invocation, bytes]:
    """A method response and its JSON; one JSON cannot express becomes serverFail.

    A handler that returned something JSON cannot express is a server bug;
    rather than failing the whole request, that one response becomes
    serverFail and the others are kept.
    """
    try:
        return response, json_dumps([response.name, response.arguments, response.call_id])
    except (TypeError, ValueError, RecursionError):
        logger.exception("the response of call %r could not be serialised", response.call_id)
    label = response.name if response.name in METHODS else UNKNOWN_METHOD_LABEL
    METHOD_ERRORS.labels(method=label, type="serverFail").inc()
    failed = Invocation(
        name="error",
        arguments={"type": "serverFail", "description": "the method's result could not be encoded"},
        call_id=response.call_id,
    )
    return failed, json_dumps([failed.name, failed.arguments, failed.call_id])


def _too_large(call: Invocation, *, limit: int, ran: bool) -> tuple[Invocation, bytes]:
    metric_label = call.name if call.name in METHODS else UNKNOWN_METHOD_LABEL
    METHOD_ERRORS.labels(method=metric_label, type="requestTooLarge").inc()
    error = Invocation(name="error", arguments=response_too_large_arguments(limit=limit, ran=ran), call_id=call.call_id)
    return error, json_dumps([error.name, error.arguments, error.call_id])


def request_run(
    *,
    pool: Pool,
    body: bytes | str | Mapping[str, Any] | Request,
    accounts: dict[str, Account] | None = None,
    max_size: int | None = None,
) -> ProcessedRequest:
    """Process one JMAP Request for `pool` (RFC 8620 §3.3-§3.4).

    `body` is raw bytes/text (decoded as I-JSON), an already-decoded JSON
    object, or a parsed Request. `accounts` defaults to the pool's accounts.
    Raises RequestError (notJSON, notRequest, unknownCapability, limit) for
    request-level errors; method-level errors are inside the response.
    "createdIds" is in the response only when the request had it. The method
    responses stay within max_response_size() octets (see the module), or
    within `max_size` when the transport allows less (a WebSocket message
    limit, RFC 8887).
    """
    request = body if isinstance(body, Request) else request_parse(body)
    if accounts is None:
        accounts = pool_accounts(pool)
    route = passthrough_route(pool=pool, accounts=accounts)
    request_check(request, upstream_capabilities=route.capabilities if route is not None else frozenset())
    created_ids: dict[str, str] = dict(request.created_ids or {})
    limit = max_response_size()
    budget = ResponseBudget(limit=min(limit, max_size) if max_size is not None and max_size > 0 else limit)
    if request.created_ids:
        # The Response echoes the request's createdIds (RFC 8620 §3.4): it takes
        # its room first, whatever the transport.
        budget.charge(len(json_dumps(request.created_ids)))
    responses: list[Invocation] = []
    encoded: list[bytes] = []
    calls = request.method_calls
    keys = [route.batch_key(call) for call in calls] if route is not None else [None] * len(calls)
    index = 0
    while index < len(calls):
        call, key = calls[index], keys[index]
        if budget.exhausted:
            skipped, skipped_json = _too_large(call, limit=budget.limit, ran=False)
            responses.append(skipped)
            encoded.append(skipped_json)
            index += 1
            continue
        if key is None or route is None:
            produced = method_call_process(
                call=call,
                pool=pool,
                accounts=accounts,
                using=request.using,
                created_ids=created_ids,
                responses=responses,
                # Whatever a call receives by reference may come back in its
                # response (Core/echo): copying more than the room left is waste.
                max_reference_size=budget.limit - budget.used,
            )
            _response_add(call, produced, budget=budget, responses=responses, encoded=encoded, ran=True)
            index += 1
            continue
        # Consecutive calls for one passthrough account: one upstream request
        # (RFC 8620 §3.3 order kept), at most the upstream's maxCallsInRequest.
        end = index + 1
        batch_limit = max(1, route.batch_limit(key))
        while end < len(calls) and end - index < batch_limit and keys[end] == key:
            end += 1
        batch = calls[index:end]
        answered = route.forward(
            key=key,
            calls=batch,
            using=request.using,
            created_ids=created_ids,
            responses=responses,
            max_reference_size=budget.limit - budget.used,
        )[: len(batch)]
        if not answered:
            # A forwarder must answer at least the first call; never leave one unanswered.
            failed = MethodError("serverFail", "the upstream server's answer could not be used")
            answered = [[Invocation(name="error", arguments=failed.to_arguments(), call_id=call.call_id)]]
        for forwarded, produced in zip(batch, answered, strict=False):
            _forwarded_count(forwarded, produced)
            if budget.exhausted:
                # It ran upstream, but its answer no longer fits.
                error, error_json = _too_large(forwarded, limit=budget.limit, ran=True)
                responses.append(error)
                encoded.append(error_json)
                continue
            _response_add(forwarded, produced, budget=budget, responses=responses, encoded=encoded, ran=True)
        index += len(answered)
    return ProcessedRequest(
        responses=responses,
        encoded=encoded,
        created_ids=created_ids if request.created_ids is not None else None,
        session_state=session_state(pool=pool, accounts=accounts),
    )


def request_process(
    *,
    pool: Pool,
    body: bytes | str | Mapping[str, Any] | Request,
    accounts: dict[str, Account] | None = None,
    max_size: int | None = None,
) -> dict[str, Any]:
    """Process one JMAP Request for `pool` and return the Response object (RFC 8620 §3.4).

    The same as `request_run`, as a JSON value (for transports that wrap the
    Response in a message of their own, e.g. RFC 8887 WebSocket).
    """
    return request_run(pool=pool, body=body, accounts=accounts, max_size=max_size).to_json()


def response_encode(response: dict[str, Any]) -> bytes:
    """Serialise a Response object as UTF-8 JSON.

    A handler that returned something JSON cannot express is a server bug;
    rather than failing the whole request, that one response becomes
    serverFail and the others are kept.
    """
    try:
        return json_dumps(response)
    except (TypeError, ValueError, RecursionError):
        logger.exception("a method response could not be serialised")
    repaired: list[Any] = []
    for entry in response.get("methodResponses", []):
        try:
            json_dumps(entry)
            repaired.append(entry)
        except (TypeError, ValueError, RecursionError):
            label = entry[0] if entry[0] in METHODS else UNKNOWN_METHOD_LABEL
            METHOD_ERRORS.labels(method=label, type="serverFail").inc()
            repaired.append(
                ["error", {"type": "serverFail", "description": "the method's result could not be encoded"}, entry[2]]
            )
    return json_dumps({**response, "methodResponses": repaired})
