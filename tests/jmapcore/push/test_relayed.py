"""Relayed changes of passthrough accounts (jmapcore.push.relayed) on their way
into the proxy's push: the cache mailbox that the embedded web process polls,
and the hub's delivery by accountId only to subscriptions of that account."""
from __future__ import annotations

import asyncio

import pytest

from jmapcore.push.feed import ChangeHub, ChangeSubscription
from jmapcore.push.relayed import (
    relayed_changed_clean,
    relayed_changed_since,
    relayed_mailbox_merge,
    relayed_mailboxes_read,
)


@pytest.mark.django_db
def test_the_mailbox_keeps_the_latest_state_of_every_type_and_moves_its_sequence() -> None:
    assert relayed_mailboxes_read(account_pks=[987001]) == {}
    relayed_mailbox_merge(account_pk=987001, changed={"alice": {"Email": "e1", "Mailbox": "m1"}})
    ((seq1, states1),) = relayed_mailboxes_read(account_pks=[987001, 987002]).values()
    relayed_mailbox_merge(account_pk=987001, changed={"alice": {"Email": "e2"}, "alice-shared": {"Email": "x1"}})
    seq2, states2 = relayed_mailboxes_read(account_pks=[987001])[987001]
    assert seq2 != seq1
    assert states1 == {"alice": {"Email": "e1", "Mailbox": "m1"}}
    assert states2 == {"alice": {"Email": "e2", "Mailbox": "m1"}, "alice-shared": {"Email": "x1"}}
    # A reader that saw the first version hears exactly what moved since.
    assert relayed_changed_since(seen=states1, now=states2) == {"alice": {"Email": "e2"},
                                                                 "alice-shared": {"Email": "x1"}}  # fmt: skip


def test_malformed_maps_are_cleaned_not_raised() -> None:
    junk = {"alice": {"Email": "e1", "Mailbox": 3, 4: "x"}, "bob": "nope", 5: {"Email": "e"}, "carol": {}}
    assert relayed_changed_clean(junk) == {"alice": {"Email": "e1"}}
    assert relayed_changed_clean(["alice"]) == {}


class NoSource:
    async def watch(self, positions: object) -> None: ...
    async def unwatch(self, account_pks: set[int]) -> None: ...
    async def close(self) -> None: ...
    def poke(self, account_pk: int) -> None: ...


def test_a_relayed_change_reaches_only_subscriptions_of_its_account() -> None:
    async def scenario() -> tuple[object, bool]:
        hub = ChangeHub(source_factory=lambda hub: NoSource())
        alice = ChangeSubscription(hub=hub, accounts={1: "alice"}, coalesce=0)
        mallory = ChangeSubscription(hub=hub, accounts={2: "mallory"}, coalesce=0)
        # As hub.add does, without the database: who follows which account.
        hub._by_account = {1: {alice}, 2: {mallory}}
        hub.deliver_by_id(account_pk=1, changed={"alice": {"Email": "J9"}, "alice-shared": {"Mailbox": "M2"}})
        change = await asyncio.wait_for(alice.next(), 5)
        mallory_heard = mallory._ready.is_set()
        hub._executor.shutdown(wait=False)
        return change.changed, mallory_heard

    changed, mallory_heard = asyncio.run(scenario())
    assert changed == {"alice": {"Email": "J9"}, "alice-shared": {"Mailbox": "M2"}}
    assert mallory_heard is False
