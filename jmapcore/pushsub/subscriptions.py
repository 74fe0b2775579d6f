"""PushSubscription lifecycle services (RFC 8620 §7.2).

- `pushsub_queryset`: what a login can see and change — its own
  subscriptions that are neither disabled nor expired (an expired one is as
  good as destroyed, §7.2 "MAY automatically destroy"; a disabled one makes
  the client create a new one, which is verified afresh).
- `pushsub_create` stores a subscription with a fresh verification code and,
  after commit, queues the PushVerification (§7.2.2).
- `pushsub_expires_cap`: the server's limit on `expires` (§7.2: at least 48
  hours, SHOULD be at least 7 days; we use 7 days, also when none is given).
- `pushsub_state_changed` is the jmapcore.state subscriber: after a write
  commits it queues a StateChange for every verified subscription of the
  account's login whose `types` intersect the change; `pushsub_changes_queue`
  does the same for a change relayed from an upstream JMAP server.
- `push_subscriptions_purge` deletes expired subscriptions and long-disabled ones.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Account, Pool
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.push_subscription import PushSubscription
from jmapcore.pushsub.delivery import PushKind

# Imported here, not only when a push is queued: the worker learns the task's
# name when jmapcore's methods are imported at start-up (apps.ready).
from jmapcore.pushsub.tasks import pushsub_deliver_task

logger = logging.getLogger("jmap.pushsub")

PUSH_MAX_LIFETIME = timedelta(days=7)
# A login with more subscriptions than this is refused new ones (overQuota).
PUSH_MAX_PER_POOL = 50
# Disabled subscriptions stay this long (for the operator's eyes) before the purge.
PUSH_DISABLED_RETENTION = timedelta(days=1)
ID_PREFIX = "p"


def pushsub_queryset(*, pool: Pool, now: datetime | None = None) -> QuerySet[PushSubscription]:
    """The live subscriptions of `pool`: every client-facing lookup goes through this."""
    return PushSubscription.objects.filter(pool=pool, disabled_at__isnull=True, expires__gt=now or timezone.now())


def pushsub_expires_cap(*, requested: datetime | None, now: datetime) -> datetime:
    """`requested` limited to PUSH_MAX_LIFETIME from now; that limit when None. Whole seconds,
    as a UTCDate carries no fraction (RFC 8620 §1.4)."""
    limit = (now + PUSH_MAX_LIFETIME).replace(microsecond=0)
    return limit if requested is None or requested > limit else requested


def pushsub_create(
    *,
    pool: Pool,
    device_client_id: str,
    url: str,
    keys: dict[str, str] | None,
    expires: datetime,
    types: list[str] | None,
) -> PushSubscription:
    """Store a new, unverified subscription and queue its PushVerification after commit."""
    sub = PushSubscription.objects.create(
        pool=pool,
        jmap_id=jmap_id_new(ID_PREFIX),
        device_client_id=device_client_id,
        url=url,
        keys=keys,
        # 128 random bits: not guessable by brute force (§7.2.2).
        verification_code=secrets.token_hex(16),
        expires=expires,
        types=types,
    )
    transaction.on_commit(lambda: pushsub_enqueue(subscription_id=sub.pk, kind=PushKind.VERIFICATION))
    return sub


def pushsub_enqueue(*, subscription_id: int, kind: PushKind, changed: dict[str, Any] | None = None) -> None:
    """Hand one message to the Celery worker."""
    pushsub_deliver_task.delay(subscription_id, str(kind), changed)


def pushsub_changed_for(types: list[str] | None, changed: dict[str, str]) -> dict[str, str]:
    """The part of a TypeState map a subscription asked for (§7.2 `types`; null means all)."""
    if types is None:
        return dict(changed)
    wanted = set(types)
    return {name: state for name, state in changed.items() if name in wanted}


def pushsub_state_changed(account: Account, changed: dict[str, str]) -> None:
    """jmapcore.state subscriber: queue a StateChange for each interested verified subscription.

    Runs after commit in the writing process (web or worker); one indexed
    query, and a queued task only where something is to be sent.
    """
    rows = PushSubscription.objects.filter(
        pool_id=account.pool_id, verified=True, disabled_at__isnull=True, expires__gt=timezone.now()
    ).values_list("pk", "types")
    for pk, types in rows:
        wanted = pushsub_changed_for(types, changed)
        if not wanted:
            continue
        try:
            pushsub_enqueue(subscription_id=pk, kind=PushKind.STATE_CHANGE, changed={account.accountid: wanted})
        except Exception:
            # A broker hiccup must not stop the other subscriptions; the client
            # still catches up on its next /changes.
            logger.exception("could not queue a push to subscription %s", pk)


def pushsub_changes_queue(*, pool_id: int, changed: dict[str, dict[str, str]]) -> None:
    """Queue a StateChange whose map already names its accountIds (several at once, e.g. a
    passthrough account's upstream accounts, jmapcore.push.relayed) for each interested
    verified subscription of the login `pool_id`; the same rules as pushsub_state_changed."""
    rows = PushSubscription.objects.filter(
        pool_id=pool_id, verified=True, disabled_at__isnull=True, expires__gt=timezone.now()
    ).values_list("pk", "types")
    for pk, types in rows:
        wanted = {account_id: pushsub_changed_for(types, states) for account_id, states in changed.items()}
        wanted = {account_id: states for account_id, states in wanted.items() if states}
        if not wanted:
            continue
        try:
            pushsub_enqueue(subscription_id=pk, kind=PushKind.STATE_CHANGE, changed=wanted)
        except Exception:
            logger.exception("could not queue a push to subscription %s", pk)


def push_subscriptions_purge(*, now: datetime) -> int:
    """Delete expired subscriptions and those disabled for PUSH_DISABLED_RETENTION; returns
    how many. Deleting the row erases the URL and keys (§7.2)."""
    stale = Q(expires__lte=now) | Q(disabled_at__lte=now - PUSH_DISABLED_RETENTION)
    count, _ = PushSubscription.objects.filter(stale).delete()
    return count
