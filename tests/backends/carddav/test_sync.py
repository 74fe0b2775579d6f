"""The CardDAV sync into the contacts cache (backends.carddav.sync) against Radicale and Xandikos."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

import backends.carddav.sync as carddav_sync
import backends.dav.client as carddav_client
from accounts.models import Account
from accounts.sync import AccountSyncLock
from backends.base import BackendError
from backends.carddav.discovery import books_list
from backends.carddav.sync import carddav_account_sync, carddav_book_sync
from backends.carddav.writes import carddav_card_put
from backends.dav.client import DavClient
from backends.dav.hrefs import url_normalise
from jmapcore.models.contacts import AddressBook, ContactCard
from jmapcore.state import on_state_change, state_change_atomic, state_change_unsubscribe, type_state_get
from tests.backends.carddav.conftest import RequestLog, other_client, vcard
from tests.backends.carddav.dav_people import DavServer

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESSBOOK_MKCOL = ('<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
                     "<D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>"
                     "<D:displayname>{name}</D:displayname></D:prop></D:set></D:mkcol>")


def put(server: DavServer, account: Account, name: str, text: str, *, book: str | None = None) -> str:
    """PUT `text` as another CardDAV client would; returns the resource URL."""
    url = (book or account.dav_user.addressbook_url) + name  # type: ignore[attr-defined]
    with other_client(server, account) as http:
        answer = http.put(url, content=text, headers={"Content-Type": "text/vcard; charset=utf-8"})
    assert answer.status_code in (201, 204), answer.text
    return url_normalise(url)


def delete(server: DavServer, account: Account, url: str) -> None:
    with other_client(server, account) as http:
        assert http.delete(url).status_code in (200, 204)


def cards(account: Account) -> dict[str, ContactCard]:
    return {row.uid: row for row in ContactCard.objects.filter(account=account, destroyed=False)}


def books(account: Account) -> dict[str, AddressBook]:
    return {row.name: row for row in AddressBook.objects.filter(account=account, destroyed=False)}


@pytest.fixture
def published() -> Iterator[list[dict[str, str]]]:
    """The StateChanges published (after commit) while the test runs."""
    seen: list[dict[str, str]] = []

    def record(account: Account, changed: dict[str, str]) -> None:
        seen.append(dict(changed))

    on_state_change(record)
    try:
        yield seen
    finally:
        state_change_unsubscribe(record)


def test_initial_sync_caches_books_and_cards(alice: Account, dav_server: DavServer) -> None:
    put(dav_server, alice, "bob.vcf", vcard("bob-uid", "Bob Builder", email="bob@example.test"))
    put(dav_server, alice, "carol%20c.vcf", vcard("carol-uid", "Carol Singer", email="carol@example.test"))
    carddav_account_sync(account=alice)
    found = books(alice)
    assert list(found) == ["Contacts"]
    book = found["Contacts"]
    assert book.jmap_id.startswith("a") and book.is_default
    assert book.dav_sync_token and book.vcard_version == "3.0"
    assert {"read", "write-content"} <= set(book.dav_privileges)
    rows = cards(alice)
    assert set(rows) == {"bob-uid", "carol-uid"}
    bob = rows["bob-uid"]
    assert bob.jmap_id.startswith("c") and bob.address_book_id == book.pk
    assert bob.card["uid"] == "bob-uid" and "id" not in bob.card
    assert "bob@example.test" in bob.search_email
    assert bob.dav_etag.startswith('"') and "FN:Bob Builder" in bob.vcard
    assert rows["carol-uid"].dav_href == book.dav_href + "carol%20c.vcf"


def test_a_sync_that_finds_nothing_new_costs_one_request_per_book(
    alice: Account, dav_server: DavServer, dav_requests: RequestLog
) -> None:
    home = alice.dav_user.addressbook_url.rstrip("/").rsplit("/", 1)[0] + "/"  # type: ignore[attr-defined]
    with other_client(dav_server, alice) as http:
        made = http.request("MKCOL", home + "work/", content=ADDRESSBOOK_MKCOL.format(name="Work"),
                            headers={"Content-Type": "application/xml"})
        assert made.status_code == 201
    put(dav_server, alice, "a.vcf", vcard("a-uid", "Ann"))
    put(dav_server, alice, "w.vcf", vcard("w-uid", "Walt"), book=home + "work/")
    carddav_account_sync(account=alice)
    assert set(books(alice)) == {"Contacts", "Work"}
    state = type_state_get(account=alice, type_name="ContactCard")
    dav_requests.clear()
    alice.refresh_from_db()
    carddav_account_sync(account=alice)
    # Both books live in one home set: one PROPFIND lists them with their sync-tokens.
    assert [method for method, _ in dav_requests.requests] == ["PROPFIND"], dav_requests.requests
    assert type_state_get(account=alice, type_name="ContactCard") == state


@pytest.mark.parametrize("use_sync_collection", [True, False], ids=["sync-collection", "ctag-etag"])
def test_changes_by_another_client_arrive_incrementally(
    alice: Account, dav_server: DavServer, dav_requests: RequestLog, published: list[dict[str, str]],
    use_sync_collection: bool,
) -> None:
    first = put(dav_server, alice, "one.vcf", vcard("one", "One"))
    put(dav_server, alice, "two.vcf", vcard("two", "Two"))
    carddav_account_sync(account=alice, use_sync_collection=use_sync_collection)
    ids = {uid: row.jmap_id for uid, row in cards(alice).items()}
    state = type_state_get(account=alice, type_name="ContactCard")
    published.clear()

    put(dav_server, alice, "three.vcf", vcard("three", "Three", email="three@example.test"))
    put(dav_server, alice, "two.vcf", vcard("two", "Two Changed"))
    delete(dav_server, alice, first)
    dav_requests.clear()
    alice.refresh_from_db()
    carddav_account_sync(account=alice, use_sync_collection=use_sync_collection)

    rows = cards(alice)
    assert set(rows) == {"two", "three"}
    assert rows["two"].jmap_id == ids["two"] and "FN:Two Changed" in rows["two"].vcard
    assert rows["three"].search_email.strip() == "three@example.test"
    gone = ContactCard.objects.get(account=alice, jmap_id=ids["one"])
    assert gone.destroyed
    assert type_state_get(account=alice, type_name="ContactCard") != state
    assert any("ContactCard" in change for change in published)
    # Only what changed was fetched: one multiget with the two changed cards.
    reports = [url for method, url in dav_requests.requests if method == "REPORT"]
    assert len(reports) == (2 if use_sync_collection else 1)


def test_a_card_moved_by_another_client_keeps_its_id(alice: Account, dav_server: DavServer) -> None:
    home = alice.dav_user.addressbook_url.rstrip("/").rsplit("/", 1)[0] + "/"  # type: ignore[attr-defined]
    with other_client(dav_server, alice) as http:
        assert http.request("MKCOL", home + "archive/", content=ADDRESSBOOK_MKCOL.format(name="Archive"),
                            headers={"Content-Type": "application/xml"}).status_code == 201
    old = put(dav_server, alice, "moving.vcf", vcard("moving-uid", "Mover"))
    carddav_account_sync(account=alice)
    before = cards(alice)["moving-uid"]
    put(dav_server, alice, "renamed.vcf", vcard("moving-uid", "Mover"), book=home + "archive/")
    delete(dav_server, alice, old)
    alice.refresh_from_db()
    carddav_account_sync(account=alice)
    after = cards(alice)["moving-uid"]
    assert after.jmap_id == before.jmap_id
    assert after.address_book_id == books(alice)["Archive"].pk
    assert after.dav_href == url_normalise(home + "archive/renamed.vcf")
    assert ContactCard.objects.filter(account=alice, uid="moving-uid").count() == 1


def test_a_book_removed_on_the_server_becomes_a_tombstone_with_its_cards(
    alice: Account, dav_server: DavServer
) -> None:
    home = alice.dav_user.addressbook_url.rstrip("/").rsplit("/", 1)[0] + "/"  # type: ignore[attr-defined]
    with other_client(dav_server, alice) as http:
        assert http.request("MKCOL", home + "old/", content=ADDRESSBOOK_MKCOL.format(name="Old"),
                            headers={"Content-Type": "application/xml"}).status_code == 201
    put(dav_server, alice, "o.vcf", vcard("o-uid", "Olga"), book=home + "old/")
    carddav_account_sync(account=alice)
    old = books(alice)["Old"]
    delete(dav_server, alice, home + "old/")
    alice.refresh_from_db()
    carddav_account_sync(account=alice)
    old.refresh_from_db()
    assert old.destroyed
    assert ContactCard.objects.get(account=alice, uid="o-uid").destroyed
    assert set(books(alice)) == {"Contacts"}


def test_book_sync_after_a_conflict_brings_one_book_up_to_date(alice: Account, dav_server: DavServer) -> None:
    put(dav_server, alice, "k.vcf", vcard("k-uid", "Kim"))
    carddav_account_sync(account=alice)
    book = books(alice)["Contacts"]
    put(dav_server, alice, "k.vcf", vcard("k-uid", "Kim Changed"))
    carddav_book_sync(account=alice, book=book)
    assert "FN:Kim Changed" in cards(alice)["k-uid"].vcard


def test_book_sync_of_a_book_gone_from_the_server_tombstones_it(alice: Account, dav_server: DavServer) -> None:
    home = alice.dav_user.addressbook_url.rstrip("/").rsplit("/", 1)[0] + "/"  # type: ignore[attr-defined]
    with other_client(dav_server, alice) as http:
        assert http.request("MKCOL", home + "temp/", content=ADDRESSBOOK_MKCOL.format(name="Temp"),
                            headers={"Content-Type": "application/xml"}).status_code == 201
    carddav_account_sync(account=alice)
    temp = books(alice)["Temp"]
    delete(dav_server, alice, home + "temp/")
    carddav_book_sync(account=alice, book=temp)
    temp.refresh_from_db()
    assert temp.destroyed


# Broken in ways both servers still accept from a client: an invalid date, a
# geo that is no URI, a REV that is no timestamp, vCard 2.1 quoted-printable.
BROKEN = [
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:broken-1\r\nFN:Bad Date\r\nBDAY:2024-13-45\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:broken-2\r\nFN:Bad Geo\r\nGEO:not-a-uri\r\nREV:yesterday\r\n"
    "ANNIVERSARY:sometime\r\nEND:VCARD\r\n",
]


def test_broken_vcards_never_break_a_sync_and_are_reported(alice: Account, dav_server: DavServer) -> None:
    put(dav_server, alice, "fine.vcf", vcard("fine", "Fine Card"))
    for number, text in enumerate(BROKEN, 1):
        put(dav_server, alice, f"broken-{number}.vcf", text)
    carddav_account_sync(account=alice)
    rows = cards(alice)
    assert set(rows) == {"fine", "broken-1", "broken-2"}
    assert rows["broken-1"].card["name"]["full"] == "Bad Date"
    alice.refresh_from_db()
    progress: dict[str, Any] = alice.sync_progress["carddav"]
    problems = {item["href"]: item["problems"] for item in progress["parseProblems"]}
    assert progress["parseProblemCount"] == 2
    assert set(problems) == {rows["broken-1"].dav_href, rows["broken-2"].dav_href}
    assert any("BDAY" in problem for problem in problems[rows["broken-1"].dav_href])
    assert rows["broken-1"].parse_problems and not rows["fine"].parse_problems


def test_a_large_sync_is_fetched_and_committed_in_batches_with_progress(
    alice: Account, dav_server: DavServer, dav_requests: RequestLog, monkeypatch: pytest.MonkeyPatch,
    published: list[dict[str, str]],
) -> None:
    """MULTIGET_BATCH made small so that five cards take three batches."""
    monkeypatch.setattr(carddav_sync, "MULTIGET_BATCH", 2)
    for number in range(5):
        put(dav_server, alice, f"p{number}.vcf", vcard(f"p{number}", f"Person {number}"))
    published.clear()
    carddav_account_sync(account=alice)
    assert len(cards(alice)) == 5
    multigets = [url for method, url in dav_requests.requests if method == "REPORT"]
    assert len(multigets) == 1 + 3  # sync-collection (or none on the ETag path) + three multigets
    assert sum("ContactCard" in change for change in published) >= 3  # one commit per batch at least
    alice.refresh_from_db()
    progress = alice.sync_progress["carddav"]
    assert (progress["state"], progress["cards"], progress["total"]) == ("done", 5, 5)


def test_a_lost_sync_lock_stops_the_sync(alice: Account, dav_server: DavServer) -> None:
    put(dav_server, alice, "l.vcf", vcard("l-uid", "Lock"))
    lock = AccountSyncLock(account_id=alice.pk)
    assert lock.acquire()
    cache.set(lock.key, "another sync's token", timeout=30)
    try:
        with pytest.raises(BackendError) as stopped:
            carddav_account_sync(account=alice, lock=lock)
    finally:
        cache.delete(lock.key)
    assert not stopped.value.permanent and "lock" in str(stopped.value)


def test_a_card_larger_than_the_answer_cap_is_left_out_and_the_rest_synced(
    alice: Account, dav_server: DavServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A multiget answer over the cap is asked for again in halves; the one card
    that alone passes it is skipped instead of blocking every later sync."""
    for number in range(3):
        put(dav_server, alice, f"s{number}.vcf", vcard(f"s{number}", f"Small {number}"))
    put(dav_server, alice, "huge.vcf", vcard("huge", "Huge", extra="NOTE:" + "x" * 20000))
    monkeypatch.setattr(carddav_client, "DAV_MAX_RESPONSE_BYTES", 12000)
    carddav_account_sync(account=alice)
    assert set(cards(alice)) == {"s0", "s1", "s2"}


def test_a_jmap_write_after_the_listing_is_not_overwritten_by_the_older_fetch(
    alice: Account, dav_server: DavServer
) -> None:
    """The sync lists a book and fetches a card, a JMAP write then replaces that
    card (server first, then the cache); applying what the sync fetched must not
    put the older version back. The next sync agrees with the server."""
    url = put(dav_server, alice, "race.vcf", vcard("race", "Version One"))
    carddav_account_sync(account=alice)
    put(dav_server, alice, "race.vcf", vcard("race", "Version Two"))  # another client
    alice.refresh_from_db()
    book = books(alice)["Contacts"]
    with DavClient.for_account(alice) as client:
        (info,) = books_list(client=client, homes=alice.sync_progress["carddav"]["homes"])
        work = carddav_sync.book_work(client, row=book, info=info)
        assert work.wanted == [url]
        fetched, _ = carddav_sync.cards_multiget(client, book_href=book.dav_href, hrefs=work.wanted)
        assert "Version Two" in fetched[0].text
        # The JMAP write: PUT to the server, then the cache row in one transaction.
        written = carddav_card_put(account=alice, book=book, vcard_text=vcard("race", "Version Three"), href=url)
        with state_change_atomic(account=alice, type_names=["ContactCard"]) as modseq:
            ContactCard.objects.filter(account=alice, dav_href=url).update(
                vcard=vcard("race", "Version Three"), dav_etag=written.etag, updated_modseq=modseq)
        carddav_sync.cards_apply(account=alice, book=book, fetched=fetched, moved={}, listed_at=work.listed_at)
    row = cards(alice)["race"]
    assert "Version Three" in row.vcard and row.dav_etag == written.etag
    alice.refresh_from_db()
    carddav_account_sync(account=alice)
    row = cards(alice)["race"]
    assert "Version Three" in row.vcard and row.dav_etag == written.etag
