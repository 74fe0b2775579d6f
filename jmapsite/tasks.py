"""Periodic housekeeping tasks; each calls one service of jmapcore."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task

# Tombstones older than this are purged; a client whose state is older gets
# cannotCalculateChanges (RFC 8620 §5.2) and resynchronises from scratch.
TOMBSTONE_RETENTION = timedelta(days=30)


@shared_task
def blobs_purge_task() -> int:
    """Delete uploads whose retention expired (RFC 8620 §6.1: unreferenced
    uploads may be deleted after a while)."""
    from jmapcore.blobs import blob_purge_expired

    return blob_purge_expired()


@shared_task
def tombstones_purge_task() -> int:
    """Delete destroyed-object records older than TOMBSTONE_RETENTION."""
    from django.utils import timezone

    from jmapcore.state import tombstones_purge

    return tombstones_purge(older_than=timezone.now() - TOMBSTONE_RETENTION)


@shared_task
def submissions_send_due_task() -> int:
    """Send the delayed EmailSubmissions whose sendAt has come (RFC 8621 §7,
    RFC 4865 FUTURERELEASE); run by beat every few seconds."""
    from django.utils import timezone

    from jmapcore.mail.submission_send import submissions_send_due

    return submissions_send_due(now=timezone.now())


@shared_task
def push_subscriptions_purge_task() -> int:
    """Delete expired PushSubscriptions (RFC 8620 §7.2 "MAY automatically
    destroy") and ones disabled after failed deliveries."""
    from django.utils import timezone

    from jmapcore.pushsub.subscriptions import push_subscriptions_purge

    return push_subscriptions_purge(now=timezone.now())
