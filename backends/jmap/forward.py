"""Forwarding method calls of passthrough accounts to their upstream JMAP server (RFC 8620 §3).

The engine (jmapcore.engine) asks the registered forwarder (jmapcore.passthrough)
for a route over the caller's accounts once per request; this module is that
forwarder. Its contract:

- Which calls go upstream: a call whose "accountId" is an upstream account of
  the pool (backends.jmap.targets); when it also names "fromAccountId" or
  "toAccountId" (/copy, Blob/copy), those must be upstream accounts of the same
  passthrough Account, else the call is a cross-account one and runs locally.
  A call whose account id is itself a result reference runs locally.
- Consecutive calls for one passthrough Account form one upstream Request, of
  at most the upstream's maxCallsInRequest calls (the engine cuts batches).
- Result references (§3.7): one to an earlier call of the same upstream
  Request is sent upstream (its resultOf renamed with the call); one to any
  other earlier call is resolved here, against the responses the client will
  see, before the call is sent. A reference that cannot be resolved answers
  its error here, and the calls before it are sent alone.
- createdIds (§3.3): the request's creation ids so far go upstream; the
  upstream Response's createdIds merge back into the request's.
- `using`: the client's, filtered to what the upstream's Session lists (plus core).
- Account ids are rewritten structurally both ways (backends.jmap.account_ids),
  against this passthrough Account's upstream accounts only; a response that
  names an account the pool does not have becomes serverFail.
- Call ids: the upstream sees its own ("0", "1", ...) so that every answer
  maps to exactly one of the client's calls, whatever ids the client chose;
  a call the upstream did not answer gets serverFail.
- A passthrough account whose upstream Session was never stored (the upstream
  was unreachable when it was added) has its Session fetched by its first
  forwarded call; until that works its calls answer the mapped error
  (serverUnavailable, forbidden), never a local answer from an empty cache.
- A state-changing call (/set, /copy, /import, MDN/send) for an upstream
  account the pool may only read answers accountReadOnly without going upstream;
  on a passthrough Account the operator made read-only, so does every call not
  known to only read (READ_SUFFIXES).
- Failures of the upstream request are mapped by backends.jmap.errors_map;
  nothing here raises to the engine.
"""
from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from typing import Any

from prometheus_client import Counter

from accounts.models import Account, Pool
from backends.jmap.account_ids import UnknownAccountId, arguments_from_upstream, arguments_to_upstream
from backends.jmap.client import UpstreamError, upstream_client
from backends.jmap.errors_map import upstream_error_to_method_error
from backends.jmap.targets import UpstreamTarget, upstream_targets
from jmapcore.protocol.envelope import Invocation
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.response_size import RESPONSE_SIZE_LIMIT_NAME
from jmapcore.protocol.resultref import arguments_resolve
from jmapcore.registry import METHODS

logger = logging.getLogger("jmap.backends.jmap")

CORE_CAPABILITY = "urn:ietf:params:jmap:core"
# Arguments that name a second account (RFC 8620 §5.4 /copy, §6.3 Blob/copy).
OTHER_ACCOUNT_ARGUMENTS: tuple[str, ...] = ("fromAccountId", "toAccountId")
# Methods that change state (RFC 8620 §5.3 /set, §5.4 /copy, RFC 8621 §4.8
# Email/import, RFC 9007 MDN/send): refused as accountReadOnly (§3.6.2) on an
# account the pool may only read, before anything goes upstream.
WRITE_SUFFIXES: tuple[str, ...] = ("/set", "/copy", "/import")
WRITE_METHODS = frozenset({"MDN/send", "Blob/upload"})
# An Account the operator made read-only (Account.is_read_only) is a promise of
# the proxy, which the upstream knows nothing about: there only calls known to
# read go upstream (RFC 8620 §5.1, §5.2, §5.5, §5.6, §6.4 Blob/get, RFC 9404
# Blob/lookup, RFC 8621 §4.9 Email/parse, RFC 9661 SieveScript/validate, RFC 8620
# §4.1 Core/echo); anything else -- vendor methods such as Cyrus's
# Backup/restoreMail included -- is accountReadOnly.
READ_SUFFIXES: tuple[str, ...] = ("/get", "/changes", "/query", "/queryChanges", "/parse", "/lookup", "/validate")
READ_METHODS = frozenset({"Core/echo", "Principal/getAvailability"})
# When an upstream Session states no usable maxCallsInRequest: RFC 8620 §2
# recommends servers accept at least 16.
DEFAULT_MAX_CALLS = 16
UNKNOWN_LABEL = "unknown"
# Method responses an upstream may give per call before its answer is refused
# (RFC 8620 §3.4: one, plus implicit ones such as /copy's onSuccessDestroyOriginal /set).
RESPONSES_PER_CALL_MAX = 8

FORWARDED_CALLS = Counter(
    "jmap_passthrough_calls", "Method calls forwarded to an upstream JMAP server", ["method"]
)
FORWARDED_REQUESTS = Counter(
    "jmap_passthrough_requests", "Requests sent to upstream JMAP servers, by outcome", ["outcome"]
)


def method_reads_only(name: str) -> bool:
    """Whether method `name` is known to only read (see READ_SUFFIXES)."""
    return name.endswith(READ_SUFFIXES) or name in READ_METHODS


def method_writes(name: str) -> bool:
    """Whether method `name` changes state (see WRITE_SUFFIXES)."""
    return name.endswith(WRITE_SUFFIXES) or name in WRITE_METHODS


def _error(call: Invocation, error: MethodError) -> list[Invocation]:
    return [Invocation(name="error", arguments=error.to_arguments(), call_id=call.call_id)]


def _session_capabilities(account: Account) -> dict[str, Any]:
    session = account.upstream_session if isinstance(account.upstream_session, dict) else {}
    capabilities = session.get("capabilities")
    return capabilities if isinstance(capabilities, dict) else {}


def upstream_max_calls(account: Account) -> int:
    """The upstream's maxCallsInRequest (RFC 8620 §2), from its stored Session."""
    core = _session_capabilities(account).get(CORE_CAPABILITY)
    value = core.get("maxCallsInRequest") if isinstance(core, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_MAX_CALLS


def upstream_using(using: frozenset[str], account: Account) -> list[str]:
    """The client's `using`, filtered to what the upstream's Session lists, plus core (RFC 8620 §3.3)."""
    offered = _session_capabilities(account)
    return sorted({urn for urn in using if urn in offered} | {CORE_CAPABILITY})


class PassthroughRouter:
    """The route of one request's calls to the pool's upstream servers (jmapcore.passthrough)."""

    def __init__(self, targets: dict[str, UpstreamTarget], accounts: dict[str, Account] | None = None) -> None:
        self.targets = targets
        self.accounts: dict[Hashable, Account] = {target.account.pk: target.account for target in targets.values()}
        # Passthrough accounts whose upstream Session was never stored (the upstream was down when
        # the account was made): their calls still go upstream, after a Session fetch (`forward`).
        self.unfetched: dict[str, Account] = {
            account.accountid: account for account in (accounts or {}).values()
            if account.kind == Account.Kind.JMAP and account.pk not in self.accounts
        }
        self.accounts.update({account.pk: account for account in self.unfetched.values()})
        # Upstreams that could not be reached (or refused the credentials) during this request:
        # later batches for them answer the same error at once instead of waiting for a timeout again.
        self.unreachable: dict[Hashable, MethodError] = {}
        offered: set[str] = set()
        for target in targets.values():
            offered.update(target.capabilities)
        for account in self.accounts.values():
            offered.update(_session_capabilities(account))
        self.capabilities = frozenset(offered)

    def batch_key(self, call: Invocation) -> Hashable | None:
        arguments = call.arguments
        account_id = arguments.get("accountId")
        target = self.targets.get(account_id) if isinstance(account_id, str) else None
        if target is None:
            unfetched = self.unfetched.get(account_id) if isinstance(account_id, str) else None
            if unfetched is None or any(name in arguments or "#" + name in arguments
                                        for name in OTHER_ACCOUNT_ARGUMENTS):
                return None
            return unfetched.pk
        key = target.account.pk
        for name in OTHER_ACCOUNT_ARGUMENTS:
            if "#" + name in arguments:
                return None
            if name in arguments:
                other = arguments[name]
                other_target = self.targets.get(other) if isinstance(other, str) else None
                # Between a passthrough and another account: a local (cross-account) call.
                if other_target is None or other_target.account.pk != key:
                    return None
        return key

    def batch_limit(self, key: Hashable) -> int:
        return upstream_max_calls(self.accounts[key])

    def forward(
        self,
        *,
        key: Hashable,
        calls: Sequence[Invocation],
        using: frozenset[str],
        created_ids: dict[str, str],
        responses: Sequence[Invocation],
        max_reference_size: int | None,
    ) -> list[list[Invocation]]:
        """Send `calls` (all for the passthrough Account `key`) upstream; see the module."""
        account = self.accounts[key]
        known_failure = self.unreachable.get(key)
        if known_failure is not None:
            return [_error(call, known_failure) for call in calls]
        own_targets = {proxy_id: t for proxy_id, t in self.targets.items() if t.account.pk == key}
        if not own_targets:
            try:
                own_targets = self._session_fetch(account)
            except UpstreamError as exc:
                logger.warning("account %s: no upstream Session: %s", account.accountid, exc)
                error = self._failure_note(key, exc, account)
                return [_error(call, error) for call in calls]
            except Exception:
                logger.exception("account %s: unexpected error fetching the upstream Session", account.accountid)
                error = MethodError("serverFail", "unexpected error while fetching the upstream JMAP Session")
                return [_error(call, error) for call in calls]
        upstream_to_proxy = {t.upstream_id: t.proxy_id for t in own_targets.values()}
        prepared: list[list[Any]] = []
        failed: list[Invocation] | None = None
        # The client's call id of each earlier call in this batch -> its upstream id (first one wins, §3.7).
        batch_ids: dict[str, str] = {}
        earlier_ids = {response.call_id for response in responses}
        for index, call in enumerate(calls):
            upstream_id = str(index)
            account_id = call.arguments.get("accountId")
            target = own_targets.get(account_id) if isinstance(account_id, str) else None
            if target is not None and (
                (target.is_read_only and method_writes(call.name))
                or (target.account.is_read_only and not method_reads_only(call.name))
            ):
                failed = _error(call, MethodError("accountReadOnly"))
                break
            try:
                arguments = _references_prepare(
                    call.arguments,
                    batch_ids=batch_ids,
                    earlier_ids=earlier_ids,
                    responses=responses,
                    max_size=max_reference_size,
                )
                arguments = arguments_to_upstream(call.name, arguments, own_targets)
            except MethodError as exc:
                failed = _error(call, exc)
                break
            except UnknownAccountId:
                failed = _error(call, MethodError("accountNotFound"))
                break
            prepared.append([call.name, arguments, upstream_id])
            batch_ids.setdefault(call.call_id, upstream_id)
        sent = calls[: len(prepared)]
        answers = self._send(
            account=account, calls=sent, prepared=prepared, using=using, created_ids=created_ids,
            upstream_to_proxy=upstream_to_proxy,
        ) if prepared else []
        return answers + ([failed] if failed is not None else [])

    def _failure_note(self, key: Hashable, error: UpstreamError, account: Account) -> MethodError:
        """The method error for `error`; remembered for the rest of the request when
        the upstream gave no answer or refused the credentials (asking again cannot help now)."""
        mapped = upstream_error_to_method_error(error=error, account=account)
        if error.status is None or error.timed_out or error.status in (401, 403):
            self.unreachable[key] = mapped
        return mapped

    def _session_fetch(self, account: Account) -> dict[str, UpstreamTarget]:
        """Fetch and store `account`'s upstream Session now; its upstream accounts by proxy id."""
        upstream_client(account).session_refresh()
        account.refresh_from_db(fields=["upstream_session", "updated_at"])
        fresh = upstream_targets([account])
        self.targets.update(fresh)
        self.unfetched.pop(account.accountid, None)
        return fresh

    def _send(
        self,
        *,
        account: Account,
        calls: Sequence[Invocation],
        prepared: list[list[Any]],
        using: frozenset[str],
        created_ids: dict[str, str],
        upstream_to_proxy: dict[str, str],
    ) -> list[list[Invocation]]:
        for call in calls:
            FORWARDED_CALLS.labels(method=call.name if call.name in METHODS else UNKNOWN_LABEL).inc()
        request = {"using": upstream_using(using, account), "methodCalls": prepared, "createdIds": dict(created_ids)}
        try:
            answer = upstream_client(account).api_post(request)
        except UpstreamError as exc:
            FORWARDED_REQUESTS.labels(outcome="failed").inc()
            logger.warning("account %s: forwarding %d call(s) failed: %s", account.accountid, len(calls), exc)
            error = self._failure_note(account.pk, exc, account)
            return [_error(call, error) for call in calls]
        except Exception:
            FORWARDED_REQUESTS.labels(outcome="failed").inc()
            logger.exception("account %s: unexpected error forwarding %d call(s)", account.accountid, len(calls))
            error = MethodError("serverFail", "unexpected error while forwarding to the upstream JMAP server")
            return [_error(call, error) for call in calls]
        FORWARDED_REQUESTS.labels(outcome="answered").inc()
        try:
            return response_split(answer=answer, calls=calls, created_ids=created_ids,
                                  upstream_to_proxy=upstream_to_proxy)
        except Exception:
            # Whatever an upstream answers, the client gets a Response, never a 500.
            logger.exception("account %s: unusable upstream answer to %d call(s)", account.accountid, len(calls))
            error = MethodError("serverFail", "the upstream server's answer could not be used")
            return [_error(call, error) for call in calls]


def _references_prepare(
    arguments: dict[str, Any],
    *,
    batch_ids: dict[str, str],
    earlier_ids: set[str],
    responses: Sequence[Invocation],
    max_size: int | None,
) -> dict[str, Any]:
    """`arguments` ready to go upstream as far as result references go (RFC 8620 §3.7).

    A reference whose resultOf is first answered inside this batch keeps
    travelling, renamed to the upstream call id; every other one is resolved
    against `responses` (the client-visible responses so far), which raises
    MethodError invalidResultReference/invalidArguments/requestTooLarge as a
    local call would.
    """
    if not any(name.startswith("#") for name in arguments):
        return arguments
    kept: dict[str, Any] = {}
    local: dict[str, Any] = {}
    for name, value in arguments.items():
        if not name.startswith("#"):
            kept[name] = value
            continue
        if name[1:] in arguments:
            raise MethodError("invalidArguments", f"argument {name[1:]!r} is given both as a value and as {name!r}")
        result_of = value.get("resultOf") if isinstance(value, dict) else None
        # §3.7: the first response with that id; an earlier call outside the batch comes first.
        if isinstance(result_of, str) and result_of not in earlier_ids and result_of in batch_ids:
            kept[name] = {**value, "resultOf": batch_ids[result_of]}
        else:
            local[name] = value
    if local:
        kept.update(arguments_resolve(local, responses=responses, max_size=max_size))
    return kept


def response_split(
    *,
    answer: dict[str, Any],
    calls: Sequence[Invocation],
    created_ids: dict[str, str],
    upstream_to_proxy: dict[str, str],
) -> list[list[Invocation]]:
    """The upstream Response (RFC 8620 §3.4) as each call's responses, in the client's terms.

    Upstream call ids are the calls' positions ("0", "1", ...), matched
    exactly (no int() of what the upstream sent: "²" or 5,000 digits raise). An
    entry that is not [String, Object, String] or answers no call is dropped;
    a call left without any answer gets serverFail. An upstream error naming
    limit maxSizeResponse loses that member: the upstream's Response was full,
    not this one, so the engine must not stop the calls after it. The
    Response's createdIds merge into `created_ids`, except that a creation id
    `created_ids` already maps to another id is only remapped when one of
    these responses lists it in "created" (RFC 8620 §5.3).
    """
    by_position: list[list[Invocation]] = [[] for _ in calls]
    positions = {str(index): index for index in range(len(calls))}
    created_now: set[str] = set()  # creation ids in the "created" of this answer's responses
    method_responses = answer.get("methodResponses")
    if isinstance(method_responses, list) and len(method_responses) > RESPONSES_PER_CALL_MAX * len(calls):
        # No call answers with that many responses (§3.4: one each, a few implicit ones such as
        # /copy's /set): a broken or hostile upstream; building them all would cost memory and time.
        logger.warning("upstream answered %d call(s) with %d responses; none used", len(calls), len(method_responses))
        too_many = MethodError("serverFail", "the upstream server's answer has more responses than calls")
        return [_error(call, too_many) for call in calls]
    for entry in method_responses if isinstance(method_responses, list) else []:
        if not (isinstance(entry, list) and len(entry) == 3):
            continue
        name, arguments, upstream_call_id = entry
        if not (isinstance(name, str) and isinstance(arguments, dict) and isinstance(upstream_call_id, str)):
            continue
        position = positions.get(upstream_call_id)
        if position is None:
            continue
        call = calls[position]
        if name == "error" and arguments.get("limit") == RESPONSE_SIZE_LIMIT_NAME:
            arguments = {key: value for key, value in arguments.items() if key != "limit"}
            arguments.setdefault("description", "the upstream server's response would pass its size limit "
                                                "(maxSizeResponse); ask for less")
        try:
            rewritten = arguments_from_upstream(name, arguments, upstream_to_proxy)
        except UnknownAccountId as exc:
            logger.warning("upstream answered %s for an account it does not list for this login", name)
            by_position[position].extend(_error(call, MethodError(
                "serverFail", f"the upstream server's answer ({exc.argument}) names an account this login does not have"
            )))
            continue
        by_position[position].append(Invocation(name=name, arguments=rewritten, call_id=call.call_id))
        created = arguments.get("created")
        if isinstance(created, dict):
            created_now.update(key for key in created if isinstance(key, str))
    upstream_created = answer.get("createdIds")
    if isinstance(upstream_created, dict):
        created_ids.update(
            (creation_id, object_id)
            for creation_id, object_id in upstream_created.items()
            if isinstance(creation_id, str) and isinstance(object_id, str)
            # A creation id the request already maps (a local call's, another upstream's) changes
            # only when this upstream really created it now (§5.3: the latest creation wins);
            # else an upstream could aim a later local "#id" reference at another local object.
            and (creation_id not in created_ids or created_ids[creation_id] == object_id
                 or creation_id in created_now)
        )
    missing = MethodError("serverFail", "the upstream server sent no response to this call")
    return [produced or _error(call, missing) for call, produced in zip(calls, by_position, strict=True)]


class PassthroughForwarder:
    """The forwarder backends.apps registers with jmapcore.passthrough."""

    def route(self, *, pool: Pool, accounts: dict[str, Account]) -> PassthroughRouter | None:
        if not any(account.kind == Account.Kind.JMAP for account in accounts.values()):
            return None
        return PassthroughRouter(upstream_targets(accounts.values()), accounts)
