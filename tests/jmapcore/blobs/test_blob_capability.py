"""The urn:ietf:params:jmap:blob capability in the session (RFC 9404 §3)."""

from __future__ import annotations

from django.test import Client

from jmapcore.methods.blob import BLOB_CAPABILITY
from tests.personas import Persona


def test_session_offers_the_blob_capability(jmap_client: Client, alice: Persona) -> None:
    response = jmap_client.get("/session", HTTP_AUTHORIZATION=alice.basic)
    assert response.status_code == 200, response.content
    session = response.json()
    assert session["capabilities"][BLOB_CAPABILITY] == {}
    value = session["accounts"][alice.account_id]["accountCapabilities"][BLOB_CAPABILITY]
    assert value["maxSizeBlobSet"] == session["capabilities"]["urn:ietf:params:jmap:core"]["maxSizeUpload"]
    assert value["maxDataSources"] >= 64
    assert isinstance(value["supportedTypeNames"], list)
    assert value["supportedDigestAlgorithms"] == ["sha", "sha-256"]
    assert session["uploadUrl"].endswith("/upload/{accountId}/")
    assert "/download/{accountId}/{blobId}/{name}?type={type}" in session["downloadUrl"]
