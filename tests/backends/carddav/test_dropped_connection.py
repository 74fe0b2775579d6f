"""A CardDAV server that drops the connection mid-sync: a transient BackendError,
and a cache that stays as it was (the next sync completes the work).

Radicale only: the relay that cuts the connection (tests/servers/tcp_relay.py)
must see the request bytes, which Xandikos's HTTPS hides."""
from __future__ import annotations

from typing import Any

import pytest

from backends.base import BackendError
from backends.carddav.sync import carddav_account_sync
from jmapcore.models.contacts import AddressBook, ContactCard
from tests.backends.carddav.conftest import other_client, vcard
from tests.backends.carddav.dav_people import carddav_account

pytestmark = pytest.mark.django_db


def test_a_dropped_connection_is_transient_and_leaves_the_cache_consistent(
    radicale: Any, tcp_relay_factory: Any
) -> None:
    relay = tcp_relay_factory(target_host="127.0.0.1", target_port=radicale.port)
    alice = carddav_account(server=radicale, persona="alice")
    user = alice.dav_user  # type: ignore[attr-defined]
    alice.carddav_url = user.carddav_url.replace(f":{radicale.port}/", f":{relay.port}/")
    alice.save()
    with other_client(radicale, alice) as http:
        http.put(user.addressbook_url + "one.vcf", content=vcard("one", "One"), headers={"Content-Type": "text/vcard"})
    carddav_account_sync(account=alice)
    book = AddressBook.objects.get(account=alice, destroyed=False)
    token = book.dav_sync_token
    with other_client(radicale, alice) as http:
        for name in ("two", "three"):
            http.put(user.addressbook_url + f"{name}.vcf", content=vcard(name, name.title()),
                     headers={"Content-Type": "text/vcard"})

    relay.cut_when(b"addressbook-multiget")
    alice.refresh_from_db()
    with pytest.raises(BackendError) as failed:
        carddav_account_sync(account=alice)
    assert failed.value.permanent is False
    assert relay.cuts >= 1
    book.refresh_from_db()
    assert book.dav_sync_token == token
    assert sorted(ContactCard.objects.filter(account=alice, destroyed=False).values_list("uid", flat=True)) == ["one"]

    relay.cut_when(None)
    alice.refresh_from_db()
    carddav_account_sync(account=alice)
    assert sorted(ContactCard.objects.filter(account=alice, destroyed=False).values_list("uid", flat=True)) == [
        "one", "three", "two"]
    book.refresh_from_db()
    assert book.dav_sync_token != token
