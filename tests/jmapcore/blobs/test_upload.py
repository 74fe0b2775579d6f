"""The upload endpoint (RFC 8620 §6.1): authentication, scoping, limits and the response."""

from __future__ import annotations

import json
import os

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from accounts.models import Pool
from jmapcore import blobs
from jmapcore.concurrency import slot_acquire, slot_release
from jmapcore.limits import CoreLimits
from jmapcore.models import UploadedBlob
from tests.jmapcore.blobs.conftest import body_of, download, upload, upload_ok
from tests.personas import Persona

PROBLEM = "application/problem+json"


def test_binary_upload_downloads_identically(jmap_client: Client, alice: Persona) -> None:
    payload = bytes(range(256)) * 64 + b"\x00\xff\r\n\x00"
    response = upload(jmap_client, alice.basic, alice.account_id, payload, content_type="application/x-test")
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["accountId"] == alice.account_id
    assert body["size"] == len(payload)
    assert body["type"] == "application/x-test"
    assert isinstance(body["blobId"], str) and body["blobId"].startswith("B")

    fetched = download(jmap_client, alice.basic, alice.account_id, body["blobId"])
    assert fetched.status_code == 200
    assert body_of(fetched) == payload


def test_five_megabyte_upload_round_trips_with_bearer(jmap_client: Client, alice: Persona) -> None:
    payload = os.urandom(5 * 1024 * 1024)
    blob_id = upload_ok(jmap_client, alice.bearer, alice.account_id, payload)
    fetched = download(jmap_client, alice.bearer, alice.account_id, blob_id, "big.bin")
    assert fetched.status_code == 200
    assert fetched["Content-Length"] == str(len(payload))
    assert body_of(fetched) == payload


def test_type_defaults_to_octet_stream_and_keeps_parameters(jmap_client: Client, alice: Persona) -> None:
    bare = upload(jmap_client, alice.basic, alice.account_id, b"no type given")
    assert bare.status_code == 201, bare.content
    assert json.loads(bare.content)["type"] == "application/octet-stream"
    with_charset = upload(jmap_client, alice.basic, alice.account_id, b"text", content_type="text/plain; charset=utf-8")
    assert json.loads(with_charset.content)["type"] == "text/plain; charset=utf-8"


def test_same_bytes_twice_give_the_same_blob_id(jmap_client: Client, alice: Persona) -> None:
    """Our documented choice: one blob per distinct content per account (RFC 8620 §6.1 allows it)."""
    first = upload_ok(jmap_client, alice.basic, alice.account_id, b"twice")
    second = upload_ok(jmap_client, alice.basic, alice.account_id, b"twice")
    other = upload_ok(jmap_client, alice.basic, alice.account_id, b"something else")
    assert first == second != other
    assert UploadedBlob.objects.filter(account=alice.account).count() == 2


def test_empty_upload_is_a_blob_of_size_zero(jmap_client: Client, alice: Persona) -> None:
    response = jmap_client.post(
        f"/upload/{alice.account_id}/", data=b"", content_type="text/plain", HTTP_AUTHORIZATION=alice.basic
    )
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert body["size"] == 0
    assert body_of(download(jmap_client, alice.basic, alice.account_id, body["blobId"])) == b""


def test_over_max_size_upload_is_413_limit(jmap_client: Client, alice: Persona, small_limits: CoreLimits) -> None:
    accepted = upload(jmap_client, alice.basic, alice.account_id, b"x" * 1000, content_type="text/plain")
    assert accepted.status_code == 201, accepted.content

    refused = upload(jmap_client, alice.basic, alice.account_id, b"y" * 1001, content_type="text/plain")
    assert refused.status_code == 413
    assert refused["Content-Type"] == PROBLEM
    problem = json.loads(refused.content)
    assert problem["type"] == "urn:ietf:params:jmap:error:limit"
    assert problem["limit"] == "maxSizeUpload"
    assert problem["status"] == 413
    assert UploadedBlob.objects.filter(account=alice.account).count() == 1


def test_streamed_data_over_the_limit_leaves_nothing_behind(alice: Persona, blob_dir: object) -> None:
    """The service stops reading at the limit, whatever Content-Length claimed."""
    chunks = (b"z" * 4096 for _ in range(10))
    with pytest.raises(blobs.BlobTooLarge) as caught:
        blobs.blob_store(account=alice.account, data=chunks, type="text/plain", limit=10_000)
    assert caught.value.limit == 10_000
    assert not UploadedBlob.objects.exists()
    tmp = blobs._tmp_dir()
    assert list(tmp.iterdir()) == []


def test_concurrent_uploads_per_pool_are_limited(jmap_client: Client, alice: Persona, small_limits: CoreLimits) -> None:
    held = [slot_acquire(scope="upload", pool_id=alice.pool.pk, limit=small_limits.maxConcurrentUpload)]
    held.append(slot_acquire(scope="upload", pool_id=alice.pool.pk, limit=small_limits.maxConcurrentUpload))
    assert all(slot is not None for slot in held)

    refused = upload(jmap_client, alice.basic, alice.account_id, b"busy", content_type="text/plain")
    assert refused.status_code == 429
    problem = json.loads(refused.content)
    assert problem["type"] == "urn:ietf:params:jmap:error:limit"
    assert problem["limit"] == "maxConcurrentUpload"

    for slot in held:
        assert slot is not None
        slot_release(slot=slot)
    accepted = upload(jmap_client, alice.basic, alice.account_id, b"busy", content_type="text/plain")
    assert accepted.status_code == 201
    # The upload gave its own slot back.
    again = slot_acquire(scope="upload", pool_id=alice.pool.pk, limit=small_limits.maxConcurrentUpload)
    assert again is not None


def test_unauthenticated_upload_is_401(jmap_client: Client, alice: Persona) -> None:
    response = upload(jmap_client, None, alice.account_id, b"anonymous", content_type="text/plain")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response
    wrong = upload(jmap_client, "Bearer jmap_not-a-token", alice.account_id, b"x", content_type="text/plain")
    assert wrong.status_code == 401
    assert not UploadedBlob.objects.exists()


def test_mallory_cannot_upload_into_alices_account(jmap_client: Client, alice: Persona, mallory: Persona) -> None:
    response = upload(jmap_client, mallory.basic, alice.account_id, b"planted", content_type="text/plain")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert not UploadedBlob.objects.filter(account=alice.account).exists()
    unknown = upload(jmap_client, mallory.basic, "no-such-account", b"planted", content_type="text/plain")
    assert unknown.status_code == 404


def test_inactive_login_cannot_upload(jmap_client: Client, alice: Persona) -> None:
    Pool.objects.filter(pk=alice.pool.pk).update(is_active=False)
    response = upload(jmap_client, alice.basic, alice.account_id, b"x", content_type="text/plain")
    assert response.status_code == 401


def test_get_on_the_upload_url_is_405(jmap_client: Client, alice: Persona) -> None:
    response = jmap_client.get(f"/upload/{alice.account_id}/", HTTP_AUTHORIZATION=alice.basic)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_uploads_are_counted(jmap_client: Client, alice: Persona) -> None:
    def count() -> float:
        return REGISTRY.get_sample_value("jmap_http_requests_total", {"endpoint": "upload"}) or 0.0

    before = count()
    upload_ok(jmap_client, alice.basic, alice.account_id, b"counted")
    assert count() == before + 1
