"""The fetch processes' one-step preparation of a message
(backends.imap.fetch_prepare) gives exactly the PreparedMessage of the
reference route, message_prepare(message_from_fetch(...)): on real Dovecot
answers for the hostile corpus and for alice's ordinary mail, with the memo
of header values warm or cold; and a FETCH answer that makes parsing raise
gets the reference route's fallback values and its parse problem."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from backends.imap import fetch_prepare, messages
from backends.imap.fetch_prepare import PrepareMemo, message_prepare_fast
from backends.imap.message_store import PreparedMessage, message_prepare, row_adapters
from backends.imap.sync_commands import Capabilities, folder_examine, uid_fetch
from tests.backends.imap.conftest import Mailstore, message
from tests.hostile_mail import hostile_messages

FOLDER = "Hostile"
WHEN = dt.datetime(2024, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


def _fetched(mail: Mailstore, folder: str) -> dict[int, dict[bytes, Any]]:
    """What a fetch process receives for every message of `folder`: the sync's own FETCH items."""
    with mail.client() as client:
        caps = Capabilities.of(client)
        folder_examine(client=client, caps=caps, name=folder)
        return dict(uid_fetch(client=client, uids="1:*", items=messages._fetch_items(caps)))


def _reference(uid: int, data: dict[bytes, Any]) -> PreparedMessage:
    return message_prepare(messages.message_from_fetch(uid=uid, data=data), adapters=row_adapters())


def _both_routes_agree(fetched: dict[int, dict[bytes, Any]]) -> int:
    """Compare both routes on every message, with one memo for all (warm after
    the first pass) and a fresh one per message; returns how many took the
    fast route."""
    shared = PrepareMemo()
    fast_count = 0
    for _pass in range(2):
        for uid, data in fetched.items():
            expected = _reference(uid, data)
            for memo in (shared, PrepareMemo()):
                fast = message_prepare_fast(uid=uid, data=data, preview=None, adapters=row_adapters(), memo=memo)
                if fast is not None:
                    assert fast == expected, uid
                    fast_count += 1
                combined = messages.message_prepared_from_fetch(uid=uid, data=data, preview=None,
                                                                adapters=row_adapters(), memo=memo)  # fmt: skip
                assert combined == expected, uid
    return fast_count


def test_the_hostile_corpus_prepares_as_the_reference_route_prepares_it(alice_mail: Mailstore) -> None:
    corpus = hostile_messages()
    with alice_mail.client() as client:
        client.create_folder(FOLDER)
        for item in corpus:
            client.append(FOLDER, item.raw)
    fetched = _fetched(alice_mail, FOLDER)
    assert len(fetched) == len(corpus)
    # Nearly all of the corpus parses (a problem is the exception), so the fast route is what is compared.
    assert _both_routes_agree(fetched) >= 4 * len(corpus) * 9 // 10


def test_ordinary_mail_with_repeated_senders_prepares_alike(alice_mail: Mailstore) -> None:
    """Senders, recipients and subjects that repeat (what the memo keeps), replies with references,
    an encoded-word subject, an address list longer than the memo keeps."""
    start = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    long_to = ", ".join(f"Member {n} <member{n}@lists.example.test>" for n in range(60))
    assert len(long_to) > fetch_prepare.MEMO_VALUE_MAX
    for number in range(40):
        root = f"<root{number // 5}@example.test>"
        alice_mail.append(message(
            ("Re: " if number % 5 else "") + f"=?utf-8?q?Caf=C3=A9_{number // 5}?=",
            sender=["Bob <bob@example.test>", '"Carol, C." <carol@example.test>'][number % 2],
            to=long_to if number % 7 == 0 else "Alice <alice@example.test>",
            message_id=root if number % 5 == 0 else f"<m{number}@example.test>",
            in_reply_to=None if number % 5 == 0 else root, references=None if number % 5 == 0 else root,
            date=start + dt.timedelta(hours=number),
        ))  # fmt: skip
    fetched = _fetched(alice_mail, "INBOX")
    assert len(fetched) == 40
    assert _both_routes_agree(fetched) == 2 * 2 * 40
    memo = PrepareMemo()
    for uid, data in fetched.items():
        message_prepare_fast(uid=uid, data=data, preview=None, adapters=row_adapters(), memo=memo)
    # Two senders and one short recipient list are kept; the long list is not.
    assert long_to not in memo.addresses and "Alice <alice@example.test>" in memo.addresses
    assert len(memo.addresses) == 3


@pytest.mark.parametrize(
    "data",
    [
        {b"UID": 7, b"MODSEQ": (b"not-a-number",), b"FLAGS": (b"\\Seen",), b"RFC822.SIZE": 10, b"INTERNALDATE": WHEN},
        {b"UID": 7, b"MODSEQ": ("\x00",), b"RFC822.SIZE": 10, b"INTERNALDATE": WHEN,
         b"BODY[HEADER.FIELDS (SUBJECT)]": b"Subject: Hi\r\n\r\n"},
    ],
)
def test_a_fetch_answer_that_breaks_parsing_gets_the_reference_fallback(data: dict[bytes, Any]) -> None:
    """mallory's server answers MODSEQ with something that is not a number:
    the fast route gives up, and the message is kept the reference route's
    way, with its problem recorded (issue 8)."""
    assert message_prepare_fast(uid=7, data=data, preview=None, adapters=row_adapters(), memo=PrepareMemo()) is None
    prepared = messages.message_prepared_from_fetch(uid=7, data=data, preview=None, adapters=row_adapters(),
                                                    memo=PrepareMemo())  # fmt: skip
    assert prepared.parse_problem.startswith("ValueError")
    assert prepared.uid == 7 and prepared.size == 10 and prepared.modseq == 0
    assert prepared == _reference(7, data)
