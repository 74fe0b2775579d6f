"""Identity/get, Identity/changes, Identity/set (RFC 8621 §6), stored in the proxy.

Every IMAP/SMTP account has a default identity for its own address, created
on first access (any Identity method) with mayDelete false: destroying it
answers `forbidden`. A client may create further identities only for
addresses the account may send from (RFC 8621 §6.3, else `forbiddenFrom`):
the account's email, and the email of any identity that already exists
(operators pre-create those), where an identity email "*@domain" allows every
address at that domain (RFC 8621 §6). `email` is immutable.
"""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from accounts.models import Account
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, MethodCall, Property
from jmapcore.datatypes.orm import JmapObject, jmap_id_new
from jmapcore.datatypes.standard import register_standard_methods, standard_changes, standard_get, standard_set
from jmapcore.datatypes.values import InvalidValue, Validator, string
from jmapcore.mail.submission_capability import SUBMISSION_CAPABILITY
from jmapcore.models.identity import Identity
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.registry import method
from jmapcore.state import state_change_atomic

MAX_SIGNATURE = 64 * 1024
_FORBIDDEN_IN_ADDRESS = set(" \t\r\n<>,;\"()[]\\")


def _email_ok(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain) and not (_FORBIDDEN_IN_ADDRESS & set(value)) and len(value) <= 255


def email_string() -> Validator:
    """An addr-spec ("local@domain", or "*@domain" for a domain-wide identity)."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or not _email_ok(value):
            raise InvalidValue("must be an email address")
        return value

    return check


def email_addresses() -> Validator:
    """EmailAddress[]|null (RFC 8621 §4.1.2.3): objects with name (String|null) and email."""

    def check(value: Any) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise InvalidValue("must be an EmailAddress[] or null")
        result = []
        for item in value:
            if not isinstance(item, dict) or set(item) - {"name", "email"} or "email" not in item:
                raise InvalidValue("each EmailAddress needs email and may have name")
            name = item.get("name")
            if name is not None and not isinstance(name, str):
                raise InvalidValue("EmailAddress name must be a String or null")
            if not isinstance(item["email"], str) or not _email_ok(item["email"]):
                raise InvalidValue("EmailAddress email must be an email address")
            result.append({"name": name, "email": item["email"]})
        return result

    return check


def identity_email_allowed(*, account: Account, email: str) -> bool:
    """Whether `account` may send as `email` (RFC 8621 §6: "*@domain" covers the domain)."""
    wanted = email.lower()
    domain = wanted.rpartition("@")[2]
    allowed = {account.email.lower()}
    allowed.update(
        address.lower()
        for address in Identity.objects.filter(account=account, destroyed=False).values_list("email", flat=True)
    )
    return wanted in allowed or f"*@{domain}" in allowed


class _AlreadyThere(Exception):
    pass


def identity_default_ensure(*, account: Account) -> None:
    """Create the account's default identity if it has none (one new modseq).

    Concurrent first accesses are settled inside the write transaction (the
    modseq UPDATE locks the account row) and by the one-default constraint.
    """
    defaults = Identity.objects.filter(account=account, is_default=True)
    if defaults.exists():
        return
    try:
        with state_change_atomic(account=account, type_names=[IdentityType.name]) as modseq:
            if defaults.exists():
                raise _AlreadyThere  # rolls back: the modseq is not consumed
            Identity.objects.create(
                account=account,
                jmap_id=jmap_id_new(IdentityType.id_prefix),
                created_modseq=modseq,
                updated_modseq=modseq,
                name=account.name,
                email=account.email,
                may_delete=False,
                is_default=True,
            )
    except (_AlreadyThere, IntegrityError):
        pass


class IdentityType(DataType):
    """RFC 8621 §6.1 properties. No /query: RFC 8621 defines none for Identity."""

    name = "Identity"
    capability = SUBMISSION_CAPABILITY
    model = Identity
    id_prefix = "i"
    properties = (
        Property("id", server_set=True),
        Property("name", validate=string(max_length=255), default=""),
        Property("email", validate=email_string(), required=True, immutable=True),
        Property("replyTo", validate=email_addresses(), field="reply_to", default=None),
        Property("bcc", validate=email_addresses(), default=None),
        Property("textSignature", validate=string(max_length=MAX_SIGNATURE), field="text_signature", default=""),
        Property("htmlSignature", validate=string(max_length=MAX_SIGNATURE), field="html_signature", default=""),
        Property("mayDelete", server_set=True, field="may_delete"),
    )

    def validate_create(self, call: MethodCall, values: dict[str, Any]) -> None:
        email = values["email"]
        if not identity_email_allowed(account=call.account, email=email):
            raise SetErrorException(SetError("forbiddenFrom", f"this account may not send as {email}"))

    def validate_destroy(self, call: MethodCall, row: JmapObject) -> None:
        assert isinstance(row, Identity)
        if not row.may_delete:
            raise SetErrorException(SetError("forbidden", "this identity cannot be destroyed (mayDelete is false)"))


IDENTITY_TYPE = IdentityType()
# Only the DATATYPES entry: the handlers below add the first-access default.
register_standard_methods(IDENTITY_TYPE, methods=())


def _prepare(ctx: CallContext, args: dict[str, Any]) -> None:
    """Resolve the account (errors as the engine gives them) and make sure its
    default identity exists before the state is read."""
    account = ctx.account(args.get("accountId"))
    if account.kind != Account.Kind.IMAP:
        raise MethodError("accountNotSupportedByMethod", "identities are served by the passthrough server")
    identity_default_ensure(account=account)


@method("Identity/get", capability=SUBMISSION_CAPABILITY)
def identity_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §6.1: standard /get."""
    _prepare(ctx, args)
    return standard_get(IDENTITY_TYPE, ctx, args)


@method("Identity/changes", capability=SUBMISSION_CAPABILITY)
def identity_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §6.2: standard /changes."""
    _prepare(ctx, args)
    return standard_changes(IDENTITY_TYPE, ctx, args)


@method("Identity/set", capability=SUBMISSION_CAPABILITY)
def identity_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §6.3: standard /set; forbiddenFrom for an address the account may not use."""
    _prepare(ctx, args)
    return standard_set(IDENTITY_TYPE, ctx, args)
