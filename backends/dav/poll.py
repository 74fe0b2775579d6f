"""Shorter polling of the DAV collections of accounts someone listens to.

CardDAV and CalDAV have no push, so a change made by another DAV client
reaches JMAP at the account's next sync (JMAP_SYNC_INTERVAL). While a JMAP
client listens for push (jmapcore.push.watch.watched_account_pks, the rule the
IMAP IDLE listener uses too), beat runs dav_watched_poll every
JMAP_DAV_POLL_LISTENING seconds (the beat entry "poll CardDAV of watched
accounts", backends.carddav.poll delegating here): for each watched account,
the registered DAV sync parts (dav_poll_register: "carddav", "caldav") that
apply and were not synced
within that interval are queued together, as one account_sync_parts run. A
poll is cheap: one query here, and a sync that finds nothing new costs one
PROPFIND per home set.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache

from accounts.models import Account

log = logging.getLogger("jmap.sync.dav")

# An account synced within this fraction of the interval before now is not due yet.
DUE_SLACK = 0.25


@dataclass(frozen=True)
class DavPollPart:
    name: str
    applies: Callable[[Account], bool]


DAV_POLL_PARTS: dict[str, DavPollPart] = {}


def dav_poll_register(*, name: str, applies: Callable[[Account], bool]) -> None:
    """Poll the sync part `name` (accounts.sync) of watched accounts it applies to."""
    DAV_POLL_PARTS[name] = DavPollPart(name=name, applies=applies)


def part_last_sync(account: Account, part: str) -> datetime | None:
    """When the part last finished (syncedAt or errorAt in sync_progress[part])."""
    progress = account.sync_progress if isinstance(account.sync_progress, dict) else {}
    mine: Any = progress.get(part)
    if not isinstance(mine, dict):
        return None
    found = []
    for stamp in (mine.get("syncedAt"), mine.get("errorAt")):
        if isinstance(stamp, str):
            try:
                found.append(datetime.fromisoformat(stamp))
            except ValueError:
                continue
    return max(found) if found else None


def _queued_key(account_pk: int) -> str:
    return f"jmap:dav-poll-queued:{account_pk}"


def dav_watched_poll(*, now: datetime) -> int:
    """Queue a DAV-only sync of every watched account with a part due; returns how many."""
    from jmapcore.push.watch import watched_account_pks

    interval = int(getattr(settings, "JMAP_DAV_POLL_LISTENING", 15))
    if interval <= 0 or not DAV_POLL_PARTS:
        return 0
    cutoff = now - timedelta(seconds=interval * (1 - DUE_SLACK))
    watched = watched_account_pks(now=now, kind=Account.Kind.IMAP)
    queued = 0
    for account in Account.objects.filter(pk__in=watched):
        due = []
        for part in DAV_POLL_PARTS.values():
            if not part.applies(account):
                continue
            last = part_last_sync(account, part.name)
            if last is None or last <= cutoff:
                due.append(part.name)
        if not due:
            continue
        # One queued poll per account at a time: a slow worker must not pile them up.
        if not cache.add(_queued_key(account.pk), 1, timeout=max(interval, 5) * 4):
            continue
        if dav_poll_enqueue(account_pk=account.pk, names=due):
            queued += 1
        else:
            cache.delete(_queued_key(account.pk))
    return queued


def dav_poll_enqueue(*, account_pk: int, names: list[str]) -> bool:
    from backends.dav.tasks import dav_account_poll_task

    try:
        dav_account_poll_task.delay(account_pk, names)
    except Exception as exc:
        log.warning("account #%s: could not queue a DAV poll: %s", account_pk, exc)
        return False
    return True


def dav_account_poll(*, account_pk: int, names: list[str]) -> None:
    """Run the DAV parts `names` of one account now (only registered ones)."""
    from accounts.sync import account_sync_parts

    cache.delete(_queued_key(account_pk))
    account_sync_parts(account_id=account_pk, names=[name for name in names if name in DAV_POLL_PARTS])
