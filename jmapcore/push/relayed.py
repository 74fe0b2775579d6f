"""StateChanges that come from an upstream JMAP server (passthrough accounts,
issue 12 item 4) on their way into the proxy's push.

A passthrough Account has no local modseq: its types' states are the
upstream's own strings, and it may stand for several upstream accounts, each
with its own proxy accountId. The relay (backends.jmap.push_relay, in the
listener process) hands what it heard to `relayed_publish`, already keyed by
proxy accountIds, and this module carries it to every consumer:

- scale-out (a channel layer that reaches other processes): one message to
  the account's group (jmapcore.push.source_channels), with the map under
  "accounts" so that the hub delivers it by accountId;
- embedded (no channel between processes): the account's *mailbox* in the
  shared Django cache, holding the latest state of every type of every proxy
  accountId and a sequence number; the web process's PollSource reads the
  mailboxes of the passthrough accounts it watches with each poll and delivers
  the types whose state differs from what it saw before. Keeping the latest
  states (not a queue) means nothing is lost however seldom it is read;
- PushSubscriptions (RFC 8620 §7.2) of the account's login: one delivery task
  per interested verified subscription, as for local changes.

The states are passed on as the upstream wrote them (RFC 8620 §7.1: opaque).
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

from jmapcore.push.feed import feed_uses_channels
from jmapcore.push.source_channels import account_group, state_message

logger = logging.getLogger("jmap.push")

# A mailbox outlives any listener gap the relay could have; refreshed on every write.
MAILBOX_SECONDS = 7 * 86400
# Bounds what an upstream can make the proxy keep per account.
MAILBOX_MAX_ACCOUNTS = 1000
MAILBOX_MAX_TYPES = 100

TypeStates = dict[str, str]
Changed = dict[str, TypeStates]


def relayed_mailbox_key(account_pk: int) -> str:
    return f"jmap:push-relayed:{int(account_pk)}"


def relayed_changed_clean(changed: object) -> Changed:
    """The well-formed part of a "changed" map: accountId -> {type name: state}, all strings, bounded."""
    clean: Changed = {}
    if not isinstance(changed, Mapping):
        return clean
    for account_id, types in changed.items():
        if not isinstance(account_id, str) or not isinstance(types, Mapping) or len(clean) >= MAILBOX_MAX_ACCOUNTS:
            continue
        states = {
            name: state for name, state in list(types.items())[:MAILBOX_MAX_TYPES]
            if isinstance(name, str) and isinstance(state, str)
        }  # fmt: skip
        if states:
            clean[account_id] = states
    return clean


def relayed_mailbox_merge(*, account_pk: int, changed: Mapping[str, Mapping[str, str]]) -> None:
    """Fold `changed` into the account's mailbox (embedded mode; one writer per account: the relay)."""
    key = relayed_mailbox_key(account_pk)
    entry = cache.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("changed"), dict):
        # A fresh epoch: a reader holding an older sequence number sees that it moved.
        entry = {"seq": f"{secrets.token_hex(4)}.0", "changed": {}}
    states = relayed_changed_clean(entry["changed"])
    for account_id, types in relayed_changed_clean(dict(changed)).items():
        states.setdefault(account_id, {}).update(types)
    epoch, _, count = str(entry.get("seq", "")).partition(".")
    number = int(count) + 1 if count.isdigit() else 1
    cache.set(key, {"seq": f"{epoch}.{number}", "changed": states}, timeout=MAILBOX_SECONDS)


def relayed_mailboxes_read(*, account_pks: Iterable[int]) -> dict[int, tuple[str, Changed]]:
    """Account pk -> (sequence, latest states) for the accounts that have a mailbox; one cache read."""
    pks = list(account_pks)
    if not pks:
        return {}
    found = cache.get_many([relayed_mailbox_key(pk) for pk in pks])
    result: dict[int, tuple[str, Changed]] = {}
    for pk in pks:
        entry = found.get(relayed_mailbox_key(pk))
        if isinstance(entry, dict):
            result[pk] = (str(entry.get("seq", "")), relayed_changed_clean(entry.get("changed")))
    return result


def relayed_changed_since(*, seen: Mapping[str, Mapping[str, str]], now: Changed) -> Changed:
    """The types of `now` whose state differs from (or is missing in) `seen`."""
    moved: Changed = {}
    for account_id, types in now.items():
        before = seen.get(account_id, {})
        different = {name: state for name, state in types.items() if before.get(name) != state}
        if different:
            moved[account_id] = different
    return moved


def relayed_message(*, account_pk: int, changed: Changed) -> dict[str, Any]:
    """The channel-layer message for a relayed change (source_channels reads "accounts")."""
    message = state_message(account_pk=account_pk, modseq=None, types={})
    message["accounts"] = changed
    return message


def relayed_publish(*, account_pk: int, pool_id: int, changed: Mapping[str, Mapping[str, str]]) -> None:
    """Deliver one relayed StateChange (proxy accountIds) to every push consumer (see the module doc).

    Synchronous (cache, database, channel layer): call it from a thread. A
    failing consumer is logged and does not stop the others.
    """
    clean = relayed_changed_clean(dict(changed))
    if not clean:
        return
    try:
        if feed_uses_channels():
            layer = get_channel_layer()
            async_to_sync(layer.group_send)(account_group(account_pk), relayed_message(account_pk=account_pk,
                                                                                       changed=clean))
        else:
            relayed_mailbox_merge(account_pk=account_pk, changed=clean)
    except Exception:
        logger.exception("account #%s: handing a relayed change to the web processes failed", account_pk)
    from jmapcore.pushsub.subscriptions import pushsub_changes_queue

    try:
        pushsub_changes_queue(pool_id=pool_id, changed=clean)
    except Exception:
        logger.exception("account #%s: queueing pushes of a relayed change failed", account_pk)
