"""Redirects of the passthrough account check (backends.jmap.session_check).

The check runs the account client's Session fetch, so each redirect hop
passes backends.jmap.url_policy and the credentials stay on the sessionUrl's
origin. Here the operator allows internal upstreams
(JMAP_UPSTREAM_ALLOW_PRIVATE), so mallory's server may redirect bob's check
to another internal origin: the redirect is followed, but bob's
Authorization header is not sent there (RFC 9110 §15.4: a client must not
hand credentials to an origin it was merely redirected to).
"""
from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from backends.base import BackendError
from backends.jmap.session_check import jmap_session_fetch
from tests.backends.jmap.review_servers import CyrusFront, RecordingServer
from tests.servers.cyrus import CyrusServer


def test_a_redirect_to_another_allowed_origin_carries_no_credentials(
    cyrus: CyrusServer, mallory_server: CyrusFront, internal: RecordingServer, settings: Settings
) -> None:
    settings.JMAP_UPSTREAM_ALLOW_PRIVATE = True
    bob = cyrus.user("bob-f-check-redirect", "bob-f-check-redirect-pw")
    mallory_server.redirect = f"{internal.base_url}/jmap"
    with pytest.raises(BackendError) as caught:
        jmap_session_fetch(session_url=mallory_server.session_url, username=bob.login, password=bob.password)
    # The internal service's answer is JSON but no Session.
    assert "did not return a JMAP Session" in caught.value.message
    assert [(seen.method, seen.path) for seen in internal.seen] == [("GET", "/jmap")]
    assert internal.seen[0].authorization is None
    assert bob.password not in caught.value.message


def test_a_redirect_within_the_session_urls_origin_is_followed_with_the_credentials(cyrus: CyrusServer) -> None:
    # Cyrus answers /.well-known/jmap with a 301 to /jmap (RFC 8620 §2.2), same origin.
    bob = cyrus.user("bob-f-check-redirect", "bob-f-check-redirect-pw")
    session = jmap_session_fetch(session_url=bob.session_url, username=bob.login, password=bob.password)
    assert bob.login in session["accounts"]
    # Made absolute against where the Session was read from (after the redirect).
    assert session["apiUrl"].startswith(cyrus.base_url)
