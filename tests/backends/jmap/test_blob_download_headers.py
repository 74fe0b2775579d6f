"""The headers of a passthrough download are the proxy's (jmapcore.blob_views).

A download is served from the proxy's origin, so what decides how a browser
treats the bytes is set as for a local download, whatever the upstream says:
Content-Type from the client's `type` (RFC 8620 §6.2), Content-Disposition
`attachment` with the client's `name` (RFC 6266), nosniff, and a private
Cache-Control. mallory's server (CyrusFront before the suite's Cyrus) adds
its own such headers to alice's download answers.
"""
from __future__ import annotations

import secrets

import pytest

from jmapcore.blob_views import CACHE_CONTROL
from tests.backends.jmap.forward_people import mixed_person
from tests.backends.jmap.review_servers import CyrusFront
from tests.servers.cyrus import CyrusServer
from tests.servers.dovecot import DovecotServer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The test client reads the streamed body synchronously; the server streams it asynchronously.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators"),
    pytest.mark.usefixtures("fresh_upstream_clients"),
]

PDF = b"%PDF-1.4\n% alice's report, not a page\n"


def test_the_upstreams_type_disposition_and_caching_do_not_reach_the_client(
    dovecot: DovecotServer, cyrus: CyrusServer, mallory_server: CyrusFront
) -> None:
    alice = mixed_person(name=f"alice{secrets.token_hex(2)}", dovecot=dovecot, cyrus=cyrus,
                         session_url=mallory_server.session_url)  # fmt: skip
    blob_id = alice.upload(PDF, content_type="application/pdf")
    mallory_server.download_headers = {
        "Content-Disposition": 'inline; filename="page.html"',
        "Cache-Control": "public, max-age=600",
        "X-Content-Type-Options": "sniff-away",
    }
    download = alice.client.get(f"/download/{alice.cyrus_id}/{blob_id}/report.pdf?type=application/pdf",
                                HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    try:
        assert download.status_code == 200
        body = b"".join(download) if download.streaming else bytes(download.content)
    finally:
        download.close()
    assert body == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment")
    assert "report.pdf" in download["Content-Disposition"] and "page.html" not in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Cache-Control"] == CACHE_CONTROL


def test_a_type_the_client_did_not_give_is_octet_stream(dovecot: DovecotServer, cyrus: CyrusServer) -> None:
    bob = mixed_person(name=f"bob{secrets.token_hex(2)}", dovecot=dovecot, cyrus=cyrus)
    blob_id = bob.upload(PDF, content_type="application/pdf")
    # RFC 8620 §6.2: the type comes from the request; without one, as for a local blob.
    head = bob.client.head(f"/download/{bob.cyrus_id}/{blob_id}/report.pdf", HTTP_AUTHORIZATION=bob.auth)
    assert head.status_code == 200
    assert head["Content-Type"] == "application/octet-stream"
    assert head["Content-Disposition"].startswith("attachment")


def test_a_conditional_header_httpx_cannot_send_is_left_out(dovecot: DovecotServer, cyrus: CyrusServer) -> None:
    # mallory's own client sends a Range with a Latin-1 octet: forwarding it made httpx raise
    # UnicodeEncodeError (a 500); it is not a range anyone can serve, so the whole blob comes back.
    mallory = mixed_person(name=f"mallory{secrets.token_hex(2)}", dovecot=dovecot, cyrus=cyrus)
    blob_id = mallory.upload(PDF, content_type="application/pdf")
    download = mallory.client.get(f"/download/{mallory.cyrus_id}/{blob_id}/report.pdf?type=application/pdf",
                                  HTTP_AUTHORIZATION=mallory.auth, HTTP_RANGE="bytes=0-4\u00e9")  # fmt: skip
    try:
        assert download.status_code == 200
        body = b"".join(download) if download.streaming else bytes(download.content)
    finally:
        download.close()
    assert body == PDF
