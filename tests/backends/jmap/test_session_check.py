"""The backend check of a passthrough account (backends.jmap.session_check) against Cyrus."""
from __future__ import annotations

import pytest

from backends.base import BackendError
from backends.jmap.session_check import jmap_session_fetch
from tests.servers.cyrus import CyrusServer


def test_basic_credentials_fetch_the_session_after_the_redirect(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-q1-check", "alice-check-pw")
    session = jmap_session_fetch(session_url=alice.session_url, username=alice.login, password=alice.password)
    assert alice.login in session["accounts"]


def test_an_oauth_account_sends_its_token_as_bearer(cyrus: CyrusServer) -> None:
    # Cyrus here knows no OAuth: the token is refused by the server (401), not by the check itself.
    alice = cyrus.user("alice-q1-check", "alice-check-pw")
    with pytest.raises(BackendError) as caught:
        jmap_session_fetch(session_url=alice.session_url, username=alice.login, password="an-access-token",
                           auth_type="oauth")
    assert caught.value.message == "sessionUrl returned HTTP 401"
    assert "an-access-token" not in str(caught.value)
