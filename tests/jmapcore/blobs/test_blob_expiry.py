"""Expiry of unreferenced uploads and removal of files nobody refers to."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from jmapcore import blobs
from jmapcore.models import UploadedBlob
from tests.jmapcore.blobs.conftest import download, upload_ok
from tests.personas import Persona

LATER = blobs.UNREFERENCED_TTL + timedelta(hours=1)


def file_of(row: UploadedBlob) -> Path:
    return blobs.blob_file_path(row.sha256)


def test_ttl_is_at_least_an_hour() -> None:
    """RFC 8620 §6.1: unreferenced uploads live at least one hour."""
    assert blobs.UNREFERENCED_TTL >= timedelta(hours=1)


def test_old_unreferenced_upload_is_purged_and_a_kept_one_stays(jmap_client: Client, alice: Persona) -> None:
    stale_id = upload_ok(jmap_client, alice.basic, alice.account_id, b"nobody wants me")
    kept_id = upload_ok(jmap_client, alice.basic, alice.account_id, b"an attachment of a draft")
    blobs.blob_keep(account=alice.account, blob_id=kept_id)
    stale = UploadedBlob.objects.get(blob_id=stale_id)
    kept = UploadedBlob.objects.get(blob_id=kept_id)
    assert stale.expires_at is not None and kept.expires_at is None
    assert file_of(stale).exists() and file_of(kept).exists()

    # Not yet due: nothing happens.
    assert blobs.blob_purge_expired() == 0
    assert file_of(stale).exists()

    assert blobs.blob_purge_expired(now=timezone.now() + LATER) == 1
    assert not UploadedBlob.objects.filter(blob_id=stale_id).exists()
    assert not file_of(stale).exists()
    assert UploadedBlob.objects.filter(blob_id=kept_id).exists()
    assert file_of(kept).read_bytes() == b"an attachment of a draft"
    assert download(jmap_client, alice.basic, alice.account_id, stale_id).status_code == 404
    assert download(jmap_client, alice.basic, alice.account_id, kept_id).status_code == 200


def test_shared_file_goes_only_with_its_last_row(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    same = b"the same bytes in two accounts"
    alice_id = upload_ok(jmap_client, alice.basic, alice.account_id, same)
    bob_id = upload_ok(jmap_client, bob.basic, bob.account_id, same)
    alice_row = UploadedBlob.objects.get(account=alice.account, blob_id=alice_id)
    bob_row = UploadedBlob.objects.get(account=bob.account, blob_id=bob_id)
    assert alice_row.sha256 == bob_row.sha256
    path = file_of(alice_row)

    # Alice's upload expired, Bob's is still fresh.
    UploadedBlob.objects.filter(pk=alice_row.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert blobs.blob_purge_expired() == 1
    assert not UploadedBlob.objects.filter(pk=alice_row.pk).exists()
    assert path.read_bytes() == same
    assert download(jmap_client, bob.basic, bob.account_id, bob_id).status_code == 200
    assert download(jmap_client, alice.basic, alice.account_id, alice_id).status_code == 404

    assert blobs.blob_purge_expired(now=timezone.now() + LATER) == 1
    assert not path.exists()
    assert not UploadedBlob.objects.exists()


def test_uploading_again_renews_the_expiry(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, b"again")
    UploadedBlob.objects.filter(blob_id=blob_id).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert upload_ok(jmap_client, alice.basic, alice.account_id, b"again") == blob_id
    assert blobs.blob_purge_expired() == 0
    row = UploadedBlob.objects.get(blob_id=blob_id)
    assert row.expires_at is not None and row.expires_at > timezone.now() + blobs.UNREFERENCED_TTL - timedelta(
        minutes=5
    )


def test_uploading_a_kept_blob_again_keeps_it(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, b"kept")
    blobs.blob_keep(account=alice.account, blob_id=blob_id)
    upload_ok(jmap_client, alice.basic, alice.account_id, b"kept")
    assert UploadedBlob.objects.get(blob_id=blob_id).expires_at is None


def test_released_blob_expires_again(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, b"released")
    blobs.blob_keep(account=alice.account, blob_id=blob_id)
    blobs.blob_release(account=alice.account, blob_id=blob_id)
    assert blobs.blob_purge_expired(now=timezone.now() + LATER) == 1


def test_keep_is_scoped_to_the_account(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, b"alice's")
    with pytest.raises(blobs.BlobNotFound):
        blobs.blob_keep(account=bob.account, blob_id=blob_id)
    assert UploadedBlob.objects.get(blob_id=blob_id).expires_at is not None


def test_stale_temporary_files_are_swept(alice: Persona) -> None:
    tmp = blobs._tmp_dir()
    stale = tmp / "up-crashed"
    stale.write_bytes(b"half an upload")
    old = (timezone.now() - blobs.UNREFERENCED_TTL - timedelta(hours=1)).timestamp()
    os.utime(stale, (old, old))
    fresh = tmp / "up-running"
    fresh.write_bytes(b"still arriving")
    blobs.blob_purge_expired()
    assert not stale.exists()
    assert fresh.exists()


def test_commit_puts_back_a_file_purged_before_it(alice: Persona, django_capture_on_commit_callbacks: Any) -> None:
    """A purge in another process cannot see an uncommitted row and may remove the
    file; after commit the upload's temporary copy restores it."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = blobs.blob_store(account=alice.account, data=b"racing a purge", type="text/plain")
    path = file_of(row)
    path.unlink()  # what the other process's purge did
    for callback in callbacks:
        callback()
    assert path.read_bytes() == b"racing a purge"
    assert list(blobs._tmp_dir().iterdir()) == []


def test_commit_drops_the_temporary_copy(alice: Persona, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        row = blobs.blob_store(account=alice.account, data=b"plain upload", type="text/plain")
    assert file_of(row).read_bytes() == b"plain upload"
    assert list(blobs._tmp_dir().iterdir()) == []
