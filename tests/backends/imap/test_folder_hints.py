"""A folder's \\Marked / \\Unmarked LIST attribute is the server's hint whether
mail arrived since the folder was last selected (RFC 3501 §7.2.2, RFC 9051
§7.3.1). Dovecot adds \\Unmarked to a new account's folders some seconds after
creating them, and flips it as mail comes and folders are selected. No Mailbox
property (RFC 8621 §2) depends on it, so it must not move the Mailbox state:
a StateChange for it sends every listening client to Mailbox/changes for
nothing. (It was the "first" change that a late EventSource of
tests/backends/imap_idle heard, at a beat tick, 26 s after its account was
created.)

The listings below are what LIST answered for a fresh Dovecot user, then a few
seconds later; mailboxes_sync applies them to real Mailbox rows."""
from __future__ import annotations

from dataclasses import replace

import pytest

from backends.imap.folders import mailboxes_sync
from backends.imap.sync_commands import FolderListing
from jmapcore.models.mail import Mailbox
from jmapcore.state import type_state_get
from tests.personas import Persona

FRESH = [
    FolderListing(name="INBOX", delimiter="/", attributes=frozenset({"\\hasnochildren"}), subscribed=False),
    FolderListing(
        name="Archive", delimiter="/", attributes=frozenset({"\\subscribed", "\\hasnochildren", "\\archive"}),
        subscribed=True,
    ),
    FolderListing(
        name="Sent", delimiter="/", attributes=frozenset({"\\subscribed", "\\hasnochildren", "\\sent"}),
        subscribed=True,
    ),
]


def _modseqs(persona: Persona) -> dict[str, tuple[int, int]]:
    return {box.imap_name: (box.updated_modseq, box.props_modseq)
            for box in Mailbox.objects.filter(account=persona.account)}  # fmt: skip


def _hinted(listings: list[FolderListing], hint: str) -> list[FolderListing]:
    """The same folders with `hint` added where Dovecot adds it (not on INBOX)."""
    return [item if item.name == "INBOX" else replace(item, attributes=item.attributes | {hint}) for item in listings]


@pytest.mark.parametrize("hint", ["\\unmarked", "\\marked"])
def test_marked_hints_leave_the_mailbox_state_alone(alice: Persona, hint: str) -> None:
    mailboxes_sync(account=alice.account, listings=FRESH)
    state = type_state_get(account=alice.account, type_name="Mailbox")
    rows = _modseqs(alice)
    assert state != "s0" and set(rows) == {"INBOX", "Archive", "Sent"}

    for listings in (_hinted(FRESH, hint), FRESH, _hinted(FRESH, hint)):
        result = mailboxes_sync(account=alice.account, listings=listings)
        assert sorted(box.imap_name for box in result.mailboxes) == ["Archive", "INBOX", "Sent"]
        assert type_state_get(account=alice.account, type_name="Mailbox") == state, listings
    assert _modseqs(alice) == rows


def test_a_real_attribute_change_still_moves_the_state(alice: Persona) -> None:
    """The control: a folder that stops being subscribed is a Mailbox change (isSubscribed)."""
    mailboxes_sync(account=alice.account, listings=FRESH)
    state = type_state_get(account=alice.account, type_name="Mailbox")
    unsubscribed = [
        replace(item, attributes=item.attributes - {"\\subscribed"}, subscribed=False) if item.name == "Sent" else item
        for item in FRESH
    ]
    mailboxes_sync(account=alice.account, listings=unsubscribed)
    assert type_state_get(account=alice.account, type_name="Mailbox") != state
    assert not Mailbox.objects.get(account=alice.account, imap_name="Sent").is_subscribed
