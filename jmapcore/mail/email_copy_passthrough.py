"""Email/copy (RFC 8621 §4.7) when one side is a passthrough account (issue 12, item 3).

`email_copy_routed` is the registered Email/copy handler: between two local
accounts it is jmapcore.mail.email_set.email_copy; when the source or the
target is an account of an upstream JMAP server it copies across:

- into a local (IMAP) account: the upstream email's raw message (its blobId,
  downloaded) is APPENDed with the given mailboxIds, keywords and receivedAt
  (jmapcore.mail.email_store, the same path as a local copy);
- into a passthrough account: the local raw message is uploaded to the
  upstream and Email/import-ed there (RFC 8621 §4.8) with those properties.

Each email succeeds or fails alone (per-object SetError; the upstream's own
SetError is passed on). Properties not given are the source's (§4.7:
keywords and receivedAt are copied unless overridden). With
onSuccessDestroyOriginal only the emails whose copy succeeded are destroyed,
by an implicit Email/set on the source account after every copy is made
(RFC 8620 §5.4), with destroyFromIfInState as its ifInState.

Copies between two accounts of one upstream login never reach here: the
forwarder sends them upstream whole (backends/jmap/forward.py).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from jmapcore.blob_copy_passthrough import BlobSide, blob_side_find
from jmapcore.context import CallContext
from jmapcore.limits import LIMITS
from jmapcore.mail.email_set import _created, _error_json, _store_arguments, email_copy, email_set
from jmapcore.mail.email_store import email_store
from jmapcore.mail.message_source import email_raw
from jmapcore.models.mail import Email
from jmapcore.passthrough_blobs import BlobProblem, UpstreamBlobMissing
from jmapcore.protocol.arguments import read_bool, read_object, read_string
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.state import type_state_get

# An email is read whole into memory to be APPENDed (as every local copy is); bound it.
MAX_EMAIL_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True)
class _Source:
    raw: bytes
    received_at: dt.datetime | None
    keywords: dict[str, bool]


def _is_passthrough(ctx: CallContext, account_id: object) -> bool:
    side = blob_side_find(ctx, account_id)
    return side is not None and side.passthrough is not None


def email_copy_routed(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Email/copy: local between local accounts, across when a side is a passthrough account."""
    if _is_passthrough(ctx, args.get("fromAccountId")) or _is_passthrough(ctx, args.get("accountId")):
        return email_copy_across(ctx, args)
    return email_copy(ctx, args)


def _side_state(side: BlobSide) -> str:
    if side.account is not None:
        return type_state_get(account=side.account, type_name="Email")
    assert side.passthrough is not None
    implementation, target = side.passthrough
    try:
        return implementation.email_state(target=target)
    except BlobProblem as problem:
        raise MethodError("serverFail", f"upstream: {problem.detail}") from None


def _source_read(side: BlobSide, email_id: str) -> _Source:
    if side.account is not None:
        email = Email.objects.filter(account=side.account, jmap_id=email_id, destroyed=False).first()
        if email is None:
            raise SetErrorException(SetError("notFound", f"no email {email_id} in {side.account_id}"))
        return _Source(
            raw=email_raw(account=side.account, email=email),
            received_at=email.received_at,
            keywords={str(key): True for key, value in (email.keywords or {}).items() if value is True},
        )
    assert side.passthrough is not None
    implementation, target = side.passthrough
    try:
        fetched = implementation.email_fetch(target=target, email_id=email_id, limit=MAX_EMAIL_SIZE)
    except UpstreamBlobMissing:
        raise SetErrorException(SetError("notFound", f"no email {email_id} in {side.account_id}")) from None
    return _Source(raw=fetched.raw, received_at=fetched.received_at, keywords=fetched.keywords)


def _copy_one(ctx: CallContext, from_side: BlobSide, to_side: BlobSide, raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise SetErrorException(SetError("invalidProperties", "id: required", properties=["id"]))
    unknown = sorted(set(raw) - {"id", "mailboxIds", "keywords", "receivedAt"})
    if unknown:
        raise SetErrorException(
            SetError("invalidProperties", "only mailboxIds, keywords and receivedAt may be set", properties=unknown)
        )
    # Validated before anything is read, so a bad create costs no download.
    mailbox_ids, keywords, received_at = _store_arguments(ctx, raw)
    source = _source_read(from_side, raw["id"])
    if "keywords" not in raw:
        keywords = source.keywords
    when = received_at or source.received_at
    if to_side.account is not None:
        email = email_store(
            account=to_side.account, raw=source.raw, mailbox_ids=mailbox_ids, keywords=keywords, received_at=when
        )
        return _created(email)
    assert to_side.passthrough is not None
    implementation, target = to_side.passthrough
    return implementation.email_import(
        target=target, raw=source.raw, mailbox_ids=mailbox_ids, keywords=keywords, received_at=when
    )


def _copy_error_json(error: Exception) -> dict[str, Any]:
    if isinstance(error, BlobProblem):
        return SetError("serverFail", f"upstream: {error.detail}").to_json()
    if isinstance(error, UpstreamBlobMissing):
        return SetError("notFound", "the upstream server has no such email").to_json()
    return _error_json(error)


def _originals_destroy(
    ctx: CallContext, from_side: BlobSide, originals: list[str], if_in_state: str | None
) -> tuple[str, dict[str, Any]]:
    """The implicit Email/set destroy on the source account (RFC 8620 §5.4): its (name, arguments)."""
    if from_side.account is not None:
        arguments: dict[str, Any] = {"accountId": from_side.account_id, "destroy": originals}
        if if_in_state is not None:
            arguments["ifInState"] = if_in_state
        try:
            return "Email/set", email_set(ctx, arguments)
        except MethodError as error:
            return "error", error.to_arguments()
    assert from_side.passthrough is not None
    implementation, target = from_side.passthrough
    try:
        if if_in_state is not None and implementation.email_state(target=target) != if_in_state:
            return "error", MethodError("stateMismatch").to_arguments()
        return "Email/set", implementation.email_destroy(target=target, email_ids=originals)
    except BlobProblem as problem:
        return "error", MethodError("serverFail", f"upstream: {problem.detail}").to_arguments()


def email_copy_across(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Email/copy between a local and a passthrough account, either way (module docstring)."""
    from_id = args.get("fromAccountId")
    if not isinstance(from_id, str):
        raise MethodError("invalidArguments", "fromAccountId must be a string")
    from_side = blob_side_find(ctx, from_id)
    if from_side is None:
        raise MethodError("fromAccountNotFound")
    to_id = args.get("accountId")
    if not isinstance(to_id, str):
        raise MethodError("invalidArguments", "accountId must be a string")
    to_side = blob_side_find(ctx, to_id)
    if to_side is None:
        raise MethodError("accountNotFound")
    if to_side.read_only:
        raise MethodError("accountReadOnly")
    if from_side.account_id == to_side.account_id:
        raise MethodError("invalidArguments", "fromAccountId and accountId must differ")
    if_from = read_string(args, "ifFromInState")
    if_in_state = read_string(args, "ifInState")
    destroy_if = read_string(args, "destroyFromIfInState")
    create = read_object(args, "create") or {}
    destroy_original = read_bool(args, "onSuccessDestroyOriginal", default=False)
    if len(create) > LIMITS.maxObjectsInSet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInSet} emails per Email/copy")
    if if_from is not None and if_from != _side_state(from_side):
        raise MethodError("stateMismatch")
    old_state = _side_state(to_side)
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch")

    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    originals: list[str] = []
    for creation_id, raw in create.items():
        try:
            made = _copy_one(ctx, from_side, to_side, raw)
        except Exception as error:
            not_created[creation_id] = _copy_error_json(error)
            continue
        if isinstance(made.get("id"), str):
            ctx.created_ids[creation_id] = made["id"]
        created[creation_id] = made
        originals.append(raw["id"])
    response = {
        "fromAccountId": from_side.account_id,
        "accountId": to_side.account_id,
        "oldState": old_state,
        "newState": _side_state(to_side) if created else old_state,
        "created": created or None,
        "notCreated": not_created or None,
    }
    if destroy_original and originals:
        ctx.extra_responses.append(_originals_destroy(ctx, from_side, originals, destroy_if))
    return response
