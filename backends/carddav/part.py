"""The "carddav" sync part (accounts.sync.sync_part_register), registered at
startup by backends.apps: after an IMAP account's mail sync, under the same
lock, its address books are synced (backends.carddav.sync).

It applies to IMAP accounts with a carddav_url or a URL found earlier by
discovery. An account with neither is probed at
https://<imap host>/.well-known/carddav (RFC 6764 §5) when JMAP_DAV_DISCOVER is
on (default); a host without a CardDAV service is not an error: the answer is
remembered for DISCOVERY_RETRY_SECONDS (Django cache) so the host is not
probed at every sync, and nothing is written on the account.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

from accounts.models import Account
from accounts.sync import AccountSyncLock, SyncPartSkipped, sync_part_register
from backends.base import BackendError
from backends.carddav.progress import PART, carddav_progress

log = logging.getLogger("jmap.sync.carddav")

DISCOVERY_RETRY_SECONDS = 24 * 3600


def _probe_key(account: Account) -> str:
    return f"jmap:carddav-none:{account.pk}:{account.imap_host}"


def carddav_part_applies(account: Account) -> bool:
    if account.kind != Account.Kind.IMAP:
        return False
    if account.carddav_url or carddav_progress(account).get("url"):
        return True
    if not getattr(settings, "JMAP_DAV_DISCOVER", True) or not account.imap_host:
        return False
    return cache.get(_probe_key(account)) is None


def carddav_part_run(*, account: Account, lock: AccountSyncLock | None) -> None:
    from backends.carddav.sync import carddav_account_sync

    discovering = not account.carddav_url and not carddav_progress(account).get("url")
    try:
        carddav_account_sync(account=account, lock=lock)
    except BackendError as exc:
        if not discovering:
            raise
        # No CardDAV service on the mail host: remember, and stay quiet about it.
        log.info("account %s: no CardDAV service found on %s (%s)", account.accountid, account.imap_host, exc)
        cache.set(_probe_key(account), 1, timeout=DISCOVERY_RETRY_SECONDS)
        raise SyncPartSkipped from None


sync_part_register(name=PART, applies=carddav_part_applies, run=carddav_part_run)

# The poll tasks (backends.carddav.poll, backends.dav.poll) must be known to every worker.
from backends.carddav import tasks as _tasks  # noqa: E402, F401
from backends.dav.poll import dav_poll_register  # noqa: E402

# Polled while a client listens, with the account's other DAV parts.
dav_poll_register(name=PART, applies=carddav_part_applies)
