"""AddressBook/changes (RFC 9610 §2.2): what sync and the default-book rule
change in the cache is reported from any earlier state."""
from __future__ import annotations

from jmapcore.models.contacts import AddressBook
from jmapcore.state import state_change_atomic
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.personas import Persona


def test_created_updated_destroyed_since_a_state(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    kept = person.book_row("Kept", sort_order=1)
    doomed = person.book_row("Doomed", sort_order=2)
    start = person.state()
    fresh = person.book_row("Fresh", sort_order=3)
    with state_change_atomic(account=alice.account, type_names=["AddressBook"]) as modseq:
        AddressBook.objects.filter(pk=kept.pk).update(name="Kept (renamed elsewhere)", updated_modseq=modseq)
        AddressBook.objects.filter(pk=doomed.pk).update(destroyed=True, updated_modseq=modseq)
    changes = person.ok("AddressBook/changes", sinceState=start)
    assert changes["created"] == [fresh.jmap_id]
    assert changes["updated"] == [kept.jmap_id]
    assert changes["destroyed"] == [doomed.jmap_id]
    assert changes["hasMoreChanges"] is False
    assert changes["newState"] == person.state()
    again = person.ok("AddressBook/changes", sinceState=changes["newState"])
    assert (again["created"], again["updated"], again["destroyed"]) == ([], [], [])


def test_the_default_moves_when_the_default_book_goes(alice: Persona) -> None:
    """Another client deleted the default collection; the next sync tombstones
    it. The next book becomes the default, and /changes says so."""
    person = ContactsPerson.of(alice)
    first = person.book_row("First", sort_order=1)
    second = person.book_row("Second", sort_order=2)
    assert person.books()["First"]["isDefault"] is True
    start = person.state()
    with state_change_atomic(account=alice.account, type_names=["AddressBook"]) as modseq:
        AddressBook.objects.filter(pk=first.pk).update(destroyed=True, updated_modseq=modseq)
    changes = person.ok("AddressBook/changes", sinceState=start)
    assert changes["destroyed"] == [first.jmap_id]
    assert changes["updated"] == [second.jmap_id]
    assert person.books()["Second"]["isDefault"] is True


def test_max_changes_pages_through(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    person.book_row("Zero")
    start = person.state()
    made = [person.book_row(f"Book {index}", sort_order=index + 1).jmap_id for index in range(3)]
    seen: list[str] = []
    state = start
    for _ in range(5):
        page = person.ok("AddressBook/changes", sinceState=state, maxChanges=2)
        seen += page["created"]
        state = page["newState"]
        if not page["hasMoreChanges"]:
            break
    assert seen == made


def test_a_bad_state_is_refused(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    person.book_row("Any")
    assert person.error("AddressBook/changes", sinceState="not-a-state")["type"] in {
        "cannotCalculateChanges", "invalidArguments"
    }
