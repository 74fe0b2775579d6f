"""VacationResponse/get and VacationResponse/set (RFC 8621 §8), stored in the proxy.

The type is a singleton: each account has exactly one object, id "singleton",
created (disabled) on first access. /set may only update it; a create or a
destroy answers the `singleton` SetError (RFC 8620 §5.3).

The settings are stored here; sending the automatic replies is not done by
the proxy (it would take a Sieve script on the backend, RFC 5230).
"""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from accounts.models import Account
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, MethodCall, Property
from jmapcore.datatypes.orm import JmapObject
from jmapcore.datatypes.standard import register_standard_methods, standard_get, standard_set
from jmapcore.datatypes.values import boolean, string, utc_date, utc_date_dump
from jmapcore.mail.submission_capability import VACATION_CAPABILITY
from jmapcore.models.vacation import VACATION_SINGLETON_ID, VacationResponse
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.registry import method
from jmapcore.state import state_change_atomic

MAX_BODY = 1024 * 1024


def vacation_response_ensure(*, account: Account) -> None:
    """Create the account's (disabled) VacationResponse if it has none."""
    existing = VacationResponse.objects.filter(account=account, jmap_id=VACATION_SINGLETON_ID)
    if existing.exists():
        return
    try:
        with state_change_atomic(account=account, type_names=[VacationResponseType.name]) as modseq:
            VacationResponse.objects.create(
                account=account, jmap_id=VACATION_SINGLETON_ID, created_modseq=modseq, updated_modseq=modseq
            )
    except IntegrityError:  # a concurrent first access created it
        pass


class VacationResponseType(DataType):
    """RFC 8621 §8 properties."""

    name = "VacationResponse"
    capability = VACATION_CAPABILITY
    model = VacationResponse
    id_prefix = "v"
    properties = (
        Property("id", server_set=True),
        Property("isEnabled", validate=boolean(), field="is_enabled", default=False),
        Property("fromDate", validate=utc_date(nullable=True), dump=utc_date_dump, field="from_date", default=None),
        Property("toDate", validate=utc_date(nullable=True), dump=utc_date_dump, field="to_date", default=None),
        Property("subject", validate=string(nullable=True, max_length=998), default=None),
        Property("textBody", validate=string(nullable=True, max_length=MAX_BODY), field="text_body", default=None),
        Property("htmlBody", validate=string(nullable=True, max_length=MAX_BODY), field="html_body", default=None),
    )

    def validate_create(self, call: MethodCall, values: dict[str, Any]) -> None:
        raise SetErrorException(SetError("singleton", "VacationResponse has exactly one object, id \"singleton\""))

    def validate_destroy(self, call: MethodCall, row: JmapObject) -> None:
        raise SetErrorException(SetError("singleton", "the VacationResponse singleton cannot be destroyed"))


VACATION_RESPONSE_TYPE = VacationResponseType()
register_standard_methods(VACATION_RESPONSE_TYPE, methods=())


def _prepare(ctx: CallContext, args: dict[str, Any]) -> None:
    account = ctx.account(args.get("accountId"))
    if account.kind != Account.Kind.IMAP:
        raise MethodError("accountNotSupportedByMethod", "vacation responses are served by the passthrough server")
    vacation_response_ensure(account=account)


@method("VacationResponse/get", capability=VACATION_CAPABILITY)
def vacation_response_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §8.1: standard /get of the singleton."""
    _prepare(ctx, args)
    return standard_get(VACATION_RESPONSE_TYPE, ctx, args)


@method("VacationResponse/set", capability=VACATION_CAPABILITY)
def vacation_response_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §8.2: standard /set; only updates of "singleton" can succeed."""
    _prepare(ctx, args)
    return standard_set(VACATION_RESPONSE_TYPE, ctx, args)
