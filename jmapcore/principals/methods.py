"""Principal/* and ShareNotification/* (RFC 9670 §2, §3) for the account's own
Principal (jmapcore.principals.principal_own).

- Principal/get, /changes, /query, /queryChanges: over the one Principal.
  Its state is a hash of its content, so /changes from any other state
  reports it as updated (a superset is allowed, RFC 8620 §5.2).
- Principal/set: forbidden. The Principal is the proxy account's user, whose
  name and email are managed by the proxy's administrator (management API),
  and CardDAV has nowhere to store a description or time zone for it (§2.3
  lets a server refuse with forbidden).
- ShareNotification/*: there is no sharing on the CardDAV servers served
  here, so there are never notifications: /get lists none, /changes and
  /queryChanges report nothing, /set destroys nothing (notFound) and refuses
  creates and updates with forbidden (§3.3).
"""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from jmapcore.context import CallContext
from jmapcore.datatypes.standard import set_arguments_read
from jmapcore.limits import COLLATION_ALGORITHMS, LIMITS
from jmapcore.principals.capability import PRINCIPALS_CAPABILITY, principals_account_value
from jmapcore.principals.principal_own import (
    PRINCIPAL_FILTERS,
    PRINCIPAL_PROPERTIES,
    principal_matches,
    principal_of,
    principal_state,
)
from jmapcore.protocol.arguments import (
    read_bool,
    read_id,
    read_ids,
    read_int,
    read_positive_int,
    read_string,
    read_strings,
    read_unsigned_int,
)
from jmapcore.protocol.errors import MethodError, SetError
from jmapcore.protocol.query import anchor_index, filter_parse, limit_effective, sort_parse, window_start
from jmapcore.registry import method

SHARE_NOTIFICATION_PROPERTIES = (
    "id", "created", "changedBy", "objectType", "objectAccountId", "objectId", "oldRights", "newRights", "name",
)  # fmt: skip
SHARE_NOTIFICATION_FILTERS = ("after", "before", "objectType", "objectAccountId")
# ShareNotification never changes here: one constant state.
NOTIFICATIONS_STATE = "n0"


def _account(ctx: CallContext, args: dict[str, Any], *, write: bool = False) -> Account:
    account = ctx.account(args.get("accountId"), write=write)
    if principals_account_value(account) is None:
        raise MethodError("accountNotSupportedByMethod", "this account has no principals")
    return account


def _properties(args: dict[str, Any], known: tuple[str, ...]) -> list[str]:
    wanted = read_strings(args, "properties")
    if wanted is None:
        return list(known)
    unknown = sorted({name for name in wanted if name not in known})
    if unknown:
        raise MethodError("invalidArguments", "properties: unknown " + ", ".join(unknown))
    return list(dict.fromkeys(["id", *wanted]))


def _ids_check(args: dict[str, Any]) -> list[str] | None:
    ids = read_ids(args, "ids")
    if ids is not None and len(ids) > LIMITS.maxObjectsInGet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInGet} ids per /get")
    return ids


# -- Principal ---------------------------------------------------------------------


@method("Principal/get", capability=PRINCIPALS_CAPABILITY)
def principal_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §2.1: standard /get."""
    account = _account(ctx, args)
    ids = _ids_check(args)
    properties = _properties(args, PRINCIPAL_PROPERTIES)
    principal = principal_of(account)
    found = ids is None or principal["id"] in ids
    return {
        "accountId": account.accountid,
        "state": principal_state(account),
        "list": [{name: principal[name] for name in properties}] if found else [],
        "notFound": [item for item in dict.fromkeys(ids or []) if item != principal["id"]],
    }


@method("Principal/changes", capability=PRINCIPALS_CAPABILITY)
def principal_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §2.2: standard /changes."""
    account = _account(ctx, args)
    since = read_string(args, "sinceState", required=True)
    read_positive_int(args, "maxChanges")
    state = principal_state(account)
    return {
        "accountId": account.accountid,
        "oldState": since,
        "newState": state,
        "hasMoreChanges": False,
        "created": [],
        "updated": [] if since == state else [principal_of(account)["id"]],
        "destroyed": [],
    }


@method("Principal/set", capability=PRINCIPALS_CAPABILITY)
def principal_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §2.3: every create, update and destroy is refused (see the module docstring)."""
    account = _account(ctx, args, write=True)
    create, update, destroy = set_arguments_read(args)
    state = principal_state(account)
    if_in_state = read_string(args, "ifInState")
    if if_in_state is not None and if_in_state != state:
        raise MethodError("stateMismatch")
    own = principal_of(account)["id"]
    refused = SetError("forbidden", "the principal is this proxy account's user; its administrator manages it")
    not_updated = {
        key: (refused if key == own else SetError("notFound")).to_json() for key in update
    }
    not_destroyed = {
        str(key): (refused if key == own else SetError("notFound")).to_json() for key in destroy
    }
    return {
        "accountId": account.accountid,
        "oldState": state,
        "newState": state,
        "created": None,
        "updated": None,
        "destroyed": None,
        "notCreated": {key: refused.to_json() for key in create} or None,
        "notUpdated": not_updated or None,
        "notDestroyed": not_destroyed or None,
    }


def _query_window(args: dict[str, Any], ids: list[str]) -> tuple[int, list[str], int]:
    position = read_int(args, "position", default=0)
    anchor = read_id(args, "anchor")
    offset = read_int(args, "anchorOffset", default=0)
    limit, _capped = limit_effective(read_unsigned_int(args, "limit"), LIMITS.maxObjectsInGet)
    index = anchor_index(ids, anchor) if anchor is not None else None
    start = window_start(total=len(ids), position=position, anchor_index=index, anchor_offset=offset)
    return start, ids[start : start + limit], len(ids)


@method("Principal/query", capability=PRINCIPALS_CAPABILITY)
def principal_query(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §2.4: the filters of §2.4.1; no sort property is defined (§2.4.2
    leaves sorting to the server), so any comparator is unsupportedSort."""
    account = _account(ctx, args)
    parsed = filter_parse(args.get("filter"), condition_properties=PRINCIPAL_FILTERS)
    sort_parse(args.get("sort"), sortable=(), collations=COLLATION_ALGORITHMS)
    principal = principal_of(account)
    matching = [principal["id"]] if principal_matches(principal, parsed) else []
    start, ids, total = _query_window(args, matching)
    response: dict[str, Any] = {
        "accountId": account.accountid,
        "queryState": principal_state(account),
        "canCalculateChanges": True,
        "position": start,
        "ids": ids,
    }
    if read_bool(args, "calculateTotal", default=False):
        response["total"] = total
    return response


@method("Principal/queryChanges", capability=PRINCIPALS_CAPABILITY)
def principal_query_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §2.5: the principal, when its state moved, is removed and added
    again at its index if it still matches (RFC 8620 §5.6 allows that)."""
    account = _account(ctx, args)
    parsed = filter_parse(args.get("filter"), condition_properties=PRINCIPAL_FILTERS)
    sort_parse(args.get("sort"), sortable=(), collations=COLLATION_ALGORITHMS)
    since = read_string(args, "sinceQueryState", required=True)
    max_changes = read_positive_int(args, "maxChanges")
    read_id(args, "upToId")
    state = principal_state(account)
    principal = principal_of(account)
    matches = principal_matches(principal, parsed)
    changed = since != state
    removed = [principal["id"]] if changed else []
    added = [{"id": principal["id"], "index": 0}] if changed and matches else []
    if max_changes is not None and len(removed) + len(added) > max_changes:
        raise MethodError("tooManyChanges")
    response: dict[str, Any] = {
        "accountId": account.accountid,
        "oldQueryState": since,
        "newQueryState": state,
        "removed": removed,
        "added": added,
    }
    if read_bool(args, "calculateTotal", default=False):
        response["total"] = 1 if matches else 0
    return response


# -- ShareNotification (none: no sharing) --------------------------------------------


@method("ShareNotification/get", capability=PRINCIPALS_CAPABILITY)
def share_notification_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §3.1: there are none."""
    account = _account(ctx, args)
    ids = _ids_check(args)
    _properties(args, SHARE_NOTIFICATION_PROPERTIES)
    return {"accountId": account.accountid, "state": NOTIFICATIONS_STATE, "list": [],
            "notFound": list(dict.fromkeys(ids or []))}  # fmt: skip


@method("ShareNotification/changes", capability=PRINCIPALS_CAPABILITY)
def share_notification_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §3.2: nothing ever changes."""
    account = _account(ctx, args)
    since = read_string(args, "sinceState", required=True)
    read_positive_int(args, "maxChanges")
    if since != NOTIFICATIONS_STATE:
        raise MethodError("cannotCalculateChanges", "state is not from this server")
    return {"accountId": account.accountid, "oldState": since, "newState": NOTIFICATIONS_STATE,
            "hasMoreChanges": False, "created": [], "updated": [], "destroyed": []}  # fmt: skip


@method("ShareNotification/set", capability=PRINCIPALS_CAPABILITY)
def share_notification_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §3.3: only destroy is allowed, and there is nothing to destroy."""
    account = _account(ctx, args, write=True)
    create, update, destroy = set_arguments_read(args)
    if_in_state = read_string(args, "ifInState")
    if if_in_state is not None and if_in_state != NOTIFICATIONS_STATE:
        raise MethodError("stateMismatch")
    refused = SetError("forbidden", "share notifications are created by the server only").to_json()
    return {
        "accountId": account.accountid, "oldState": NOTIFICATIONS_STATE, "newState": NOTIFICATIONS_STATE,
        "created": None, "updated": None, "destroyed": None,
        "notCreated": {key: refused for key in create} or None,
        "notUpdated": {key: refused for key in update} or None,
        "notDestroyed": {str(key): SetError("notFound").to_json() for key in destroy} or None,
    }  # fmt: skip


@method("ShareNotification/query", capability=PRINCIPALS_CAPABILITY)
def share_notification_query(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §3.4: no results."""
    account = _account(ctx, args)
    filter_parse(args.get("filter"), condition_properties=SHARE_NOTIFICATION_FILTERS)
    sort_parse(args.get("sort"), sortable=("created",), collations=COLLATION_ALGORITHMS)
    start, ids, total = _query_window(args, [])
    response: dict[str, Any] = {"accountId": account.accountid, "queryState": NOTIFICATIONS_STATE,
                                "canCalculateChanges": True, "position": start, "ids": ids}  # fmt: skip
    if read_bool(args, "calculateTotal", default=False):
        response["total"] = total
    return response


@method("ShareNotification/queryChanges", capability=PRINCIPALS_CAPABILITY)
def share_notification_query_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9670 §3.5: nothing ever changes."""
    account = _account(ctx, args)
    filter_parse(args.get("filter"), condition_properties=SHARE_NOTIFICATION_FILTERS)
    sort_parse(args.get("sort"), sortable=("created",), collations=COLLATION_ALGORITHMS)
    since = read_string(args, "sinceQueryState", required=True)
    read_positive_int(args, "maxChanges")
    if since != NOTIFICATIONS_STATE:
        raise MethodError("cannotCalculateChanges", "query state is not from this server")
    response: dict[str, Any] = {"accountId": account.accountid, "oldQueryState": since,
                                "newQueryState": NOTIFICATIONS_STATE, "removed": [], "added": []}  # fmt: skip
    if read_bool(args, "calculateTotal", default=False):
        response["total"] = 0
    return response
