"""FETCH answers a hostile server could send, through a real Dovecot whose
answers a relay rewrites (issue 8): the sync's UID FETCH either parses them
or fails with a BackendError that says why — never a RecursionError, never a
stall.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from imapclient import IMAPClient

from backends.base import BackendError
from backends.imap.sync_commands import Capabilities, folder_examine, uid_fetch
from tests.backends.imap.conftest import Mailstore, message
from tests.servers.rewriting_relay import RewritingRelay


@pytest.fixture
def relay(alice_mail: Mailstore) -> Iterator[RewritingRelay]:
    made = RewritingRelay(target_host=alice_mail.server.host, target_port=alice_mail.server.imap_port)
    yield made
    made.stop()


@contextlib.contextmanager
def examined(relay: RewritingRelay, mail: Mailstore) -> Iterator[IMAPClient]:
    client = IMAPClient("127.0.0.1", relay.port, ssl=False, timeout=10)
    try:
        client.login(mail.login, mail.server.users[mail.login])
        folder_examine(client=client, caps=Capabilities.of(client), name="INBOX")
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def _fetch_line(replacement: bytes) -> Callable[[bytes], bytes]:
    def rewrite(line: bytes) -> bytes:
        return replacement if line.startswith(b"* 1 FETCH") else line

    return rewrite


def test_bodystructure_nested_thousands_deep_is_a_backend_error(alice_mail: Mailstore,
                                                                relay: RewritingRelay) -> None:  # fmt: skip
    uid = alice_mail.append(message("deep"))
    with examined(relay, alice_mail) as client:
        honest = uid_fetch(client=client, uids=str(uid), items=["BODYSTRUCTURE"])
        assert honest[uid][b"BODYSTRUCTURE"][0] == b"text"
        deep = b"(" * 5000 + b'"text" "plain" NIL NIL NIL "7bit" 1 1' + b")" * 5000
        relay.rewrite = _fetch_line(b"* 1 FETCH (UID %d BODYSTRUCTURE %s)\r\n" % (uid, deep))
        with pytest.raises(BackendError) as raised:
            uid_fetch(client=client, uids=str(uid), items=["BODYSTRUCTURE"])
        assert "nested more than" in raised.value.message
        assert raised.value.permanent is False
        relay.rewrite = lambda line: line
        assert uid_fetch(client=client, uids=str(uid), items=["FLAGS"])[uid][b"SEQ"] == 1  # the connection goes on


def test_long_quoted_strings_and_unterminated_brackets(alice_mail: Mailstore, relay: RewritingRelay) -> None:
    uid = alice_mail.append(message("quoted"))
    escaped = b'\\"mallory\\\\' * 50_000
    with examined(relay, alice_mail) as client:
        relay.rewrite = _fetch_line(b'* 1 FETCH (UID %d X-TEXT "%s" FLAGS ())\r\n' % (uid, escaped))
        parsed = uid_fetch(client=client, uids=str(uid), items=["FLAGS"])
        assert parsed[uid][b"X-TEXT"] == b'"mallory\\' * 50_000
        relay.rewrite = _fetch_line(b"* 1 FETCH (UID %d BODY[" % uid + b"x " * 50_000 + b")\r\n")
        with pytest.raises(BackendError):
            uid_fetch(client=client, uids=str(uid), items=["FLAGS"])
