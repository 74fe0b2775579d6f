"""The kind's syncer (IMAP) writes its progress without dropping the sync
parts' keys (accounts.sync.sync_progress_kind_write): a CardDAV URL found by
discovery stays on the account, so its contacts capability never drops out of
the session while mail syncs."""
from __future__ import annotations

from accounts.models import Account
from accounts.sync import SYNC_PARTS, sync_progress_kind_write, sync_progress_part_update
from tests.personas import Persona


def test_mail_progress_keeps_the_carddav_part(alice: Persona) -> None:
    assert "carddav" in SYNC_PARTS  # registered by backends.carddav at startup
    account = alice.account
    sync_progress_part_update(account=account, part="carddav", values={"url": "https://dav.example.test/alice/"})
    sync_progress_kind_write(account=account, progress={"phase": "messages", "messages": 50})
    stored = Account.objects.get(pk=account.pk).sync_progress
    assert stored == {"phase": "messages", "messages": 50, "carddav": {"url": "https://dav.example.test/alice/"}}
    assert account.sync_progress == stored


def test_mail_progress_cannot_overwrite_a_part(alice: Persona) -> None:
    account = alice.account
    sync_progress_part_update(account=account, part="carddav", values={"url": "https://dav.example.test/alice/"})
    # A stale copy of the part in the syncer's own dict does not win over what the part stored.
    sync_progress_kind_write(account=account, progress={"messages": 1, "carddav": {"url": "https://old.test/"}})
    assert Account.objects.get(pk=account.pk).sync_progress["carddav"] == {"url": "https://dav.example.test/alice/"}


def test_mail_progress_replaces_its_own_keys(alice: Persona) -> None:
    account = alice.account
    sync_progress_kind_write(account=account, progress={"phase": "folders", "folders": 3})
    sync_progress_kind_write(account=account, progress={"phase": "done"})
    assert Account.objects.get(pk=account.pk).sync_progress == {"phase": "done"}
