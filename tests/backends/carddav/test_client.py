"""The WebDAV client (backends.dav.client): answer size cap, TLS verification, credentials."""
from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from backends.base import BackendError
from backends.carddav.davxml import DAV
from backends.dav.client import DavClient
from tests.backends.carddav.dav_people import DavServer, carddav_user

pytestmark = pytest.mark.django_db


def test_an_answer_larger_than_the_cap_is_refused(alice: Account, dav_server: DavServer) -> None:
    user = alice.dav_user  # type: ignore[attr-defined]
    with DavClient.for_account(alice, max_bytes=100) as client, pytest.raises(BackendError) as failed:
        client.propfind(user.carddav_url, depth="1", props=[(DAV, "displayname")])
    assert failed.value.permanent and "exceeds 100 bytes" in str(failed.value)


def test_a_server_certificate_nobody_trusts_is_refused(xandikos_server: Any, settings: Any) -> None:
    """Without its CA in JMAP_TLS_CA_FILE, Xandikos's certificate is not accepted."""
    settings.JMAP_TLS_CA_FILE = ""
    user = carddav_user(server=xandikos_server, persona="alice")
    with DavClient(username=user.login, password=user.password) as client, pytest.raises(BackendError) as failed:
        client.propfind(user.carddav_url, depth="0", props=[(DAV, "displayname")])
    assert failed.value.permanent and "TLS" in str(failed.value)
    assert user.password not in str(failed.value)
