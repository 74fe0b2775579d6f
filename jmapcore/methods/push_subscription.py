"""PushSubscription/get and PushSubscription/set (RFC 8620 §7.2.1, §7.2.2).

A push subscription belongs to the authenticated login (ctx.pool), not to an
account: neither method takes or returns accountId, /get returns no state,
/set takes no ifInState and returns no oldState/newState, and there is no
/changes. A login sees and changes only its own subscriptions; any other id
is notFound.

- /get never returns `url` or `keys` (§7.2.1): they are left out when
  `properties` is null, and asking for either is a `forbidden` method error.
  `verificationCode` reads null until the client has set the right one: the
  code travels only in the PushVerification pushed to the URL.
- /set create: `deviceClientId` and `url` are required; `url` must be https
  (http only when the operator sets JMAP_PUSH_ALLOW_HTTP) and must not lead
  to a private address (jmapcore.pushsub.url_guard); `keys` are checked as
  RFC 8291 keys; `verificationCode` must be null; `expires` is capped at 7
  days (also when absent) and the value used is returned in `created`.
- /set update: only `verificationCode` (the right code, else
  invalidProperties), `expires` (capped; the capped value is returned in
  `updated`) and `types`; `deviceClientId`, `url` and `keys` are immutable.
- /set destroy deletes the row, erasing URL and keys (§7.2).
"""
from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from jmapcore.context import CallContext
from jmapcore.datatypes.standard import reference_resolve, rows_by_ids, set_arguments_read
from jmapcore.datatypes.values import InvalidValue, utc_date, utc_date_dump
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.models.push_subscription import PushSubscription
from jmapcore.protocol.arguments import read_ids, read_strings
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.protocol.patch import patch_apply, pointer_split
from jmapcore.pushsub.delivery import push_settings_allow_http, push_settings_allow_private
from jmapcore.pushsub.subscriptions import (
    PUSH_MAX_PER_POOL,
    pushsub_create,
    pushsub_expires_cap,
    pushsub_queryset,
    pushsub_state_changed,
)
from jmapcore.pushsub.url_guard import PushUrlRefused, push_url_resolve
from jmapcore.pushsub.webpush_encrypt import WebPushKeyError, webpush_keys_check
from jmapcore.registry import method
from jmapcore.state import on_state_change

TYPE_NAME = "PushSubscription"
PROPERTIES = ("id", "deviceClientId", "url", "keys", "verificationCode", "expires", "types")
WRITE_ONLY = frozenset({"url", "keys"})
READABLE = tuple(name for name in PROPERTIES if name not in WRITE_ONLY)
IMMUTABLE = frozenset({"id", "deviceClientId", "url", "keys"})
MAX_TYPES = 100

# Every process that writes (web for JMAP writes, the worker for syncs) hears
# its own commits and queues the pushes.
on_state_change(pushsub_state_changed)


# -- values ----------------------------------------------------------------------


def _device_client_id(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise InvalidValue("must be a non-empty String of at most 255 characters")
    return value


def _keys(value: Any) -> dict[str, str] | None:
    """null, or {"p256dh", "auth"} in URL-safe base64 that RFC 8291 can use."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"p256dh", "auth"}:
        raise InvalidValue("must be null or an object with exactly p256dh and auth")
    if not isinstance(value["p256dh"], str) or not isinstance(value["auth"], str):
        raise InvalidValue("p256dh and auth must be Strings")
    try:
        webpush_keys_check(p256dh=value["p256dh"], auth=value["auth"])
    except WebPushKeyError as error:
        raise InvalidValue(str(error)) from None
    return {"p256dh": value["p256dh"], "auth": value["auth"]}


def _types(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) and 0 < len(item) <= 255 for item in value):
        raise InvalidValue("must be null or a list of type names")
    if len(value) > MAX_TYPES:
        raise InvalidValue(f"at most {MAX_TYPES} type names")
    return list(dict.fromkeys(value))


def _expires(value: Any, *, now: datetime) -> tuple[datetime, bool]:
    """(the expiry the server uses, whether it differs from what the client asked)."""
    requested = utc_date(nullable=True)(value)
    if requested is not None and requested <= now:
        raise InvalidValue("must be in the future")
    used = pushsub_expires_cap(requested=requested, now=now)
    return used, used != requested


def _url(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue("must be a String")
    try:
        push_url_resolve(url=value, allow_private=push_settings_allow_private(), allow_http=push_settings_allow_http())
    except PushUrlRefused as error:
        raise InvalidValue(str(error)) from None
    return value


def _invalid(problems: dict[str, str]) -> SetErrorException:
    description = "; ".join(f"{name}: {why}" for name, why in sorted(problems.items()))
    return SetErrorException(SetError("invalidProperties", description, properties=sorted(problems)))


def _check(problems: dict[str, str], name: str, check: Callable[[Any], Any], value: Any) -> Any:
    try:
        return check(value)
    except InvalidValue as error:
        problems[name] = str(error)
        return None


# -- JSON --------------------------------------------------------------------------


def _to_json(sub: PushSubscription, properties: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The readable properties of `sub` (never url or keys, RFC 8620 §7.2.1)."""
    values: dict[str, Any] = {
        "id": sub.jmap_id,
        "deviceClientId": sub.device_client_id,
        "verificationCode": sub.verification_code if sub.verified else None,
        "expires": utc_date_dump(sub.expires),
        "types": sub.types,
    }
    result = {"id": sub.jmap_id}
    result.update({name: values[name] for name in properties if name in values})
    return result


# -- /get ------------------------------------------------------------------------------


@method("PushSubscription/get", capability=CORE_CAPABILITY)
def push_subscription_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8620 §7.2.1: /get without accountId or state; url and keys are forbidden."""
    ids = read_ids(args, "ids", references=True)
    requested = read_strings(args, "properties")
    if requested is None:
        properties = list(READABLE)
    else:
        if WRITE_ONLY & set(requested):
            raise MethodError("forbidden", "url and keys are never returned (RFC 8620 §7.2.1)")
        unknown = sorted(set(requested) - set(READABLE))
        if unknown:
            raise MethodError("invalidArguments", "properties: unknown " + ", ".join(unknown))
        properties = list(dict.fromkeys(requested))
    rows = pushsub_queryset(pool=ctx.pool)
    found, not_found = rows_by_ids(ctx, rows, ids)
    return {"list": [_to_json(sub, properties) for sub in found], "notFound": not_found}


# -- /set -----------------------------------------------------------------------------------


def _create(ctx: CallContext, raw: object, *, now: datetime) -> dict[str, Any]:
    """Validate and store one create; returns its `created` entry."""
    if not isinstance(raw, dict):
        raise SetErrorException(SetError("invalidProperties", "a create must be an object", properties=[]))
    problems: dict[str, str] = {}
    for name in raw:
        if name not in PROPERTIES:
            problems[name] = "unknown property"
        elif name == "id":
            problems[name] = "set by the server"
    for name in ("deviceClientId", "url"):
        if raw.get(name) is None:
            problems[name] = "required"
    if raw.get("verificationCode") is not None:
        problems["verificationCode"] = "must be null when the subscription is created (RFC 8620 §7.2)"
    device_client_id = _check(problems, "deviceClientId", _device_client_id, raw.get("deviceClientId"))
    keys = _check(problems, "keys", _keys, raw.get("keys"))
    types = _check(problems, "types", _types, raw.get("types"))
    expires = _check(problems, "expires", lambda value: _expires(value, now=now), raw.get("expires"))
    # The URL last: it costs a DNS lookup, pointless when the rest is wrong.
    url = None if problems else _check(problems, "url", _url, raw.get("url"))
    if problems:
        raise _invalid(problems)
    if pushsub_queryset(pool=ctx.pool, now=now).count() >= PUSH_MAX_PER_POOL:
        raise SetErrorException(SetError("overQuota", f"at most {PUSH_MAX_PER_POOL} push subscriptions per login"))
    assert isinstance(url, str) and isinstance(device_client_id, str)
    used_expires, changed = expires
    sub = pushsub_create(
        pool=ctx.pool, device_client_id=device_client_id, url=url, keys=keys, expires=used_expires, types=types
    )
    created: dict[str, Any] = {"id": sub.jmap_id}
    # §5.3: what the client did not give (defaults) and what the server changed;
    # url and keys are never echoed, whatever they are.
    for name in ("keys", "types", "verificationCode"):
        if name not in raw:
            created[name] = None
    if changed or "expires" not in raw:
        created["expires"] = utc_date_dump(sub.expires)
    return created


def _update(sub: PushSubscription, patch: object, *, now: datetime) -> dict[str, Any] | None:
    """Apply one PatchObject; returns the `updated` entry (the capped expires, if any)."""
    if not isinstance(patch, dict):
        raise SetErrorException(SetError("invalidPatch", "a PatchObject must be an object"))
    tops = {pointer_split(key)[0] for key in patch}
    unknown = {name: "unknown property" for name in tops if name not in PROPERTIES}
    if unknown:
        raise _invalid(unknown)
    current: dict[str, Any] = {
        "id": sub.jmap_id,
        "deviceClientId": sub.device_client_id,
        "url": sub.url,
        "keys": sub.keys,
        "verificationCode": sub.verification_code if sub.verified else None,
        "expires": utc_date_dump(sub.expires),
        "types": sub.types,
    }
    patched, touched = patch_apply({name: current[name] for name in tops}, patch)
    problems: dict[str, str] = {}
    fields: list[str] = []
    reported: dict[str, Any] = {}
    for name in sorted(touched):
        new = patched.get(name)
        if new == current[name]:
            continue
        if name in IMMUTABLE:
            problems[name] = "cannot be changed"
        elif name == "verificationCode":
            if not isinstance(new, str) or not hmac.compare_digest(new.encode(), sub.verification_code.encode()):
                problems[name] = "not the verification code that was pushed"
            elif not sub.verified:
                sub.verified = True
                fields.append("verified")
        elif name == "expires":
            expires = _check(problems, name, lambda value: _expires(value, now=now), new)
            if expires is not None:
                sub.expires, changed = expires
                fields.append("expires")
                if changed:
                    reported["expires"] = utc_date_dump(sub.expires)
        elif name == "types":
            types = _check(problems, name, _types, new)
            if name not in problems:
                sub.types = types
                fields.append("types")
    if problems:
        raise _invalid(problems)
    if fields:
        sub.save(update_fields=fields)
    return reported or None


@method("PushSubscription/set", capability=CORE_CAPABILITY)
def push_subscription_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8620 §7.2.2: /set without accountId, ifInState, oldState or newState."""
    create, update, destroy = set_arguments_read(args)
    now = timezone.now()

    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    for creation_id, raw in create.items():
        try:
            created[creation_id] = _create(ctx, raw, now=now)
        except SetErrorException as error:
            not_created[creation_id] = error.error.to_json()
            continue
        ctx.created_ids[creation_id] = created[creation_id]["id"]

    destroy_ids = [(raw, reference_resolve(ctx, raw)) for raw in destroy]
    doomed = {real for _, real in destroy_ids if real is not None}
    updated: dict[str, Any] = {}
    not_updated: dict[str, Any] = {}
    for raw_id, patch in update.items():
        real = reference_resolve(ctx, raw_id)
        key = real or raw_id
        if real in doomed:
            not_updated[key] = SetError("willDestroy").to_json()
            continue
        sub = pushsub_queryset(pool=ctx.pool, now=now).filter(jmap_id=real).first() if real else None
        if sub is None:
            not_updated[key] = SetError("notFound").to_json()
            continue
        try:
            updated[key] = _update(sub, patch, now=now)
        except SetErrorException as error:
            not_updated[key] = error.error.to_json()

    destroyed: list[str] = []
    not_destroyed: dict[str, Any] = {}
    for raw, real in destroy_ids:
        key = real or raw
        count = pushsub_queryset(pool=ctx.pool, now=now).filter(jmap_id=real).delete()[0] if real else 0
        if count:
            destroyed.append(key)
        else:
            not_destroyed[key] = SetError("notFound").to_json()

    return {
        "created": created or None,
        "updated": updated or None,
        "destroyed": destroyed or None,
        "notCreated": not_created or None,
        "notUpdated": not_updated or None,
        "notDestroyed": not_destroyed or None,
    }
