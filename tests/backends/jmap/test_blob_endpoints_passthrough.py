"""Upload and download endpoints for a passthrough account, against a real Cyrus (issue 12, item 3).

alice's login has an IMAP account and a Cyrus passthrough account. Her
uploads to the passthrough accountId land on Cyrus (checked by downloading
them from Cyrus directly); downloads come from Cyrus with its headers, a
Range gives 206, an unknown blob is 404, and upstream failures are problem
documents, never a 500. mallory cannot reach alice's upstream account.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from backends.imap.pool import imap_pool_close_all
from backends.jmap.client import upstream_clients_clear
from jmapcore.passthrough_blobs import passthrough_blobs
from tests.backends.jmap.blob_people import BlobAlice
from tests.servers.cyrus import CyrusServer
from tests.servers.dovecot import DovecotServer, free_port

pytestmark = [
    pytest.mark.django_db,
    # Django's test client reads the proxy's async download iterator synchronously, and says so.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators"),
    pytest.mark.usefixtures("fresh_upstream_clients"),
]


@pytest.fixture
def alice(dovecot: DovecotServer, cyrus: CyrusServer) -> Iterator[BlobAlice]:
    yield BlobAlice(dovecot=dovecot, cyrus=cyrus, cyrus_login="alice-q3-endpoints")
    imap_pool_close_all()


def _upload(alice: BlobAlice, account_id: str, data: bytes, media_type: str = "application/pdf") -> dict[str, object]:
    response = alice.client.post(f"/upload/{account_id}/", data=data, content_type=media_type,
                                 HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert response.status_code == 201, response.content
    return dict(json.loads(response.content))


def _body(response: Any) -> bytes:
    """The whole body; a streamed one is read through the response's own iterator (async under the hood)."""
    try:
        return b"".join(response) if response.streaming else bytes(response.content)
    finally:
        response.close()


def test_the_passthrough_blobs_are_registered() -> None:
    assert passthrough_blobs() is not None


def test_an_upload_lands_on_the_upstream_under_the_proxy_account_id(alice: BlobAlice) -> None:
    data = b"%PDF-1.4 alice's report " + secrets.token_bytes(3000)
    answer = _upload(alice, alice.upstream_id, data)
    assert answer["accountId"] == alice.upstream_id
    assert answer["size"] == len(data)
    assert answer["type"] == "application/pdf"
    # The blob id is Cyrus's own: Cyrus serves the same bytes under it.
    assert alice.upstream_download(str(answer["blobId"])) == data


def test_a_download_streams_the_upstream_blob_with_its_headers(alice: BlobAlice) -> None:
    data = secrets.token_bytes(700_000)
    blob_id = _upload(alice, alice.upstream_id, data)["blobId"]
    response = alice.client.get(f"/download/{alice.upstream_id}/{blob_id}/report.pdf?type=application/pdf",
                                HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert response.status_code == 200
    assert response.streaming, "the body must be streamed, not built in memory"
    body = _body(response)
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
    assert response["Content-Length"] == str(len(data))
    assert response["Content-Type"].startswith("application/pdf")
    assert "report.pdf" in response["Content-Disposition"]


def test_a_range_gives_206_with_just_those_bytes(alice: BlobAlice) -> None:
    data = secrets.token_bytes(300_000)
    blob_id = _upload(alice, alice.upstream_id, data)["blobId"]
    url = f"/download/{alice.upstream_id}/{blob_id}/part.bin?type=application/octet-stream"
    response = alice.client.get(url, HTTP_AUTHORIZATION=alice.auth, HTTP_RANGE="bytes=1000-270999")
    assert response.status_code == 206
    assert _body(response) == data[1000:271000]
    assert response["Content-Range"] == f"bytes 1000-270999/{len(data)}"
    assert response["Content-Length"] == str(270000)
    suffix = alice.client.get(url, HTTP_AUTHORIZATION=alice.auth, HTTP_RANGE="bytes=-10")
    assert suffix.status_code == 206 and _body(suffix) == data[-10:]
    outside = alice.client.get(url, HTTP_AUTHORIZATION=alice.auth, HTTP_RANGE=f"bytes={len(data) + 5}-")
    assert outside.status_code == 416
    assert outside["Content-Type"] == "application/problem+json"


def test_an_unknown_blob_is_404(alice: BlobAlice) -> None:
    response = alice.client.get(f"/download/{alice.upstream_id}/Gdeadbeefdeadbeefdeadbeef/x.bin?type=text/plain",
                                HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_local_blob_id_is_not_found_upstream(alice: BlobAlice) -> None:
    local = _upload(alice, alice.imap_id, b"only on the proxy")
    response = alice.client.get(f"/download/{alice.upstream_id}/{local['blobId']}/x.txt?type=text/plain",
                                HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert response.status_code == 404


def test_mallory_cannot_reach_alices_upstream_account(alice: BlobAlice) -> None:
    from tests.personas import make_persona

    mallory = make_persona("mallory")
    blob_id = _upload(alice, alice.upstream_id, b"secret plans")["blobId"]
    client = Client()
    download = client.get(f"/download/{alice.upstream_id}/{blob_id}/x.txt?type=text/plain",
                          HTTP_AUTHORIZATION=mallory.basic)  # fmt: skip
    assert download.status_code == 404
    upload = client.post(f"/upload/{alice.upstream_id}/", data=b"spam", content_type="text/plain",
                         HTTP_AUTHORIZATION=mallory.basic)  # fmt: skip
    assert upload.status_code == 404


def test_upstream_refusing_the_credentials_is_a_problem_not_a_500(alice: BlobAlice) -> None:
    from accounts.secret_fields import account_secret_set

    account_secret_set(account=alice.passthrough, field="password", value="no-longer-valid-" + secrets.token_hex(4))
    upstream_clients_clear()
    response = alice.client.post(f"/upload/{alice.upstream_id}/", data=b"hello", content_type="text/plain",
                                 HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert response.status_code == 403
    body = json.loads(response.content)
    assert body["status"] == 403 and "no-longer-valid" not in response.content.decode()
    download = alice.client.get(f"/download/{alice.upstream_id}/Gabc/x.txt?type=text/plain",
                                HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert download.status_code == 403


def test_an_unreachable_upstream_is_502(alice: BlobAlice) -> None:
    session = dict(alice.passthrough.upstream_session)
    dead = f"http://127.0.0.1:{free_port()}"
    session["uploadUrl"] = dead + "/jmap/upload/{accountId}/"
    session["downloadUrl"] = dead + "/jmap/download/{accountId}/{blobId}/{name}?accept={type}"
    alice.passthrough.upstream_session = session
    alice.passthrough.save(update_fields=["upstream_session", "updated_at"])
    upstream_clients_clear()
    upload = alice.client.post(f"/upload/{alice.upstream_id}/", data=b"hello", content_type="text/plain",
                               HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert upload.status_code == 502
    assert upload["Content-Type"] == "application/problem+json"
    download = alice.client.get(f"/download/{alice.upstream_id}/Gabc/x.txt?type=text/plain",
                                HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert download.status_code == 502


def test_an_unreadable_stored_credential_is_503_not_500(alice: BlobAlice) -> None:
    from accounts.models import Account
    from accounts.secrets import SecretBinding, seal

    # A sealed value moved from another account's row does not open here (it is bound to its row).
    foreign = seal(alice.cyrus_user.password, binding=SecretBinding(accountid="someone-else", field="password"))
    Account.objects.filter(pk=alice.passthrough.pk).update(password=foreign)
    upstream_clients_clear()
    upload = alice.client.post(f"/upload/{alice.upstream_id}/", data=b"hello", content_type="text/plain",
                               HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert upload.status_code == 503, upload.content
    assert upload["Content-Type"] == "application/problem+json"
    download = alice.client.get(f"/download/{alice.upstream_id}/Gabc/x.txt?type=text/plain",
                                HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert download.status_code == 503


def test_an_upload_over_the_upstreams_max_size_is_refused_before_it_goes_up(alice: BlobAlice) -> None:
    # Cyrus allows 1 GiB; the stored Session is given a small maxSizeUpload to stand for a stricter upstream.
    session = dict(alice.passthrough.upstream_session)
    core = dict(session["capabilities"]["urn:ietf:params:jmap:core"])
    core["maxSizeUpload"] = 1000
    session["capabilities"] = {**session["capabilities"], "urn:ietf:params:jmap:core": core}
    alice.passthrough.upstream_session = session
    alice.passthrough.save(update_fields=["upstream_session", "updated_at"])
    upstream_clients_clear()
    response = alice.client.post(f"/upload/{alice.upstream_id}/", data=b"x" * 1001, content_type="text/plain",
                                 HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert response.status_code == 413
    body = json.loads(response.content)
    assert body["type"] == "urn:ietf:params:jmap:error:limit" and body["limit"] == "maxSizeUpload"
    assert _upload(alice, alice.upstream_id, b"x" * 1000)["size"] == 1000
