"""Email/set (RFC 8621 §4.6), Email/import (§4.8) and Email/copy (§4.7).

Creates are built into RFC 5322 bytes (jmapcore.mime.build) and APPENDed;
imports APPEND an uploaded blob; copies fetch the message from the source
account and APPEND it into the target. Each object succeeds or fails alone,
with the server written before the cache (DESIGN.md "Writes").
"""
from __future__ import annotations

import logging
import re
from typing import Any

from accounts.models import Account
from backends.base import BackendError
from jmapcore.blobs import BlobError, blob_open
from jmapcore.context import CallContext
from jmapcore.datatypes.standard import reference_resolve, set_arguments_read
from jmapcore.datatypes.values import InvalidValue, utc_date
from jmapcore.limits import LIMITS
from jmapcore.mail.email_store import email_store
from jmapcore.mail.email_update import email_destroy, email_patch_read, email_update
from jmapcore.mail.keywords import keywords_validate
from jmapcore.mail.message_source import email_raw
from jmapcore.mime.build import BlobNotFound as MimeBlobNotFound
from jmapcore.mime.build import EmailInvalid, email_build
from jmapcore.models.mail import Email
from jmapcore.protocol.arguments import is_id, read_bool, read_object, read_string
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.state import type_state_get

logger = logging.getLogger(__name__)
# Properties an Email/set create may carry besides what email_build reads.
STORE_PROPERTIES = ("mailboxIds", "keywords", "receivedAt")
# Properties the server sets; a create giving them is invalid (RFC 8621 §4.6).
SERVER_SET = ("id", "blobId", "threadId", "size", "hasAttachment", "preview")


def _error_json(error: Exception) -> dict[str, Any]:
    if isinstance(error, SetErrorException):
        return error.error.to_json()
    if isinstance(error, MimeBlobNotFound):
        return SetError("blobNotFound", error.description, extra={"notFound": list(error.not_found)}).to_json()
    if isinstance(error, EmailInvalid):
        return SetError("invalidProperties", error.description, properties=list(error.properties)).to_json()
    if isinstance(error, BackendError):
        return SetError("serverFail", f"backend: {error}").to_json()
    logger.exception("unexpected error in an Email write", exc_info=error)
    return SetError("serverFail", "internal error").to_json()


def _mailbox_ids(ctx: CallContext, value: Any) -> dict[str, bool]:
    if not isinstance(value, dict) or not value or not all(item is True for item in value.values()):
        raise InvalidValue("at least one mailbox id set to true")
    resolved: dict[str, bool] = {}
    for key in value:
        real = reference_resolve(ctx, key) if isinstance(key, str) else None
        if real is None or not is_id(real):
            raise InvalidValue(f"unknown mailbox {key}")
        resolved[real] = True
    return resolved


def _store_values(
    ctx: CallContext, raw: dict[str, Any], problems: dict[str, str]
) -> tuple[dict[str, bool], dict[str, bool], Any]:
    """mailboxIds, keywords and receivedAt of a create; what is invalid goes
    into `problems` (property -> why) so that one SetError names them all."""
    mailbox_ids: dict[str, bool] = {}
    keywords: dict[str, bool] = {}
    received_at = None
    try:
        mailbox_ids = _mailbox_ids(ctx, raw.get("mailboxIds"))
    except InvalidValue as error:
        problems["mailboxIds"] = str(error)
    try:
        keywords = keywords_validate(raw.get("keywords", {}) or {})
    except InvalidValue as error:
        problems["keywords"] = str(error)
    if raw.get("receivedAt") is not None:
        try:
            received_at = utc_date()(raw["receivedAt"])
        except InvalidValue as error:
            problems["receivedAt"] = str(error)
    return mailbox_ids, keywords, received_at


def _problems_raise(problems: dict[str, str]) -> None:
    if problems:
        description = "; ".join(f"{name}: {why}" for name, why in sorted(problems.items()))
        raise SetErrorException(SetError("invalidProperties", description, properties=sorted(problems)))


def _store_arguments(ctx: CallContext, raw: dict[str, Any]) -> tuple[dict[str, bool], dict[str, bool], Any]:
    problems: dict[str, str] = {}
    values = _store_values(ctx, raw, problems)
    _problems_raise(problems)
    return values


def _blob_bytes(account: Account) -> Any:
    def read(blob_id: str) -> tuple[bytes, str] | None:
        try:
            opened = blob_open(account=account, blob_id=blob_id)
        except BlobError:
            return None
        with opened.file as handle:
            return handle.read(), opened.type

    return read


_FIELD_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")


def message_shaped(raw: bytes) -> bool:
    """Whether `raw` opens with an RFC 5322 header section (§2.2, §3.5): one
    field or more, each line a field or a folded continuation, up to the blank
    line or the end. Anything else cannot be an email (RFC 8621 §4.8 invalidEmail)."""
    end = len(raw)
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = raw.find(separator)
        if 0 <= index < end:
            end = index
    lines = raw[:end].replace(b"\r\n", b"\n").split(b"\n")
    if lines[-1] == b"":  # a header section that ends the message with its line break
        lines.pop()
    if not lines or not _FIELD_LINE.match(lines[0]):
        return False
    return all(_FIELD_LINE.match(line) or line[:1] in (b" ", b"\t") for line in lines[1:])


def _created(email: Email) -> dict[str, Any]:
    return {
        "id": email.jmap_id,
        "blobId": email.blob_id,
        "threadId": email.thread_id,
        "size": email.size,
    }


def _create_one(ctx: CallContext, account: Account, raw: object) -> Email:
    if not isinstance(raw, dict):
        raise SetErrorException(SetError("invalidProperties", "a create must be an object", properties=[]))
    # Every invalid property is named, not only the first (RFC 8620 §5.3).
    problems = {name: "set by the server" for name in SERVER_SET if name in raw}
    mailbox_ids, keywords, received_at = _store_values(ctx, raw, problems)
    try:
        message = email_build(
            {key: value for key, value in raw.items() if key not in STORE_PROPERTIES},
            blob_content=_blob_bytes(account),
        )
    except MimeBlobNotFound:
        _problems_raise(problems)
        raise
    except EmailInvalid as error:
        for name in error.properties:
            problems.setdefault(name, error.description)
        _problems_raise(problems)
        raise
    _problems_raise(problems)
    return email_store(
        account=account, raw=message, mailbox_ids=mailbox_ids, keywords=keywords, received_at=received_at
    )


def email_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Email/set: creates, then updates, then destroys (RFC 8620 §5.3)."""
    account = ctx.account(args.get("accountId"), write=True)
    if_in_state = read_string(args, "ifInState")
    create, update, destroy = set_arguments_read(args)
    old_state = type_state_get(account=account, type_name="Email")
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch")
    live = Email.objects.filter(account=account, destroyed=False)

    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    for creation_id, raw in create.items():
        try:
            email = _create_one(ctx, account, raw)
        except Exception as error:
            not_created[creation_id] = _error_json(error)
            continue
        ctx.created_ids[creation_id] = email.jmap_id
        created[creation_id] = _created(email)

    destroy_ids = [(item, reference_resolve(ctx, item)) for item in destroy]
    doomed = {real for _, real in destroy_ids if real}
    updated: dict[str, Any] = {}
    not_updated: dict[str, Any] = {}
    for raw_id, patch in update.items():
        real = reference_resolve(ctx, raw_id)
        key = real or raw_id
        if real in doomed:
            not_updated[key] = SetError("willDestroy").to_json()
            continue
        target = live.filter(jmap_id=real).first() if real else None
        if target is None:
            not_updated[key] = SetError("notFound").to_json()
            continue
        try:
            keywords, mailbox_ids = email_patch_read(
                email=target, patch=patch, resolve=lambda value: reference_resolve(ctx, value) or value
            )
            if keywords is not None or mailbox_ids is not None:
                email_update(account=account, email=target, keywords=keywords, mailbox_ids=mailbox_ids)
        except Exception as error:
            not_updated[key] = _error_json(error)
            continue
        updated[key] = None

    destroyed: list[str] = []
    not_destroyed: dict[str, Any] = {}
    for raw_id, real in destroy_ids:
        key = real or raw_id
        victim = live.filter(jmap_id=real).first() if real else None
        if victim is None:
            not_destroyed[key] = SetError("notFound").to_json()
            continue
        try:
            email_destroy(account=account, email=victim)
        except Exception as error:
            not_destroyed[key] = _error_json(error)
            continue
        destroyed.append(key)

    return {
        "accountId": account.accountid,
        "oldState": old_state,
        "newState": type_state_get(account=account, type_name="Email"),
        "created": created or None,
        "updated": updated or None,
        "destroyed": destroyed or None,
        "notCreated": not_created or None,
        "notUpdated": not_updated or None,
        "notDestroyed": not_destroyed or None,
    }


def email_import(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Email/import (RFC 8621 §4.8): APPEND uploaded messages."""
    account = ctx.account(args.get("accountId"), write=True)
    if_in_state = read_string(args, "ifInState")
    emails = read_object(args, "emails")
    if emails is None:
        raise MethodError("invalidArguments", "emails: required")
    if not all(is_id(key) for key in emails):
        raise MethodError("invalidArguments", "emails: creation ids must be Ids")
    if len(emails) > LIMITS.maxObjectsInSet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInSet} emails per Email/import")
    old_state = type_state_get(account=account, type_name="Email")
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch")
    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    read = _blob_bytes(account)
    for creation_id, raw in emails.items():
        try:
            if not isinstance(raw, dict):
                raise SetErrorException(
                    SetError("invalidProperties", "an EmailImport must be an object", properties=[])
                )
            problems: dict[str, str] = {}
            mailbox_ids, keywords, received_at = _store_values(ctx, raw, problems)
            content = None
            if not isinstance(raw.get("blobId"), str):
                problems["blobId"] = "required"
            else:
                blob_id = reference_resolve(ctx, raw["blobId"]) or raw["blobId"]
                content = read(blob_id)
                if content is None:
                    # RFC 8621 §4.8: a blobId that does not exist is invalidProperties, not blobNotFound.
                    problems["blobId"] = f"no blob {blob_id}"
            _problems_raise(problems)
            if content is None or not message_shaped(content[0]):
                raise SetErrorException(SetError("invalidEmail", f"blob {blob_id} is not an RFC 5322 message"))
            email = email_store(
                account=account, raw=content[0], mailbox_ids=mailbox_ids, keywords=keywords, received_at=received_at
            )
        except Exception as error:
            not_created[creation_id] = _error_json(error)
            continue
        ctx.created_ids[creation_id] = email.jmap_id
        created[creation_id] = _created(email)
    return {
        "accountId": account.accountid,
        "oldState": old_state,
        "newState": type_state_get(account=account, type_name="Email"),
        "created": created or None,
        "notCreated": not_created or None,
    }


def email_copy(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Email/copy (RFC 8621 §4.7): between two accounts of the caller's login."""
    from_account = ctx.account(args.get("fromAccountId"))
    account = ctx.account(args.get("accountId"), write=True)
    if from_account.pk == account.pk:
        raise MethodError("invalidArguments", "fromAccountId and accountId must differ")
    if_from = read_string(args, "ifFromInState")
    if_in_state = read_string(args, "ifInState")
    create = read_object(args, "create") or {}
    destroy_original = read_bool(args, "onSuccessDestroyOriginal", default=False)
    if len(create) > LIMITS.maxObjectsInSet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInSet} emails per Email/copy")
    if if_from is not None and if_from != type_state_get(account=from_account, type_name="Email"):
        raise MethodError("stateMismatch")
    old_state = type_state_get(account=account, type_name="Email")
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch")
    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    originals: list[str] = []
    for creation_id, raw in create.items():
        try:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise SetErrorException(SetError("invalidProperties", "id: required", properties=["id"]))
            source = Email.objects.filter(account=from_account, jmap_id=raw["id"], destroyed=False).first()
            if source is None:
                raise SetErrorException(SetError("notFound", f"no email {raw['id']} in {from_account.accountid}"))
            mailbox_ids, keywords, received_at = _store_arguments(ctx, {**raw, "keywords": raw.get("keywords", {})})
            email = email_store(
                account=account,
                raw=email_raw(account=from_account, email=source),
                mailbox_ids=mailbox_ids,
                keywords=keywords,
                received_at=received_at or source.received_at,
            )
        except Exception as error:
            not_created[creation_id] = _error_json(error)
            continue
        ctx.created_ids[creation_id] = email.jmap_id
        created[creation_id] = _created(email)
        originals.append(raw["id"])
    response = {
        "fromAccountId": from_account.accountid,
        "accountId": account.accountid,
        "oldState": old_state,
        "newState": type_state_get(account=account, type_name="Email"),
        "created": created or None,
        "notCreated": not_created or None,
    }
    if destroy_original and originals:
        # RFC 8621 §4.7: an implicit Email/set on the source account follows.
        implicit = email_set(ctx, {"accountId": from_account.accountid, "destroy": originals})
        ctx.extra_responses.append(("Email/set", implicit))
    return response
