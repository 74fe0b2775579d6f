"""Celery tasks for accounts: thin wrappers that call accounts.sync services."""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task
def account_sync_task(account_id: int) -> None:
    """Sync one account (accounts.sync.account_sync)."""
    from accounts.sync import account_sync

    account_sync(account_id=account_id)


@shared_task
def accounts_sync_due_task() -> int:
    """Queue syncs of the accounts that are due (run by beat every JMAP_SYNC_INTERVAL)."""
    from accounts.sync import accounts_sync_due

    return accounts_sync_due(now=timezone.now())
