"""Shorter polling of the address books of accounts someone listens to.

CardDAV has no push, so a change made by another CardDAV client reaches JMAP
at the account's next sync (JMAP_SYNC_INTERVAL). While a JMAP client listens
for push (an EventSource or WebSocket holding a PushWatch row, or a verified
PushSubscription: jmapcore.push.watch.watched_account_pks, the same rule that
decides whom the IMAP IDLE listener watches), beat runs carddav_watched_poll
every JMAP_DAV_POLL_LISTENING seconds: it queues the "carddav" sync part alone
(accounts.sync.account_sync_parts) for each such account whose address books
were not synced within that interval. The poll is cheap: one query here, and
per account a sync that finds nothing new costs one PROPFIND per home set.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from accounts.models import Account
from backends.carddav.part import carddav_part_applies
from backends.carddav.progress import carddav_progress

log = logging.getLogger("jmap.sync.carddav")

# An account synced within this fraction of the interval before now is not due yet.
DUE_SLACK = 0.25


def _last_sync(account: Account) -> datetime | None:
    progress = carddav_progress(account)
    stamps = [progress.get("syncedAt"), progress.get("errorAt")]
    found = []
    for stamp in stamps:
        if isinstance(stamp, str):
            try:
                found.append(datetime.fromisoformat(stamp))
            except ValueError:
                continue
    return max(found) if found else None


def _queued_key(account_pk: int) -> str:
    return f"jmap:carddav-poll-queued:{account_pk}"


def carddav_watched_poll(*, now: datetime) -> int:
    """Queue a CardDAV-only sync of every watched account that is due; returns how many."""
    from jmapcore.push.watch import watched_account_pks

    interval = int(getattr(settings, "JMAP_DAV_POLL_LISTENING", 15))
    if interval <= 0:
        return 0
    cutoff = now - timedelta(seconds=interval * (1 - DUE_SLACK))
    watched = watched_account_pks(now=now, kind=Account.Kind.IMAP)
    queued = 0
    for account in Account.objects.filter(pk__in=watched).only("pk", "accountid", "kind", "carddav_url",
                                                               "imap_host", "sync_progress"):
        if not carddav_part_applies(account):
            continue
        last = _last_sync(account)
        if last is not None and last > cutoff:
            continue
        # One queued poll per account at a time: a slow worker must not pile them up.
        if not cache.add(_queued_key(account.pk), 1, timeout=max(interval, 5) * 4):
            continue
        if carddav_poll_enqueue(account_pk=account.pk):
            queued += 1
        else:
            cache.delete(_queued_key(account.pk))
    return queued


def carddav_poll_enqueue(*, account_pk: int) -> bool:
    from backends.carddav.tasks import carddav_account_poll_task

    try:
        carddav_account_poll_task.delay(account_pk)
    except Exception as exc:
        log.warning("account #%s: could not queue a CardDAV poll: %s", account_pk, exc)
        return False
    return True


def carddav_account_poll(*, account_pk: int) -> None:
    """Sync the address books of one account now (the "carddav" part only)."""
    from accounts.sync import account_sync_parts

    cache.delete(_queued_key(account_pk))
    account_sync_parts(account_id=account_pk, names=["carddav"])
