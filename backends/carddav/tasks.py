"""Celery tasks of the CardDAV backend: thin wrappers around backends.carddav.poll."""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task
def carddav_watched_poll_task() -> int:
    """Queue CardDAV polls of the accounts someone listens to (beat, every JMAP_DAV_POLL_LISTENING s)."""
    from backends.carddav.poll import carddav_watched_poll

    return carddav_watched_poll(now=timezone.now())


@shared_task
def carddav_account_poll_task(account_id: int) -> None:
    """Sync one account's address books (the "carddav" sync part alone)."""
    from backends.carddav.poll import carddav_account_poll

    carddav_account_poll(account_pk=account_id)
