"""Note/changes through the API (RFC 8620 §5.2): ranges of modseqs, paging with
maxChanges, and the cases where changes cannot be calculated."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jmapcore.state import tombstones_purge
from tests.jmapcore.datatypes.conftest import Notes


def changes_all(notes: Notes, since: str, max_changes: int) -> tuple[list[dict[str, Any]], str]:
    """Follow hasMoreChanges to the end; returns the pages and the final state."""
    pages = []
    state = since
    for _ in range(100):
        page = notes.ok("Note/changes", sinceState=state, maxChanges=max_changes)
        assert page["oldState"] == state
        assert len(page["created"]) + len(page["updated"]) + len(page["destroyed"]) <= max_changes
        pages.append(page)
        state = page["newState"]
        if not page["hasMoreChanges"]:
            return pages, state
    raise AssertionError("changes never finished")


def test_no_changes_answers_the_same_state(alice_notes: Notes) -> None:
    state = alice_notes.state()
    result = alice_notes.ok("Note/changes", sinceState=state)
    assert (result["newState"], result["hasMoreChanges"]) == (state, False)
    assert result["created"] == result["updated"] == result["destroyed"] == []


def test_created_updated_destroyed_across_states(alice_notes: Notes) -> None:
    s0 = alice_notes.state()
    ids = alice_notes.create(a={"title": "a"}, b={"title": "b"}, c={"title": "c"})
    s1 = alice_notes.state()
    alice_notes.ok("Note/set", update={ids["a"]: {"rank": 1}}, destroy=[ids["b"]])
    d = alice_notes.create(d={"title": "d"})["d"]
    s2 = alice_notes.state()

    since0 = alice_notes.ok("Note/changes", sinceState=s0)
    # b was created and destroyed after s0: reported nowhere (RFC 8620 §5.2).
    assert sorted(since0["created"]) == sorted([ids["a"], ids["c"], d])
    assert since0["updated"] == [] and since0["destroyed"] == []
    assert since0["newState"] == s2

    since1 = alice_notes.ok("Note/changes", sinceState=s1)
    assert since1["created"] == [d]
    assert since1["updated"] == [ids["a"]]
    assert since1["destroyed"] == [ids["b"]]


def test_paging_with_max_changes_reports_everything_once(alice_notes: Notes) -> None:
    s0 = alice_notes.state()
    ids = alice_notes.create(**{f"k{i}": {"title": str(i)} for i in range(7)})
    mid = alice_notes.state()
    alice_notes.ok("Note/set", update={ids["k0"]: {"rank": 5}, ids["k6"]: {"rank": 6}}, destroy=[ids["k3"]])
    final = alice_notes.state()

    pages, state = changes_all(alice_notes, s0, 2)
    assert state == final
    assert len(pages) >= 4
    created = [i for page in pages for i in page["created"]]
    assert sorted(created) == sorted(v for k, v in ids.items() if k != "k3")
    assert len(created) == len(set(created))

    pages, state = changes_all(alice_notes, mid, 1)
    assert state == final
    assert sorted(i for page in pages for i in page["updated"]) == sorted([ids["k0"], ids["k6"]])
    assert [i for page in pages for i in page["destroyed"]] == [ids["k3"]]
    # Intermediate states are real states: asking again from one gives the rest.
    rest = alice_notes.ok("Note/changes", sinceState=pages[0]["newState"])
    assert rest["newState"] == final and not rest["hasMoreChanges"]


def test_intermediate_state_inside_one_modseq(alice_notes: Notes) -> None:
    """Rows sharing one modseq (as a sync writes them) are paged without loss."""
    from django.db import transaction

    from jmapcore.state import state_change_atomic
    from tests.sampletypes.models import Note

    s0 = alice_notes.state()
    account = alice_notes.persona.account
    with transaction.atomic(), state_change_atomic(account=account, type_names=["Note"]) as modseq:
        for i in range(5):
            Note.objects.create(account=account, jmap_id=f"nsync{i}", created_modseq=modseq, updated_modseq=modseq,
                                title=str(i))
    pages, state = changes_all(alice_notes, s0, 2)
    assert state == alice_notes.state()
    assert sorted(i for page in pages for i in page["created"]) == [f"nsync{i}" for i in range(5)]
    assert pages[0]["newState"] != state


def test_max_changes_must_be_positive(alice_notes: Notes) -> None:
    state = alice_notes.state()
    assert alice_notes.error("Note/changes", sinceState=state, maxChanges=0) == "invalidArguments"
    assert alice_notes.error("Note/changes", sinceState=state, maxChanges=-1) == "invalidArguments"
    assert alice_notes.error("Note/changes", sinceState=None) == "invalidArguments"


@pytest.mark.parametrize("state", ["garbage", "", "s", "sZZ", "q1", "s1.", "s-1", "s" + "f" * 20])
def test_garbage_state_cannot_calculate_changes(alice_notes: Notes, state: str) -> None:
    assert alice_notes.error("Note/changes", sinceState=state) == "cannotCalculateChanges"


def test_state_from_the_future_cannot_calculate_changes(alice_notes: Notes) -> None:
    assert alice_notes.error("Note/changes", sinceState="s7fff") == "cannotCalculateChanges"


def test_state_older_than_purged_tombstones_cannot_calculate_changes(alice_notes: Notes) -> None:
    s0 = alice_notes.state()
    ids = alice_notes.create(a={"title": "a"}, b={"title": "b"})
    s1 = alice_notes.state()
    alice_notes.ok("Note/set", destroy=[ids["a"]])
    s2 = alice_notes.state()
    alice_notes.ok("Note/set", update={ids["b"]: {"rank": 2}})

    # Nothing old enough yet: the retention window protects recent tombstones.
    assert tombstones_purge(older_than=timezone.now() - timedelta(days=1)) == 0
    assert alice_notes.ok("Note/changes", sinceState=s0)["newState"] == alice_notes.state()

    assert tombstones_purge(older_than=timezone.now() + timedelta(seconds=1)) == 1
    for old in (s0, s1):
        assert alice_notes.error("Note/changes", sinceState=old) == "cannotCalculateChanges"
        assert alice_notes.error("Note/queryChanges", sinceQueryState="q" + old[1:]) == "cannotCalculateChanges"
    after = alice_notes.ok("Note/changes", sinceState=s2)
    assert after["updated"] == [ids["b"]]
