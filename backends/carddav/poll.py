"""Shorter polling of the address books of accounts someone listens to.

CardDAV has no push, so a change made by another CardDAV client reaches JMAP
at the account's next sync (JMAP_SYNC_INTERVAL). While a JMAP client listens
for push, the DAV parts of the account ("carddav", "caldav", …) are polled
every JMAP_DAV_POLL_LISTENING seconds. The machinery is backends.dav.poll
(generalised from this module); the "carddav" part registers there
(backends.carddav.part), and these names stay for the beat entry and callers
that know them.
"""
from __future__ import annotations

from datetime import datetime

from backends.dav.poll import dav_account_poll, dav_poll_enqueue, dav_watched_poll


def carddav_watched_poll(*, now: datetime) -> int:
    """Queue a DAV-only sync of every watched account with a part due (backends.dav.poll)."""
    return dav_watched_poll(now=now)


def carddav_poll_enqueue(*, account_pk: int) -> bool:
    return dav_poll_enqueue(account_pk=account_pk, names=["carddav"])


def carddav_account_poll(*, account_pk: int) -> None:
    """Sync the address books of one account now (the "carddav" sync part only)."""
    dav_account_poll(account_pk=account_pk, names=["carddav"])
