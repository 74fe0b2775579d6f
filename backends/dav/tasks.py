"""Celery tasks of the shared DAV poll: thin wrappers around backends.dav.poll."""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task
def dav_watched_poll_task() -> int:
    """Queue DAV polls of the accounts someone listens to (beat, every JMAP_DAV_POLL_LISTENING s)."""
    from backends.dav.poll import dav_watched_poll

    return dav_watched_poll(now=timezone.now())


@shared_task
def dav_account_poll_task(account_id: int, names: list[str]) -> None:
    """Run the given DAV sync parts of one account."""
    from backends.dav.poll import dav_account_poll

    dav_account_poll(account_pk=account_id, names=list(names))
