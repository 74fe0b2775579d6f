"""Quota/get, /changes, /query, /queryChanges (RFC 9425 §4) over IMAP QUOTA.

Every Quota call first reads GETQUOTAROOT from the server (one round trip)
and writes what moved into the cache at a new modseq, so /changes sees usage
change. IMAP STORAGE is counted in units of 1024 octets (RFC 9208 §5.1): it
becomes an "octets" quota; MESSAGE becomes "count". Quotas are per account
(scope "account") and apply to mail (types ["Mail"]).
"""
from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import Account
from backends.imap.quota import quota_roots_read
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, Property
from jmapcore.datatypes.orm import JmapObject, jmap_id_new
from jmapcore.datatypes.sql import MATCH_ALL, MATCH_NONE, filter_equals, filter_text, sort_field, sort_text
from jmapcore.datatypes.standard import (
    register_standard_methods,
    standard_changes,
    standard_get,
    standard_query,
    standard_query_changes,
)
from jmapcore.datatypes.values import string
from jmapcore.models.quota import Quota
from jmapcore.protocol.errors import MethodError
from jmapcore.registry import CAPABILITIES, capability, method
from jmapcore.state import state_change_atomic

QUOTA_CAPABILITY = "urn:ietf:params:jmap:quota"
RESOURCE_TYPES = {"STORAGE": ("octets", 1024), "MESSAGE": ("count", 1)}


def _quota_account_value(account: Account) -> dict[str, Any] | None:
    return {} if account.kind == Account.Kind.IMAP else None


if QUOTA_CAPABILITY not in CAPABILITIES:
    capability(QUOTA_CAPABILITY, session_value=dict, account_value=_quota_account_value)


def _type_filter(value: Any) -> Q:
    return MATCH_ALL if string()(value) == "Mail" else MATCH_NONE


def _scope_filter(value: Any) -> Q:
    return MATCH_ALL if string()(value) == "account" else MATCH_NONE


class QuotaType(DataType):
    name = "Quota"
    capability = QUOTA_CAPABILITY
    model = Quota
    id_prefix = "q"
    properties = (
        Property("id", server_set=True),
        Property("resourceType", field="resource_type", server_set=True),
        Property("used", server_set=True),
        Property("hardLimit", field="hard_limit", server_set=True),
        Property("scope", server_set=True),
        Property("name", server_set=True),
        Property("types", server_set=True),
        Property("warnLimit", server_set=True),
        Property("softLimit", server_set=True),
        Property("description", server_set=True),
    )
    filters = {
        "name": filter_text("root", "resource"),
        "scope": _scope_filter,
        "resourceType": filter_equals("resource_type", string(max_length=16)),
        "type": _type_filter,
    }
    sorts = {"name": sort_text("root"), "used": sort_field("used")}

    def property_value(self, row: JmapObject, prop: Property) -> Any:
        assert isinstance(row, Quota)
        match prop.name:
            case "scope":
                return "account"
            case "name":
                return f"{row.root} ({row.resource.lower()})"
            case "types":
                return ["Mail"]
            case "warnLimit" | "softLimit" | "description":
                return None
        return super().property_value(row, prop)


QUOTA_TYPE = QuotaType()
register_standard_methods(QUOTA_TYPE, methods=())


def quotas_refresh(*, account: Account) -> None:
    """Bring the cached quotas in line with GETQUOTAROOT (BackendError propagates)."""
    read = quota_roots_read(account=account) or []
    wanted = {
        (usage.root, usage.resource): (RESOURCE_TYPES.get(usage.resource, ("count", 1)), usage)
        for usage in read
    }
    current = {(row.root, row.resource): row for row in Quota.objects.filter(account=account, destroyed=False)}
    changes: list[tuple[str, Any]] = []
    for key, ((kind, unit), usage) in wanted.items():
        row = current.get(key)
        used, limit = usage.usage * unit, usage.limit * unit
        if row is None:
            changes.append(("create", (key, kind, used, limit)))
        elif (row.used, row.hard_limit) != (used, limit):
            changes.append(("update", (row, used, limit)))
    gone = [row for key, row in current.items() if key not in wanted]
    if not changes and not gone:
        return
    with state_change_atomic(account=account, type_names=[QUOTA_TYPE.name]) as modseq:
        for action, payload in changes:
            if action == "create":
                (root, resource), kind, used, limit = payload
                Quota.objects.create(
                    account=account, jmap_id=jmap_id_new(QUOTA_TYPE.id_prefix), created_modseq=modseq,
                    updated_modseq=modseq, root=root, resource=resource, resource_type=kind, used=used,
                    hard_limit=limit,
                )
            else:
                row, used, limit = payload
                row.used, row.hard_limit, row.updated_modseq = used, limit, modseq
                row.save(update_fields=["used", "hard_limit", "updated_modseq", "updated_at"])
        for row in gone:
            row.destroyed, row.updated_modseq = True, modseq
            row.save(update_fields=["destroyed", "updated_modseq", "updated_at"])


def _refreshed(ctx: CallContext, args: dict[str, Any]) -> None:
    account = ctx.account(args.get("accountId"))
    if account.kind != Account.Kind.IMAP:
        raise MethodError("accountNotSupportedByMethod", "quotas are served by the passthrough server")
    quotas_refresh(account=account)


@method("Quota/get", capability=QUOTA_CAPABILITY)
def quota_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    _refreshed(ctx, args)
    return standard_get(QUOTA_TYPE, ctx, args)


@method("Quota/changes", capability=QUOTA_CAPABILITY)
def quota_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    _refreshed(ctx, args)
    return standard_changes(QUOTA_TYPE, ctx, args)


@method("Quota/query", capability=QUOTA_CAPABILITY)
def quota_query(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    _refreshed(ctx, args)
    return standard_query(QUOTA_TYPE, ctx, args)


@method("Quota/queryChanges", capability=QUOTA_CAPABILITY)
def quota_query_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    _refreshed(ctx, args)
    return standard_query_changes(QUOTA_TYPE, ctx, args)
