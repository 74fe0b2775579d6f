"""The "caldav" sync part (accounts.sync.sync_part_register), registered at
startup by backends.apps: after an IMAP account's mail sync, under the same
lock, its calendars are synced (backends.caldav.sync).

It applies to IMAP accounts with a caldav_url or a URL found earlier by
discovery. An account with neither is probed at
https://<imap host>/.well-known/caldav (RFC 6764 §5) when JMAP_DAV_DISCOVER is
on (default); a host without a CalDAV service is not an error: the answer is
remembered for DISCOVERY_RETRY_SECONDS (Django cache) and nothing is written
on the account.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

from accounts.models import Account
from accounts.sync import AccountSyncLock, SyncPartSkipped, sync_part_register
from backends.base import BackendError
from backends.caldav.progress import PART, caldav_progress

log = logging.getLogger("jmap.sync.caldav")

DISCOVERY_RETRY_SECONDS = 24 * 3600


def _probe_key(account: Account) -> str:
    return f"jmap:caldav-none:{account.pk}:{account.imap_host}"


def caldav_part_applies(account: Account) -> bool:
    if account.kind != Account.Kind.IMAP:
        return False
    if account.caldav_url or caldav_progress(account).get("url"):
        return True
    if not getattr(settings, "JMAP_DAV_DISCOVER", True) or not account.imap_host:
        return False
    return cache.get(_probe_key(account)) is None


def caldav_part_run(*, account: Account, lock: AccountSyncLock | None) -> None:
    from backends.caldav.sync import caldav_account_sync

    discovering = not account.caldav_url and not caldav_progress(account).get("url")
    try:
        caldav_account_sync(account=account, lock=lock)
    except BackendError as exc:
        if not discovering:
            raise
        log.info("account %s: no CalDAV service found on %s (%s)", account.accountid, account.imap_host, exc)
        cache.set(_probe_key(account), 1, timeout=DISCOVERY_RETRY_SECONDS)
        raise SyncPartSkipped from None


sync_part_register(name=PART, applies=caldav_part_applies, run=caldav_part_run)

# Polled every JMAP_DAV_POLL_LISTENING s while a client listens (backends.dav.poll);
# its tasks must be known to every worker.
from backends.dav import tasks as _tasks  # noqa: E402, F401
from backends.dav.poll import dav_poll_register  # noqa: E402

dav_poll_register(name=PART, applies=caldav_part_applies)
