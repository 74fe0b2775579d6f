"""The download endpoint (RFC 8620 §6.2): headers, ranges and who may read what."""

from __future__ import annotations

import json
from urllib.parse import unquote

from django.test import Client
from prometheus_client import REGISTRY

from jmapcore.blob_views import CACHE_CONTROL, content_disposition
from tests.jmapcore.blobs.conftest import body_of, download, upload_ok
from tests.personas import Persona

PAYLOAD = bytes(range(200)) + "€ and more".encode()


def test_non_ascii_name_gets_rfc6266_filename_star(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    name = "Résumé 2026.pdf"
    response = download(jmap_client, alice.basic, alice.account_id, blob_id, name, media_type="application/pdf")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition == "attachment; filename=\"Resume 2026.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf"
    # RFC 8187: the extended value decodes back to the exact name.
    star = disposition.split("filename*=", 1)[1]
    charset, _language, encoded = star.split("'", 2)
    assert charset == "UTF-8"
    assert unquote(encoded, encoding="utf-8") == name
    assert response["Content-Type"] == "application/pdf"
    assert body_of(response) == PAYLOAD


def test_fallback_filename_cannot_break_the_header() -> None:
    header = content_disposition('evil"name\\x\r\n.txt')
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback == "evil_name_x__.txt"
    assert "\r" not in header and "\n" not in header
    assert unquote(header.split("UTF-8''", 1)[1]) == 'evil"name\\x\r\n.txt'
    assert 'filename="download"' in content_disposition("日本語")


def test_cache_and_safety_headers(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    response = download(jmap_client, alice.basic, alice.account_id, blob_id, "a.bin")
    assert response["Cache-Control"] == CACHE_CONTROL
    assert "immutable" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(PAYLOAD))
    assert response["ETag"] == f'"{blob_id}"'


def test_type_parameter_is_validated(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    cases = {
        "text/plain; charset=utf-8": "text/plain; charset=utf-8",
        "image/png": "image/png",
        "not a type": "application/octet-stream",
        "text/html\r\nSet-Cookie: x=1": "application/octet-stream",
    }
    for given, expected in cases.items():
        response = download(jmap_client, alice.basic, alice.account_id, blob_id, "f", media_type=given)
        assert response.status_code == 200
        assert response["Content-Type"] == expected, given
        assert "Set-Cookie" not in response
    missing = download(jmap_client, alice.basic, alice.account_id, blob_id, "f")
    assert missing["Content-Type"] == "application/octet-stream"


def test_bob_cannot_download_alices_blob_by_any_url(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    own_account = download(jmap_client, bob.basic, bob.account_id, blob_id)
    her_account = download(jmap_client, bob.basic, alice.account_id, blob_id)
    with_bearer = download(jmap_client, bob.bearer, alice.account_id, blob_id)
    for response in (own_account, her_account, with_bearer):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert PAYLOAD not in response.content
    # The same answer as for a blob that does not exist at all.
    assert json.loads(own_account.content) == json.loads(
        download(jmap_client, bob.basic, bob.account_id, "Bnothere").content
    )
    # Alice still can.
    assert download(jmap_client, alice.basic, alice.account_id, blob_id).status_code == 200


def test_same_bytes_in_two_accounts_stay_separate(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    alice_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    bob_id = upload_ok(jmap_client, bob.basic, bob.account_id, PAYLOAD)
    assert download(jmap_client, bob.basic, bob.account_id, bob_id).status_code == 200
    # Whatever the ids look like, each login reaches only its own account.
    assert download(jmap_client, bob.basic, alice.account_id, alice_id).status_code == 404
    assert download(jmap_client, alice.basic, bob.account_id, bob_id).status_code == 404


def test_unauthenticated_download_is_401(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    response = download(jmap_client, None, alice.account_id, blob_id)
    assert response.status_code == 401
    assert PAYLOAD not in response.content


def test_head_has_headers_and_no_body(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    url = f"/download/{alice.account_id}/{blob_id}/x.bin?type=image/gif"
    response = jmap_client.head(url, HTTP_AUTHORIZATION=alice.basic)
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(PAYLOAD))
    assert response["Content-Type"] == "image/gif"
    assert response["Cache-Control"] == CACHE_CONTROL
    assert body_of(response) == b""


def test_byte_ranges(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    size = len(PAYLOAD)

    middle = download(jmap_client, alice.basic, alice.account_id, blob_id, HTTP_RANGE="bytes=10-19")
    assert middle.status_code == 206
    assert middle["Content-Range"] == f"bytes 10-19/{size}"
    assert middle["Content-Length"] == "10"
    assert body_of(middle) == PAYLOAD[10:20]

    tail = download(jmap_client, alice.basic, alice.account_id, blob_id, HTTP_RANGE="bytes=-5")
    assert tail.status_code == 206
    assert body_of(tail) == PAYLOAD[-5:]

    open_ended = download(jmap_client, alice.basic, alice.account_id, blob_id, HTTP_RANGE="bytes=200-")
    assert body_of(open_ended) == PAYLOAD[200:]

    beyond = download(jmap_client, alice.basic, alice.account_id, blob_id, HTTP_RANGE=f"bytes={size}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{size}"

    several = download(jmap_client, alice.basic, alice.account_id, blob_id, HTTP_RANGE="bytes=0-1,5-6")
    assert several.status_code == 200
    assert body_of(several) == PAYLOAD

    stale = download(
        jmap_client, alice.basic, alice.account_id, blob_id, HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"other"'
    )
    assert stale.status_code == 200
    assert body_of(stale) == PAYLOAD


def test_if_none_match_is_304(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    response = download(jmap_client, alice.basic, alice.account_id, blob_id, HTTP_IF_NONE_MATCH=f'"{blob_id}"')
    assert response.status_code == 304
    assert body_of(response) == b""


def test_post_to_download_is_405(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    response = jmap_client.post(f"/download/{alice.account_id}/{blob_id}/x", HTTP_AUTHORIZATION=alice.basic)
    assert response.status_code == 405


def test_downloads_are_counted(jmap_client: Client, alice: Persona) -> None:
    def count() -> float:
        return REGISTRY.get_sample_value("jmap_http_requests_total", {"endpoint": "download"}) or 0.0

    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    before = count()
    download(jmap_client, alice.basic, alice.account_id, blob_id)
    download(jmap_client, None, alice.account_id, blob_id)
    assert count() == before + 2
