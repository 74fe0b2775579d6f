"""Account ids between the proxy's Session and an upstream JMAP server, rewritten structurally.

A passthrough account's upstream accounts have one id upstream (`upstream_id`)
and another in the proxy's Session (`proxy_id`, backends.jmap.targets). Every
place RFC 8620/8621 and the Principals spec (RFC 9670) put an account id is
rewritten by position, never by searching text: a blob id, an object id or a
subject line that happens to equal an account id is left alone.

The places:
- the top-level arguments "accountId", "fromAccountId" and "toAccountId" of a
  method call or a method response, errors included (RFC 8620 §3.2, §5.4, §6.3);
- the keys of a Principal's "accounts" map (RFC 9670 §2), in Principal/get's
  "list" and Principal/set's "create"/"update"/"created"/"updated";
- the keys of a StateChange's "changed" map (RFC 8620 §7.1), for push;
- a ShareNotification's "objectAccountId" (RFC 9670 §5.1) in
  ShareNotification/get's "list";
- query filters (RFC 8620 §5.5, operators nested): Principal/query's
  "accountIds" (RFC 9670 §3.3) and ShareNotification/query's
  "objectAccountId" (RFC 9670 §5.3).

Going upstream, a proxy id that is not one of the pool's upstream accounts
cannot happen (only such calls are forwarded) and raises UnknownAccountId.
Coming back, an upstream id is looked up in the map of *that* passthrough
Account only: an id the map lacks is never turned into another account's id.
A top-level one raises UnknownAccountId (the call's answer becomes an error);
a key in a Principal's accounts or a StateChange is dropped, and so is a
ShareNotification about such an account, since the pool simply has no such
account. Going upstream, a filter naming an account the upstream does not
have raises UnknownAccountId too.

Pure functions, no network and no database.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backends.jmap.targets import UpstreamTarget

# RFC 8620 §5.4 (/copy), RFC 8620 §6.3 (Blob/copy); "toAccountId" for symmetry
# with extensions that name a destination that way.
TOP_LEVEL_ACCOUNT_ARGUMENTS: tuple[str, ...] = ("accountId", "fromAccountId", "toAccountId")
PRINCIPAL_PREFIX = "Principal/"
SHARE_NOTIFICATION_PREFIX = "ShareNotification/"
# Filter properties holding account ids, by method (RFC 9670 §3.3, §5.3).
FILTER_ACCOUNT_IDS: dict[str, str] = {"Principal/query": "accountIds", "ShareNotification/query": "objectAccountId"}
FILTER_DEPTH_MAX = 64


class UnknownAccountId(ValueError):
    """An account id with no counterpart on the other side."""

    def __init__(self, argument: str, account_id: str) -> None:
        super().__init__(f"{argument} names an account this login does not have upstream")
        self.argument = argument
        self.account_id = account_id


def _top_level(arguments: dict[str, Any], translate: Callable[[str, str], str]) -> dict[str, Any]:
    out = dict(arguments)
    for name in TOP_LEVEL_ACCOUNT_ARGUMENTS:
        value = out.get(name)
        if isinstance(value, str):
            out[name] = translate(name, value)
    return out


def _accounts_map(value: Any, translate: Callable[[str], str | None]) -> Any:
    """A Principal's "accounts" map with its keys translated (None drops a key)."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, account in value.items():
        new_key = translate(key)
        if new_key is not None:
            out[new_key] = account
    return out


def _principal(obj: Any, translate: Callable[[str], str | None]) -> Any:
    if not isinstance(obj, dict) or "accounts" not in obj:
        return obj
    return {**obj, "accounts": _accounts_map(obj["accounts"], translate)}


def _principals_in(arguments: dict[str, Any], translate: Callable[[str], str | None]) -> dict[str, Any]:
    """Principal objects inside /get's list and /set's create, update, created and updated."""
    out = dict(arguments)
    if isinstance(out.get("list"), list):
        out["list"] = [_principal(obj, translate) for obj in out["list"]]
    for member in ("create", "update", "created", "updated"):
        objects = out.get(member)
        if isinstance(objects, dict):
            out[member] = {key: _principal(obj, translate) for key, obj in objects.items()}
    return out


def _filter(value: Any, *, member: str, translate: Callable[[str, str], str], depth: int = 0) -> Any:
    """A /query filter (a FilterCondition or a FilterOperator, RFC 8620 §5.5) with `member`'s ids translated."""
    if not isinstance(value, dict) or depth > FILTER_DEPTH_MAX:
        return value  # the upstream answers invalidArguments for what is no filter
    out = dict(value)
    conditions = out.get("conditions")
    if isinstance(conditions, list):
        out["conditions"] = [_filter(item, member=member, translate=translate, depth=depth + 1) for item in conditions]
    ids = out.get(member)
    if isinstance(ids, str):
        out[member] = translate(member, ids)
    elif isinstance(ids, list):
        out[member] = [translate(member, item) if isinstance(item, str) else item for item in ids]
    return out


def _share_notifications(arguments: dict[str, Any], upstream_to_proxy: Mapping[str, str]) -> dict[str, Any]:
    """ShareNotification/get's list with proxy objectAccountIds; notifications about unknown accounts left out."""
    objects = arguments.get("list")
    if not isinstance(objects, list):
        return arguments
    kept: list[Any] = []
    for obj in objects:
        account_id = obj.get("objectAccountId") if isinstance(obj, dict) else None
        if isinstance(account_id, str):
            if account_id not in upstream_to_proxy:
                continue
            obj = {**obj, "objectAccountId": upstream_to_proxy[account_id]}
        kept.append(obj)
    return {**arguments, "list": kept}


def arguments_to_upstream(
    name: str, arguments: dict[str, Any], targets: Mapping[str, UpstreamTarget]
) -> dict[str, Any]:
    """`arguments` of method `name` with the pool's account ids replaced by the upstream's.

    `targets` maps proxy ids to UpstreamTargets (backends.jmap.targets). A
    returned dict is new; `arguments` is not modified. Raises UnknownAccountId
    for a top-level account id (or one in a query filter) that is not an
    upstream account of the pool.
    A Principal's accounts key that is not one is left out.
    """

    def translate(argument: str, proxy_id: str) -> str:
        target = targets.get(proxy_id)
        if target is None:
            raise UnknownAccountId(argument, proxy_id)
        return target.upstream_id

    def translate_key(proxy_id: str) -> str | None:
        target = targets.get(proxy_id)
        return None if target is None else target.upstream_id

    out = _top_level(arguments, translate)
    if name.startswith(PRINCIPAL_PREFIX):
        out = _principals_in(out, translate_key)
    member = FILTER_ACCOUNT_IDS.get(name)
    if member is not None and "filter" in out:
        out["filter"] = _filter(out["filter"], member=member, translate=translate)
    return out


def arguments_from_upstream(
    name: str, arguments: dict[str, Any], upstream_to_proxy: Mapping[str, str]
) -> dict[str, Any]:
    """A method response's `arguments` with the upstream's account ids replaced by the pool's.

    `upstream_to_proxy` holds the upstream accounts of ONE passthrough Account
    (the one that answered). `name` is the response's name ("error" for a
    method error: its top-level account ids are rewritten too). Raises
    UnknownAccountId for a top-level id the map lacks; Principal accounts keys
    the map lacks are dropped.
    """

    def translate(argument: str, upstream_id: str) -> str:
        proxy_id = upstream_to_proxy.get(upstream_id)
        if proxy_id is None:
            raise UnknownAccountId(argument, upstream_id)
        return proxy_id

    out = _top_level(arguments, translate)
    if name.startswith(PRINCIPAL_PREFIX):
        out = _principals_in(out, upstream_to_proxy.get)
    elif name.startswith(SHARE_NOTIFICATION_PREFIX):
        out = _share_notifications(out, upstream_to_proxy)
    return out


def state_change_from_upstream(changed: Any, upstream_to_proxy: Mapping[str, str]) -> dict[str, Any]:
    """A StateChange's "changed" map (RFC 8620 §7.1) keyed by proxy ids.

    Upstream accounts the map lacks are dropped: the pool has no such account,
    so its listeners must not hear about it.
    """
    if not isinstance(changed, dict):
        return {}
    return {
        upstream_to_proxy[upstream_id]: states
        for upstream_id, states in changed.items()
        if upstream_id in upstream_to_proxy
    }
