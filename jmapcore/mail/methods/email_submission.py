"""EmailSubmission/get, /changes, /query, /queryChanges and /set (RFC 8621 §7).

Submissions are stored in the proxy (SMTP keeps no record) and sent through
the account's SMTP server:

- create (§7.5): identityId must be a live Identity of the account and
  emailId a live Email (either may be a "#creationId" from earlier in the
  request); the message is fetched as it is now, its Bcc fields removed, and
  sent at once (undoStatus "final", deliveryStatus per recipient) unless
  envelope.mailFrom carries FUTURERELEASE HOLDFOR/HOLDUNTIL (RFC 4865), in
  which case it is held (undoStatus "pending", sendAt the release time) and
  sent by jmapcore.mail.submission_send.submissions_send_due;
- update: the only change allowed is undoStatus "pending" -> "canceled";
  any other value is invalidProperties, a submission no longer pending (or
  being sent right now) is cannotUnsend;
- destroy: removes the record only and MUST NOT affect delivery (§7.5): a
  pending submission destroyed is still sent when due; cancel it first to
  stop it;
- onSuccessUpdateEmail / onSuccessDestroyEmail (§7.5): after all creates,
  updates and destroys, one implicit Email/set applies them to the emails of
  the submissions that succeeded, its response following this one. For a
  held submission they apply at submission time.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, MethodCall, Property
from jmapcore.datatypes.orm import JmapObject
from jmapcore.datatypes.sql import FilterBuilder, sort_field
from jmapcore.datatypes.standard import (
    register_standard_methods,
    standard_changes,
    standard_get,
    standard_query,
    standard_query_changes,
    standard_set,
)
from jmapcore.datatypes.values import InvalidValue, Validator, jmap_id, utc_date, utc_date_dump
from jmapcore.mail.email_set import email_set
from jmapcore.mail.methods.identity import identity_default_ensure
from jmapcore.mail.submission_capability import MAX_DELAYED_SEND, SUBMISSION_CAPABILITY
from jmapcore.mail.submission_envelope import envelope_validate
from jmapcore.mail.submission_plan import submission_plan
from jmapcore.mail.submission_send import submission_cancel, submission_send_now
from jmapcore.models.submission import EmailSubmission
from jmapcore.protocol.arguments import is_id
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.registry import method

UNDO_STATUSES = tuple(EmailSubmission.UndoStatus.values)


def undo_status() -> Validator:
    def check(value: Any) -> str:
        if value not in UNDO_STATUSES:
            raise InvalidValue("must be one of " + ", ".join(UNDO_STATUSES))
        return str(value)

    return check


def _id_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(is_id(item) for item in value):
        raise InvalidValue("must be a list of Ids")
    return value


def _filter_in(field: str) -> FilterBuilder:
    def build(value: Any) -> Q:
        return Q(**{f"{field}__in": _id_list(value)})

    return build


def _filter_undo_status(value: Any) -> Q:
    return Q(undo_status=undo_status()(value))


def _filter_send_at(lookup: str) -> FilterBuilder:
    def build(value: Any) -> Q:
        return Q(**{f"send_at__{lookup}": utc_date()(value)})

    return build


class EmailSubmissionType(DataType):
    """RFC 8621 §7.1 properties, §7.3 filters, §7.4 sorts."""

    name = "EmailSubmission"
    capability = SUBMISSION_CAPABILITY
    model = EmailSubmission
    id_prefix = "s"
    properties = (
        Property("id", server_set=True),
        Property("identityId", validate=jmap_id(), field="identity_id", required=True, immutable=True,
                 reference="id"),
        Property("emailId", validate=jmap_id(), field="email_id", required=True, immutable=True, reference="id"),
        Property("threadId", server_set=True, field="thread_id"),
        Property("envelope", validate=envelope_validate, immutable=True, default=None),
        Property("sendAt", server_set=True, field="send_at", dump=utc_date_dump),
        Property("undoStatus", validate=undo_status(), field="undo_status"),
        Property("deliveryStatus", server_set=True, field="delivery_status"),
        Property("dsnBlobIds", server_set=True, field="dsn_blob_ids"),
        Property("mdnBlobIds", server_set=True, field="mdn_blob_ids"),
    )
    filters = {
        "identityIds": _filter_in("identity_id"),
        "emailIds": _filter_in("email_id"),
        "threadIds": _filter_in("thread_id"),
        "undoStatus": _filter_undo_status,
        "before": _filter_send_at("lt"),
        "after": _filter_send_at("gte"),
    }
    # RFC 8621 §7.4 names the sendAt sort "sentAt"; "sendAt" is accepted too.
    sorts = {
        "emailId": sort_field("email_id"),
        "threadId": sort_field("thread_id"),
        "sentAt": sort_field("send_at"),
        "sendAt": sort_field("send_at"),
    }
    query_immutable = frozenset(
        {"identityIds", "emailIds", "threadIds", "before", "after", "emailId", "threadId", "sentAt", "sendAt"}
    )

    def validate_create(self, call: MethodCall, values: dict[str, Any]) -> None:
        if "undoStatus" in values:
            raise SetErrorException(
                SetError("invalidProperties", "undoStatus: set by the server on create", properties=["undoStatus"])
            )

    def backend_create(self, call: MethodCall, values: dict[str, Any]) -> dict[str, Any]:
        """Plan, then send now or hold (RFC 8621 §7.5); the row's server-set columns."""
        now = timezone.now().replace(microsecond=0)
        plan = submission_plan(
            account=call.account,
            identity_id=values["identityId"],
            email_id=values["emailId"],
            envelope=values.get("envelope"),
            now=now,
            max_delay=MAX_DELAYED_SEND,
        )
        fields: dict[str, Any] = {
            "thread_id": plan.email.thread_id,
            "envelope": plan.envelope,
            "send_at": plan.send_at,
        }
        if plan.held:
            return {
                **fields,
                "undo_status": EmailSubmission.UndoStatus.PENDING,
                "delivery_status": None,
                "message": plan.message,
                "mail_from_params": plan.mail_from_params,
            }
        status = submission_send_now(
            account=call.account, envelope=plan.envelope, message=plan.message,
            mail_from_params=plan.mail_from_params,
        )
        return {**fields, "undo_status": EmailSubmission.UndoStatus.FINAL, "delivery_status": status}

    def validate_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> None:
        assert isinstance(row, EmailSubmission)
        wanted = changes.get("undoStatus")
        if wanted != EmailSubmission.UndoStatus.CANCELED:
            raise SetErrorException(
                SetError("invalidProperties", 'undoStatus: may only be set to "canceled"', properties=["undoStatus"])
            )
        if row.undo_status != EmailSubmission.UndoStatus.PENDING:
            raise SetErrorException(SetError("cannotUnsend", f"the submission is {row.undo_status}"))

    def backend_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> dict[str, Any]:
        if not submission_cancel(pk=row.pk, now=timezone.now()):
            raise SetErrorException(SetError("cannotUnsend", "the submission is being sent or was already sent"))
        return {"undo_status": EmailSubmission.UndoStatus.CANCELED, "message": b"", "mail_from_params": {}}

    def fields_from_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """envelope and undoStatus are stored as the backend hooks decide them
        (the generated envelope; the server-set undoStatus on create)."""
        return {
            column: value
            for column, value in super().fields_from_values(values).items()
            if column not in ("envelope", "undo_status")
        }

    def created_json(self, row: JmapObject, given: Collection[str]) -> dict[str, Any]:
        """The envelope (generated when null) and undoStatus are always reported."""
        return super().created_json(row, given=set(given) - {"envelope", "undoStatus"})


EMAIL_SUBMISSION_TYPE = EmailSubmissionType()
# Only the DATATYPES entry: the handlers below check the account first.
register_standard_methods(EMAIL_SUBMISSION_TYPE, methods=())


def _prepare(ctx: CallContext, args: dict[str, Any]) -> Account:
    account = ctx.account(args.get("accountId"))
    if account.kind != Account.Kind.IMAP:
        raise MethodError("accountNotSupportedByMethod", "submissions are served by the passthrough server")
    identity_default_ensure(account=account)
    return account


@method("EmailSubmission/get", capability=SUBMISSION_CAPABILITY)
def email_submission_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §7.1: standard /get."""
    _prepare(ctx, args)
    return standard_get(EMAIL_SUBMISSION_TYPE, ctx, args)


@method("EmailSubmission/changes", capability=SUBMISSION_CAPABILITY)
def email_submission_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §7.2: standard /changes."""
    _prepare(ctx, args)
    return standard_changes(EMAIL_SUBMISSION_TYPE, ctx, args)


@method("EmailSubmission/query", capability=SUBMISSION_CAPABILITY)
def email_submission_query(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §7.3: standard /query with identityIds, emailIds, threadIds,
    undoStatus, before, after; sorts emailId, threadId, sentAt."""
    _prepare(ctx, args)
    return standard_query(EMAIL_SUBMISSION_TYPE, ctx, args)


@method("EmailSubmission/queryChanges", capability=SUBMISSION_CAPABILITY)
def email_submission_query_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §7.4: standard /queryChanges."""
    _prepare(ctx, args)
    return standard_query_changes(EMAIL_SUBMISSION_TYPE, ctx, args)


# -- /set and its implicit Email/set ---------------------------------------------


def _on_success_arguments(args: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    update = args.get("onSuccessUpdateEmail")
    destroy = args.get("onSuccessDestroyEmail")
    if update is not None and (
        not isinstance(update, dict) or not all(isinstance(patch, dict) for patch in update.values())
    ):
        raise MethodError("invalidArguments", "onSuccessUpdateEmail: must be a map of ids to PatchObjects")
    if destroy is not None and (not isinstance(destroy, list) or not all(isinstance(i, str) for i in destroy)):
        raise MethodError("invalidArguments", "onSuccessDestroyEmail: must be a list of ids")
    return update or {}, destroy or []


def _succeeded(response: dict[str, Any]) -> tuple[dict[str, str], set[str]]:
    """(creation id -> new id, ids updated or destroyed) in a /set response."""
    created = {cid: entry["id"] for cid, entry in (response.get("created") or {}).items()}
    touched = set(response.get("updated") or {}) | set(response.get("destroyed") or [])
    return created, touched


def _submission_id(key: str, created: dict[str, str], touched: set[str]) -> str | None:
    """The id of a submission that succeeded in this call, for an onSuccess key
    ("#creationId" or an id); None when it did not succeed."""
    if key.startswith("#"):
        return created.get(key[1:])
    return key if key in touched else None


def email_submission_on_success(
    *, ctx: CallContext, account: Account, response: dict[str, Any], update: dict[str, Any], destroy: list[str]
) -> dict[str, Any] | None:
    """The implicit Email/set of RFC 8621 §7.5, or None when there is nothing to do."""
    created, touched = _succeeded(response)
    wanted = {key for key in [*update, *destroy] if _submission_id(key, created, touched)}
    ids = {_submission_id(key, created, touched) for key in wanted}
    email_of = dict(
        EmailSubmission.objects.filter(account=account, jmap_id__in=ids).values_list("jmap_id", "email_id")
    )
    email_update: dict[str, Any] = {}
    email_destroy: list[str] = []
    for key, patch in update.items():
        submission = _submission_id(key, created, touched)
        if submission in email_of:
            email_update[email_of[submission]] = patch
    for key in destroy:
        submission = _submission_id(key, created, touched)
        if submission in email_of and email_of[submission] not in email_destroy:
            email_destroy.append(email_of[submission])
    if not email_update and not email_destroy:
        return None
    arguments: dict[str, Any] = {"accountId": account.accountid}
    if email_update:
        arguments["update"] = email_update
    if email_destroy:
        arguments["destroy"] = email_destroy
    return email_set(ctx, arguments)


@method("EmailSubmission/set", capability=SUBMISSION_CAPABILITY)
def email_submission_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §7.5: standard /set plus onSuccessUpdateEmail / onSuccessDestroyEmail."""
    account = _prepare(ctx, args)
    update, destroy = _on_success_arguments(args)
    response = standard_set(EMAIL_SUBMISSION_TYPE, ctx, args)
    implicit = email_submission_on_success(ctx=ctx, account=account, response=response, update=update, destroy=destroy)
    if implicit is not None:
        ctx.extra_responses.append(("Email/set", implicit))
    return response
