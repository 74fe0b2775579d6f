"""Review finding: a passthrough download is served from the proxy's own
origin, where the dashboard and the login's session cookie live; the blob's
bytes come from the upstream (an attachment anyone could have mailed). A
local download is always `attachment` with nosniff (jmapcore.blob_views), so
a browser never renders it as a page of the proxy; a passthrough download
must be the same whatever Content-Disposition the upstream sends, else an
HTML "attachment" runs script on the proxy's origin.

Fixed by the owner of jmapcore/blob_views.py and backends/jmap/blob_stream.py
(3273c68).
"""
from __future__ import annotations

import secrets

import pytest

from tests.backends.jmap.forward_people import MixedPerson, mixed_person
from tests.backends.jmap.review_servers import CyrusFront
from tests.servers.cyrus import CyrusServer
from tests.servers.dovecot import DovecotServer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The test client reads the streamed body synchronously; the server streams it asynchronously.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators"),
    pytest.mark.usefixtures("fresh_upstream_clients"),
]

PAGE = b"<html><script>fetch('/jmap/', {method: 'POST', credentials: 'include'})</script></html>"


def _download(person: MixedPerson, blob_id: str) -> tuple[str, str, bytes]:
    download = person.client.get(f"/download/{person.cyrus_id}/{blob_id}/page.html?type=text/html",
                                 HTTP_AUTHORIZATION=person.auth)  # fmt: skip
    assert download.status_code == 200, download
    try:
        body = b"".join(download) if download.streaming else bytes(download.content)
    finally:
        download.close()
    return download["Content-Disposition"], download.get("X-Content-Type-Options", ""), body


def test_a_download_from_cyrus_is_an_attachment(dovecot: DovecotServer, cyrus: CyrusServer) -> None:
    person = mixed_person(name=f"alice{secrets.token_hex(2)}", dovecot=dovecot, cyrus=cyrus)
    disposition, nosniff, body = _download(person, person.upload(PAGE, content_type="text/html"))
    assert body == PAGE
    assert disposition.startswith("attachment")
    assert nosniff == "nosniff"


def test_an_upstream_saying_inline_still_gets_an_attachment(
    dovecot: DovecotServer, cyrus: CyrusServer, mallory_server: CyrusFront
) -> None:
    person = mixed_person(name=f"bob{secrets.token_hex(2)}", dovecot=dovecot, cyrus=cyrus,
                          session_url=mallory_server.session_url)
    mallory_server.download_headers = {"Content-Disposition": "inline"}
    disposition, nosniff, body = _download(person, person.upload(PAGE, content_type="text/html"))
    assert body == PAGE
    assert nosniff == "nosniff"
    assert disposition.startswith("attachment"), disposition
