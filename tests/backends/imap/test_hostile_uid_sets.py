"""A real Dovecot behind a relay that rewrites its answers the way a hostile
server would (issue 8): VANISHED, ESEARCH and COPYUID naming every possible
UID there is, overlapping. The proxy's commands must keep their bounds
— below UIDNEXT, at most EXISTS, at most the UIDs copied — and never expand
the set.
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

import pytest
from imapclient import IMAPClient

from backends.base import BackendError
from backends.imap.message_writes import _copyuid
from backends.imap.sync_commands import Capabilities, capabilities_enable, folder_examine, uid_search
from tests.backends.imap.conftest import Mailstore, message
from tests.servers.rewriting_relay import RewritingRelay

# Far more UIDs than the mailbox can hold, overlapping. (Not 1:4294967295: the
# test must also fail cleanly, not exhaust memory, on code without the bounds;
# tests/backends/imap/test_uid_sets.py gives the full range to the parsers.)
HOSTILE_SET = b"1:5000000,4:5000000,2:3"
@pytest.fixture
def relay(alice_mail: Mailstore) -> Iterator[RewritingRelay]:
    made = RewritingRelay(target_host=alice_mail.server.host, target_port=alice_mail.server.imap_port)
    yield made
    made.stop()


@contextlib.contextmanager
def through(relay: RewritingRelay, mail: Mailstore) -> Iterator[tuple[IMAPClient, Capabilities]]:
    client = IMAPClient("127.0.0.1", relay.port, ssl=False, timeout=10)
    try:
        client.login(mail.login, mail.server.users[mail.login])
        caps = Capabilities.of(client)
        yield client, caps
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def _replace(prefix: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def rewrite(line: bytes) -> bytes:
        return new if line.upper().startswith(prefix) else line

    return rewrite


def test_vanished_is_clipped_below_uidnext(alice_mail: Mailstore, relay: RewritingRelay) -> None:
    uids = [alice_mail.append(message(f"note {number}")) for number in range(4)]
    with through(relay, alice_mail) as (client, caps):
        assert caps.qresync, "the test Dovecot offers QRESYNC"
        capabilities_enable(client=client, caps=caps)
        first = folder_examine(client=client, caps=caps, name="INBOX")
        with alice_mail.client() as other:
            other.select_folder("INBOX")
            other.delete_messages([uids[0]])
            other.expunge()
        relay.rewrite = _replace(b"* VANISHED", b"* VANISHED (EARLIER) " + HOSTILE_SET + b"\r\n")
        again = folder_examine(
            client=client, caps=caps, name="INBOX", qresync=(first.uidvalidity, first.highestmodseq)
        )
    # Every UID the mailbox can have is "expunged", and no more.
    assert again.uidnext == uids[-1] + 1
    assert again.vanished == list(range(1, again.uidnext))


def test_esearch_beyond_exists_is_refused(alice_mail: Mailstore, relay: RewritingRelay) -> None:
    for number in range(3):
        alice_mail.append(message(f"note {number}"))
    with through(relay, alice_mail) as (client, caps):
        assert caps.esearch, "the test Dovecot offers ESEARCH"
        selected = folder_examine(client=client, caps=caps, name="INBOX")
        assert uid_search(client=client, caps=caps, criteria="ALL") == [1, 2, 3]
        # The mailbox has 3 messages: a set naming thousands of UIDs, once
        # clipped below UIDNEXT, still names UIDNEXT - 1 = 3 UIDs: accepted.
        relay.rewrite = _replace(b"* ESEARCH", b'* ESEARCH UID ALL ' + HOSTILE_SET + b"\r\n")
        assert uid_search(client=client, caps=caps, criteria="ALL") == [1, 2, 3]
        with alice_mail.client() as other:
            other.select_folder("INBOX")
            other.delete_messages([1])
            other.expunge()
        folder_examine(client=client, caps=caps, name="INBOX")  # now EXISTS 2, UIDNEXT 4
        with pytest.raises(BackendError) as raised:
            uid_search(client=client, caps=caps, criteria="ALL")
    assert "more than the 2" in raised.value.message
    assert selected.exists == 3


def test_copyuid_naming_more_uids_than_copied_is_ignored(alice_mail: Mailstore, relay: RewritingRelay) -> None:
    uids = [alice_mail.append(message(f"note {number}")) for number in range(2)]
    with through(relay, alice_mail) as (client, _caps):
        client.create_folder("Archive")
        client.select_folder("INBOX")
        response = client.copy(uids, "Archive")
        assert _copyuid(client, response, uids) != {}  # Dovecot's own answer pairs both
        relay.rewrite = lambda line: re.sub(rb"\[COPYUID (\d+) [^ ]+ [^\]]+\]",
                                            rb"[COPYUID \1 " + HOSTILE_SET + b" " + HOSTILE_SET + b"]", line)
        response = client.copy(uids, "Archive")
        assert _copyuid(client, response, uids) == {}
