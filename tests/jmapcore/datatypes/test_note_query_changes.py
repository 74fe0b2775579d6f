"""Note/queryChanges through the API (RFC 8620 §5.6)."""
from __future__ import annotations

from typing import Any

from tests.jmapcore.datatypes.conftest import Notes

BY_RANK = [{"property": "rank"}]
BY_CREATION = [{"property": "created"}]


def replay(old_ids: list[str], removed: list[str], added: list[dict[str, Any]]) -> list[str]:
    """What a client does with a queryChanges response (RFC 8620 §5.6)."""
    ids = [i for i in old_ids if i not in set(removed)]
    for item in sorted(added, key=lambda entry: entry["index"]):
        ids.insert(item["index"], item["id"])
    return ids


def test_replaying_changes_gives_the_new_results(alice_notes: Notes) -> None:
    ids = alice_notes.create(**{f"k{i}": {"title": f"t{i}", "rank": i, "pinned": i % 2 == 0} for i in range(6)})
    arguments: dict[str, Any] = {"filter": {"pinned": True}, "sort": BY_RANK}
    old = alice_notes.ok("Note/query", **arguments)
    assert len(old["ids"]) == 3

    new_ids = alice_notes.create(n1={"title": "new", "rank": 3, "pinned": True}, n2={"title": "other"})
    alice_notes.ok(
        "Note/set",
        update={ids["k1"]: {"pinned": True}, ids["k4"]: {"rank": -1}, ids["k3"]: {"body": "unrelated"}},
        destroy=[ids["k2"]],
    )
    changes = alice_notes.ok("Note/queryChanges", sinceQueryState=old["queryState"], calculateTotal=True, **arguments)
    current = alice_notes.ok("Note/query", **arguments)
    assert changes["oldQueryState"] == old["queryState"]
    assert changes["newQueryState"] == current["queryState"] != old["queryState"]
    assert replay(old["ids"], changes["removed"], changes["added"]) == current["ids"]
    assert changes["total"] == len(current["ids"])
    assert ids["k2"] in changes["removed"]
    assert new_ids["n1"] in [item["id"] for item in changes["added"]]
    # Created after the old state: it cannot have been in the old results.
    assert new_ids["n2"] not in changes["removed"]


def test_no_changes(alice_notes: Notes) -> None:
    alice_notes.create(a={"title": "a"})
    old = alice_notes.ok("Note/query")
    changes = alice_notes.ok("Note/queryChanges", sinceQueryState=old["queryState"])
    assert (changes["removed"], changes["added"], changes["newQueryState"]) == ([], [], old["queryState"])
    assert "total" not in changes


def test_too_many_changes(alice_notes: Notes) -> None:
    ids = alice_notes.create(**{f"k{i}": {"title": str(i)} for i in range(4)})
    old = alice_notes.ok("Note/query", sort=BY_RANK)
    alice_notes.ok("Note/set", update={ids[f"k{i}"]: {"rank": 10 - i} for i in range(3)})
    result = alice_notes.call("Note/queryChanges", sinceQueryState=old["queryState"], sort=BY_RANK, maxChanges=5)
    assert result["error"] == "tooManyChanges"
    ok = alice_notes.ok("Note/queryChanges", sinceQueryState=old["queryState"], sort=BY_RANK, maxChanges=6)
    assert len(ok["removed"]) == len(ok["added"]) == 3
    assert alice_notes.error("Note/queryChanges", sinceQueryState=old["queryState"], maxChanges=0) == (
        "invalidArguments"
    )


def test_up_to_id_with_immutable_sort_omits_later_additions(alice_notes: Notes) -> None:
    ids = alice_notes.create(**{f"k{i}": {"title": str(i)} for i in range(3)})
    old = alice_notes.ok("Note/query", sort=BY_CREATION)
    later = alice_notes.create(x={"title": "x"}, y={"title": "y"})
    alice_notes.ok("Note/set", update={ids["k1"]: {"title": "changed"}})
    full = alice_notes.ok("Note/queryChanges", sinceQueryState=old["queryState"], sort=BY_CREATION)
    assert [item["id"] for item in full["added"]] == [ids["k1"], later["x"], later["y"]]
    cut = alice_notes.ok("Note/queryChanges", sinceQueryState=old["queryState"], sort=BY_CREATION, upToId=ids["k2"])
    assert cut["added"] == [{"id": ids["k1"], "index": 1}]
    assert cut["removed"] == [ids["k1"]]
    # On a mutable sort upToId is ignored (§5.6).
    mutable = alice_notes.ok("Note/queryChanges", sinceQueryState=old["queryState"], sort=BY_RANK, upToId=ids["k2"])
    assert len(mutable["added"]) == 3


def test_bad_query_states(alice_notes: Notes) -> None:
    for state in ("garbage", "s1", "q", "qZ", "q7ffffff"):
        assert alice_notes.error("Note/queryChanges", sinceQueryState=state) == "cannotCalculateChanges"
    assert alice_notes.error("Note/queryChanges") == "invalidArguments"
    assert alice_notes.error("Note/queryChanges", sinceQueryState="q0", filter={"colour": 1}) == "unsupportedFilter"
