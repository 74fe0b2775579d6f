"""Review findings in backends.jmap.session_check.jmap_session_fetch (the
check run when an account is created, and by the RFC 9698 JMAPACCESS switch
on a URL an IMAP server announced), fixed by its owner (acfb069): it now
runs the account client's Session fetch, under backends.jmap.url_policy.

mallory's JMAP server (tests' CyrusFront before the suite's Cyrus) answers
the Session GET with a redirect to the proxy host's internal service, or
with JSON nested deeper than Python's reader goes.
"""
from __future__ import annotations

import pytest

from backends.base import BackendError
from backends.jmap.session_check import jmap_session_fetch
from tests.backends.jmap.review_servers import CyrusFront, RecordingServer
from tests.servers.cyrus import CyrusServer, CyrusUser


@pytest.fixture
def alice_cyrus(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user("alice-r1-check", "alice-r1-check-pw")


def test_the_check_does_not_follow_a_redirect_to_an_internal_address(
    alice_cyrus: CyrusUser, mallory_server: CyrusFront, internal: RecordingServer
) -> None:
    mallory_server.redirect = f"{internal.base_url}/jmap"
    with pytest.raises(BackendError):
        jmap_session_fetch(session_url=mallory_server.session_url, username=alice_cyrus.login,
                           password=alice_cyrus.password)
    assert internal.seen == []


def test_the_check_of_a_session_nested_too_deep_is_a_backend_error(
    alice_cyrus: CyrusUser, mallory_server: CyrusFront
) -> None:
    mallory_server.session_raw = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(BackendError):
        jmap_session_fetch(session_url=mallory_server.session_url, username=alice_cyrus.login,
                           password=alice_cyrus.password)


def test_the_check_never_quotes_a_token_that_is_no_header_value(alice_cyrus: CyrusUser) -> None:
    token = "tok-r1-check-0123456789abcdef\n"
    with pytest.raises(BackendError) as caught:
        jmap_session_fetch(session_url=alice_cyrus.session_url, username="", password=token, auth_type="bearer")
    assert token.strip() not in caught.value.message
