"""Account synchronisation: scheduling, the per-account lock, the outcome record.

account_sync() is what a Celery worker runs for one account. It

1. takes the account's sync lock (Django cache `add`, so it holds across
   processes and machines sharing the cache); a sync already running means
   this one is skipped, never run twice at once (DESIGN.md, "Sync");
2. re-encrypts the account's stored secrets with the active scheme, so
   plaintext and older ciphertexts migrate as accounts sync;
3. runs the syncer registered for the account's kind (SYNCERS). At the
   foundation stage every kind's syncer is the backend reachability check;
   the IMAP sync engine replaces it with syncer_register(kind="imap", ...);
4. records the outcome: last_sync_at and a cleared error, or last_sync_error
   and last_sync_error_at (last_sync_at keeps the last success);
5. runs the registered sync parts (SYNC_PARTS, e.g. "carddav" from
   backends.carddav) that apply to the account, under the same lock, whatever
   the outcome of step 3. A part's failure is recorded in
   sync_progress[<part>]["error"] and ["errorAt"] and never becomes the
   account's (mail) error; a mail failure does not stop the parts.
"""
from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.crypto import CryptoError
from accounts.models import Account
from backends.base import BackendError

log = logging.getLogger("jmap.sync")

# The sync lock is a lease: it expires SYNC_LOCK_SECONDS after its last
# renewal. While a sync runs, a keeper thread renews it every
# SYNC_LOCK_RENEW_SECONDS (and the IMAP syncer calls lock.extend() between
# batches), so a long initial sync keeps it; a worker killed mid-sync (kill -9,
# OOM, lost machine) stops renewing, and the next sync can start after at most
# SYNC_LOCK_SECONDS instead of waiting for a long fixed timeout.
SYNC_LOCK_SECONDS = 30
SYNC_LOCK_RENEW_SECONDS = 10
# A stale "run once more" flag costs one extra sync; it must outlive any running sync.
RERUN_FLAG_SECONDS = 3600
# Errors are stored for operators; a backend can say a lot, the admin needs little.
ERROR_MAX_CHARS = 1000


class AccountSyncLock:
    """A lock on one account's sync, valid across processes sharing the cache.

    The value is a random token so that only the holder releases it: a sync
    that outlived its lock must not release the lock of the sync that followed.
    """

    def __init__(self, *, account_id: int, seconds: int = SYNC_LOCK_SECONDS) -> None:
        self.key = account_sync_lock_key(account_id=account_id)
        self.seconds = seconds
        self.token = secrets.token_hex(16)
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(cache.add(self.key, self.token, timeout=self.seconds))
        return self.held

    def extend(self) -> bool:
        """Restart the lock's timeout; False if it expired and someone else holds it."""
        if cache.get(self.key) != self.token:
            self.held = False
            return False
        cache.touch(self.key, timeout=self.seconds)
        return True

    def release(self) -> None:
        if self.held and cache.get(self.key) == self.token:
            cache.delete(self.key)
        self.held = False


class AccountSyncLockKeeper:
    """Renews a held AccountSyncLock from a daemon thread until stopped.

    A renewal that finds the lock gone or taken stops renewing (lock.held
    becomes False, which the syncer's next lock.extend() also reports).
    """

    def __init__(self, *, lock: AccountSyncLock, every: float = SYNC_LOCK_RENEW_SECONDS) -> None:
        self.lock = lock
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sync-lock-{lock.key}", daemon=True)

    def __enter__(self) -> AccountSyncLockKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)

    def _run(self) -> None:
        from django.db import connections

        try:
            while not self._stop.wait(self.every):
                try:
                    if not self.lock.extend():
                        log.warning("%s: lock lost to another sync; no longer renewed", self.lock.key)
                        return
                except Exception as exc:
                    # The cache is briefly unreachable: try again at the next tick.
                    log.warning("%s: could not renew the sync lock: %s", self.lock.key, exc)
        finally:
            # The database cache opened a connection in this thread.
            connections.close_all()


def account_sync_lock_key(*, account_id: int) -> str:
    return f"jmap:sync-lock:{account_id}"


def _pending_key(account_id: int) -> str:
    return f"jmap:sync-pending:{account_id}"


class Syncer(Protocol):
    """Brings the proxy's cache of one account up to date with its backend.

    Raises BackendError when the backend refuses or fails; anything else
    raised is treated as a bug (logged with traceback, recorded generically).
    """

    def __call__(self, *, account: Account, lock: AccountSyncLock) -> None: ...


def account_check_sync(*, account: Account, lock: AccountSyncLock) -> None:
    """The foundation-stage sync: prove the backend answers and accepts the
    account's credentials (backends.checks)."""
    from backends.checks import account_backend_check

    account_backend_check(account=account)


# Registry keyed by account kind (Account.Kind values).
SYNCERS: dict[str, Syncer] = {kind: account_check_sync for kind in Account.Kind.values}


def syncer_register(*, kind: str, syncer: Syncer) -> None:
    """Make `syncer` the sync of every account of this kind."""
    if kind not in Account.Kind.values:
        raise ValueError(f"unknown account kind {kind!r}")
    SYNCERS[kind] = syncer


def syncer(kind: str) -> Callable[[Syncer], Syncer]:
    """Decorator form of syncer_register."""

    def register(func: Syncer) -> Syncer:
        syncer_register(kind=kind, syncer=func)
        return func

    return register


class SyncPartRun(Protocol):
    """Syncs one more kind of data of an account after its kind's syncer (see SyncPart)."""

    def __call__(self, *, account: Account, lock: AccountSyncLock | None) -> None: ...


@dataclass(frozen=True)
class SyncPart:
    """Another backend an account syncs besides its kind's (e.g. CardDAV next to IMAP).

    `applies(account)` says whether the part runs for the account; `run` raises
    BackendError on a backend failure like a Syncer. The part owns the key
    `name` of Account.sync_progress (a dict): sync_progress_part_update writes
    it, and the part's outcome lands there as "error"/"errorAt" (cleared and
    "syncedAt" set on success).
    """

    name: str
    applies: Callable[[Account], bool]
    run: SyncPartRun


class SyncPartSkipped(Exception):
    """Raised by a part's run when it found it has nothing to do after all (e.g.
    no CardDAV service where discovery looked): no outcome is recorded."""


# Registry keyed by part name, run in registration order.
SYNC_PARTS: dict[str, SyncPart] = {}


def sync_part_register(*, name: str, applies: Callable[[Account], bool], run: SyncPartRun) -> None:
    """Run `run` for every account `applies` to, after the kind's syncer (module doc step 5)."""
    SYNC_PARTS[name] = SyncPart(name=name, applies=applies, run=run)


def sync_progress_part_update(*, account: Account, part: str, values: dict[str, Any],
                              remove: Iterable[str] = ()) -> dict[str, Any]:
    """Merge `values` into sync_progress[part] (and drop the keys in `remove`),
    leaving every other key of sync_progress as it is in the database; returns
    the part's new dict. The row is locked for the read-modify-write, so two
    writers of different parts never lose each other's keys."""
    with transaction.atomic():
        stored = Account.objects.select_for_update().filter(pk=account.pk).values_list("sync_progress", flat=True)
        current = stored.first()
        progress: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
        mine = progress.get(part)
        updated: dict[str, Any] = dict(mine) if isinstance(mine, dict) else {}
        updated.update(values)
        for key in remove:
            updated.pop(key, None)
        progress[part] = updated
        Account.objects.filter(pk=account.pk).update(sync_progress=progress)
    account.sync_progress = progress
    return updated


def sync_progress_kind_write(*, account: Account, progress: dict[str, Any]) -> None:
    """Store `progress` (the kind's syncer's, e.g. the IMAP sync's) as the
    account's sync_progress, keeping the parts' keys (SYNC_PARTS) as they are
    stored: a discovered CardDAV URL, its errors and parse problems never drop
    out while mail syncs. The row is locked for the read-modify-write, as in
    sync_progress_part_update."""
    written = {key: value for key, value in progress.items() if key not in SYNC_PARTS}
    with transaction.atomic():
        stored = Account.objects.select_for_update().filter(pk=account.pk).values_list("sync_progress", flat=True)
        current = stored.first()
        if isinstance(current, dict):
            written.update({name: current[name] for name in SYNC_PARTS if name in current})
        Account.objects.filter(pk=account.pk).update(sync_progress=written)
    account.sync_progress = written


def sync_parts_run(*, account: Account, lock: AccountSyncLock | None, names: Iterable[str] | None = None) -> None:
    """Run the sync parts that apply to `account` (all, or those in `names`), each
    failure recorded on its own part (see the module docstring). Never raises."""
    wanted = set(names) if names is not None else None
    for part in list(SYNC_PARTS.values()):
        if wanted is not None and part.name not in wanted:
            continue
        try:
            if not part.applies(account):
                continue
        except Exception:
            log.exception("account %s: sync part %s: applies() crashed", account.accountid, part.name)
            continue
        error = ""
        try:
            part.run(account=account, lock=lock)
        except SyncPartSkipped:
            continue
        except BackendError as exc:
            log.warning("account %s: %s sync failed: %s", account.accountid, part.name, exc)
            error = _error_text(exc)
        except CryptoError as exc:
            log.warning("account %s: %s: cannot read stored credentials: %s", account.accountid, part.name, exc)
            error = f"cannot read stored credentials: {_error_text(exc)}"
        except Exception as exc:
            log.exception("account %s: %s sync crashed", account.accountid, part.name)
            error = f"internal error during sync ({type(exc).__name__})"
        now = timezone.now().isoformat()
        try:
            if error:
                sync_progress_part_update(account=account, part=part.name, values={"error": error, "errorAt": now})
            else:
                sync_progress_part_update(account=account, part=part.name, values={"syncedAt": now},
                                          remove=("error", "errorAt"))
        except Exception:
            log.exception("account %s: could not record the outcome of the %s sync", account.accountid, part.name)


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


def account_sync_error_record(*, account: Account, error: str) -> None:
    """Store a sync failure on the account (only the error columns are written)."""
    now = timezone.now()
    Account.objects.filter(pk=account.pk).update(last_sync_error=error, last_sync_error_at=now)
    account.last_sync_error, account.last_sync_error_at = error, now


def account_sync_success_record(*, account: Account) -> None:
    now = timezone.now()
    Account.objects.filter(pk=account.pk).update(last_sync_at=now, last_sync_error="", last_sync_error_at=None)
    account.last_sync_at, account.last_sync_error, account.last_sync_error_at = now, "", None


def _reseal(account: Account) -> None:
    """Re-encrypt stored secrets with the active scheme (product README:
    credentials migrate the next time each account syncs). A failure here must
    not stop the sync: the old value stays readable until the next attempt."""
    from accounts.secret_fields import account_reseal

    try:
        account_reseal(account=account)
    except Exception as exc:
        log.warning("account %s: could not re-encrypt secrets: %s", account.accountid, type(exc).__name__)


def account_sync(*, account_id: int) -> None:
    """Sync one account, unless a sync of it is already running (see module doc).

    Never raises for backend failures or missing accounts: the outcome is on
    the account row and in the log.
    """
    cache.delete(_pending_key(account_id))
    lock = AccountSyncLock(account_id=account_id)
    if not lock.acquire():
        # The running sync may have read a folder before the change that queued
        # this one (the IDLE listener queues syncs while others run): have it
        # run once more rather than leave the change to the next periodic sync.
        cache.set(_rerun_key(account_id), 1, timeout=RERUN_FLAG_SECONDS)
        if not lock.acquire():
            log.info("account #%s: sync already running; it will run once more", account_id)
            return
    while True:
        cache.delete(_rerun_key(account_id))
        try:
            with AccountSyncLockKeeper(lock=lock):
                _account_sync_locked(account_id=account_id, lock=lock)
        finally:
            lock.release()
        # Released first, then checked: whoever asks after this check finds the lock free.
        if not cache.delete(_rerun_key(account_id)) or not lock.acquire():
            return


def _rerun_key(account_id: int) -> str:
    return f"jmap:sync-rerun:{account_id}"


def _account_sync_locked(*, account_id: int, lock: AccountSyncLock) -> None:
    """account_sync() with the lock held: run the syncer, record the outcome."""
    account = Account.objects.select_related("pool").filter(pk=account_id).first()
    if account is None:
        log.info("account #%s: gone before its sync ran", account_id)
        return
    _reseal(account)
    _kind_sync(account=account, lock=lock)
    if lock.held:
        sync_parts_run(account=account, lock=lock)


def account_sync_parts(*, account_id: int, names: Iterable[str]) -> bool:
    """Run only the sync parts `names` of one account (e.g. the CardDAV poll of a
    watched account), under the account's sync lock. Returns False without
    doing anything when a sync of the account is running: it runs the parts too."""
    lock = AccountSyncLock(account_id=account_id)
    if not lock.acquire():
        return False
    try:
        with AccountSyncLockKeeper(lock=lock):
            account = Account.objects.select_related("pool").filter(pk=account_id).first()
            if account is not None:
                sync_parts_run(account=account, lock=lock, names=names)
    finally:
        lock.release()
    # A full sync asked for meanwhile (an account's first sync, queued as it was
    # created) found the lock taken and left the holder a "run once more" flag:
    # honour it now, or it would wait for the next beat tick.
    if cache.get(_rerun_key(account_id)):
        account_sync(account_id=account_id)
    return True


def _kind_sync(*, account: Account, lock: AccountSyncLock) -> None:
    """Step 3 and 4 of the module docstring: the kind's syncer and its outcome."""
    run = SYNCERS.get(account.kind)
    if run is None:
        account_sync_error_record(account=account, error=f"no sync for accounts of kind {account.kind!r}")
        return
    try:
        run(account=account, lock=lock)
    except BackendError as exc:
        log.warning("account %s: sync failed: %s", account.accountid, exc)
        account_sync_error_record(account=account, error=_error_text(exc))
    except CryptoError as exc:
        # e.g. an enc1: value while JMAP_SECRET_KEY is unset: the operator can fix it.
        log.warning("account %s: cannot read stored credentials: %s", account.accountid, exc)
        account_sync_error_record(account=account, error=f"cannot read stored credentials: {_error_text(exc)}")
    except Exception as exc:
        if not Account.objects.filter(pk=account.pk).exists():
            # Deleted while it synced (the API, the admin): its rows went with it, whatever step failed for that.
            log.info("account %s: deleted during its sync (%s)", account.accountid, type(exc).__name__)
            return
        log.exception("account %s: sync crashed", account.accountid)
        account_sync_error_record(account=account, error=f"internal error during sync ({type(exc).__name__})")
    else:
        account_sync_success_record(account=account)
        log.info("account %s: synced", account.accountid)


def account_sync_enqueue(*, account: Account) -> None:
    """Queue a sync of `account` for a worker.

    Never raises: if the broker cannot take the message, the failure is
    recorded on the account (the admin shows it) and logged.
    """
    _enqueue(account)


def account_sync_enqueue_on_commit(*, account: Account) -> None:
    """Queue the first sync of a just-created `account` as soon as the
    transaction that created it commits (immediately when none is open).

    Every way of creating an account (management API, admin, manage.py
    create_account) calls this, so a client that connects right after the
    creation finds its mailboxes without waiting for a beat tick
    (JMAP_SYNC_INTERVAL). After commit, because a worker that picked the task
    up before the commit would not find the account. The account is marked
    as queued, so beat does not queue it a second time meanwhile; like
    account_sync_enqueue, never raises.
    """

    def queue() -> None:
        try:
            cache.add(_pending_key(account.pk), 1, timeout=_pending_seconds())
        except Exception as exc:  # the mark only saves beat a duplicate; queue anyway
            log.warning("account %s: could not mark the sync as queued: %s", account.accountid, exc)
        if not _enqueue(account):
            cache.delete(_pending_key(account.pk))

    transaction.on_commit(queue)


def _enqueue(account: Account) -> bool:
    from accounts.tasks import account_sync_task

    try:
        account_sync_task.delay(account.pk)
    except Exception as exc:
        log.warning("account %s: could not queue a sync: %s", account.accountid, exc)
        account_sync_error_record(account=account, error=f"could not queue a sync: {_error_text(exc)}")
        return False
    return True


def _pending_seconds() -> int:
    # Long enough that a stopped worker doesn't let beat pile up one message per
    # account per interval, short enough that a lost message is soon replaced.
    return max(300, 10 * int(settings.JMAP_SYNC_INTERVAL))


# The fraction of JMAP_SYNC_INTERVAL by which an account may be early and still be due.
DUE_SLACK = 0.25


def accounts_sync_due(*, now: datetime) -> int:
    """Queue a sync for every account of an active pool that has neither synced
    nor failed within JMAP_SYNC_INTERVAL seconds before `now`. An account
    already queued (and not yet started) is not queued again. Returns how many
    syncs were queued."""
    interval = int(settings.JMAP_SYNC_INTERVAL)
    # A sync that finished just after the previous beat tick is a little less
    # than one interval old at this tick; without slack it would wait a second
    # interval, and accounts would sync every 2 x JMAP_SYNC_INTERVAL.
    cutoff = now - timedelta(seconds=interval * (1 - DUE_SLACK))
    due = (
        Account.objects.filter(pool__is_active=True)
        .filter(Q(last_sync_at__isnull=True) | Q(last_sync_at__lt=cutoff))
        .filter(Q(last_sync_error_at__isnull=True) | Q(last_sync_error_at__lt=cutoff))
        .order_by(F("last_sync_at").asc(nulls_first=True), "pk")
    )
    queued = 0
    for account in due.iterator():
        if not cache.add(_pending_key(account.pk), 1, timeout=_pending_seconds()):
            continue
        if _enqueue(account):
            queued += 1
        else:
            cache.delete(_pending_key(account.pk))
    return queued
