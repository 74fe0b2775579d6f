"""Blob ids served by a registered source (as backends will do for message parts)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.test import Client

from accounts.models import Account
from jmapcore import blobs
from tests.jmapcore.blobs.conftest import body_of, call, download
from tests.personas import Persona

# A source of our own: blob "Tnote-<accountid>" holds a line about that account.
PREFIX = "Tnote-"


def _note_bytes(accountid: str) -> bytes:
    return f"note of {accountid}\n".encode()


def _open(account: Account, blob_id: str) -> blobs.OpenedBlob:
    if blob_id != PREFIX + account.accountid:
        raise blobs.BlobNotFound(blob_id)
    data = _note_bytes(account.accountid)
    return blobs.OpenedBlob(io.BytesIO(data), len(data), "text/plain")


@pytest.fixture
def note_source() -> Iterator[None]:
    blobs.register_blob_source(PREFIX, _open)
    yield
    blobs.unregister_blob_source(PREFIX)


def test_prefixes_must_not_collide(note_source: None) -> None:
    for bad in ("B", "Bx", "Tnote-x", "Tno", "", "a/b"):
        with pytest.raises(ValueError):
            blobs.register_blob_source(bad, _open)


def test_download_and_blob_get_of_a_source_blob(jmap_client: Client, alice: Persona, note_source: None) -> None:
    blob_id = PREFIX + alice.account_id
    response = download(jmap_client, alice.basic, alice.account_id, blob_id, "note.txt")
    assert response.status_code == 200
    assert body_of(response) == _note_bytes(alice.account_id)
    [[_n, result, _id]] = call(
        jmap_client, alice.basic, ["Blob/get", {"accountId": alice.account_id, "ids": [blob_id]}, "g"]
    )
    assert result["list"] == [
        {"id": blob_id, "data:asText": _note_bytes(alice.account_id).decode(), "size": len(_note_bytes("alice"))}
    ]


def test_source_decides_who_sees_what(jmap_client: Client, alice: Persona, bob: Persona, note_source: None) -> None:
    blob_id = PREFIX + alice.account_id
    assert download(jmap_client, bob.basic, bob.account_id, blob_id).status_code == 404
    assert download(jmap_client, bob.basic, alice.account_id, blob_id).status_code == 404


def test_copying_a_source_blob_stores_its_bytes(jmap_client: Client, alice: Persona, note_source: None) -> None:
    work = Account.objects.create(accountid="alice-work", pool=alice.pool, email="w@example.test")
    blob_id = PREFIX + alice.account_id
    [[_n, result, _id]] = call(
        jmap_client,
        alice.basic,
        ["Blob/copy", {"fromAccountId": alice.account_id, "accountId": work.accountid, "blobIds": [blob_id]}, "c"],
    )
    copied = result["copied"][blob_id]
    assert copied.startswith(blobs.UPLOAD_ID_PREFIX)
    assert body_of(download(jmap_client, alice.basic, work.accountid, copied)) == _note_bytes(alice.account_id)
