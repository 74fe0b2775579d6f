"""Fixtures for the blob tests: a private blob directory per test and helpers
that go through the real upload, download and API endpoints."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.http.response import HttpResponseBase
from django.test import Client
from pytest_django.fixtures import Settings

from jmapcore import limits
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.methods.blob import BLOB_CAPABILITY
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses

BLOB_USING = [CORE_CAPABILITY, BLOB_CAPABILITY]


@pytest.fixture(autouse=True)
def blob_dir(settings: Settings, tmp_path: Path) -> Path:
    """Every test stores its blobs in a directory of its own."""
    path = tmp_path / "blobs"
    settings.BLOB_DIR = path
    return path


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> limits.CoreLimits:
    """maxSizeUpload of 1000 octets and 2 concurrent uploads, read at call time by the blob code."""
    small = dataclasses.replace(limits.LIMITS, maxSizeUpload=1000, maxConcurrentUpload=2)
    monkeypatch.setattr(limits, "LIMITS", small)
    return small


def upload(client: Client, auth: str | None, account_id: str, data: bytes, *, content_type: str | None = None) -> Any:
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
    if content_type is None:
        # The test client would otherwise invent multipart/form-data.
        extra["CONTENT_TYPE"] = ""
        return client.generic("POST", f"/upload/{account_id}/", data, **extra)
    return client.post(f"/upload/{account_id}/", data=data, content_type=content_type, **extra)


def upload_ok(client: Client, auth: str, account_id: str, data: bytes, content_type: str = "application/pdf") -> str:
    response = upload(client, auth, account_id, data, content_type=content_type)
    assert response.status_code == 201, response.content
    return str(json.loads(response.content)["blobId"])


def download_url(account_id: str, blob_id: str, name: str, media_type: str | None = None) -> str:
    url = f"/download/{quote(account_id, safe='')}/{quote(blob_id, safe='')}/{quote(name, safe='')}"
    if media_type is not None:
        url += "?type=" + quote(media_type, safe="")
    return url


def download(
    client: Client, auth: str | None, account_id: str, blob_id: str, name: str = "file.bin", **extra: Any
) -> Any:
    media_type = extra.pop("media_type", None)
    if auth:
        extra["HTTP_AUTHORIZATION"] = auth
    return client.get(download_url(account_id, blob_id, name, media_type), **extra)


def body_of(response: HttpResponseBase) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return bytes(response.content)  # type: ignore[attr-defined]


def call(client: Client, auth: str, *calls: list[Any], using: list[str] | None = None, **extra: Any) -> list[Any]:
    """Run method calls through the API endpoint; the methodResponses."""
    body = jmap_request(*calls, using=using if using is not None else BLOB_USING, **extra)
    return method_responses(api_post(client, auth, body))
