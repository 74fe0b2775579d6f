"""Every standard method is scoped to the caller's pool (DESIGN.md "Security"):
bob's accountId answers accountNotFound to alice, and bob's ids used in
alice's account are notFound."""
from __future__ import annotations

from typing import Any

import pytest

from tests.jmapcore.datatypes.conftest import Notes
from tests.sampletypes.models import Note


@pytest.fixture
def bobs(bob_notes: Notes) -> dict[str, str]:
    return bob_notes.create(secret={"title": "bob's secret", "body": "do not read"})


@pytest.mark.parametrize(
    ("method", "arguments"),
    [
        ("Note/get", {"ids": None}),
        ("Note/changes", {"sinceState": "s0"}),
        ("Note/set", {"create": {"x": {"title": "planted"}}}),
        ("Note/query", {}),
        ("Note/queryChanges", {"sinceQueryState": "q0"}),
    ],
)
def test_foreign_account_is_not_found(
    alice_notes: Notes, bob_notes: Notes, bobs: dict[str, str], method: str, arguments: dict[str, Any]
) -> None:
    result = alice_notes.call(method, {**arguments, "accountId": bob_notes.persona.account_id})
    assert result["error"] == "accountNotFound"
    assert "secret" not in str(result)


def test_foreign_ids_are_not_found_in_own_account(alice_notes: Notes, bob_notes: Notes, bobs: dict[str, str]) -> None:
    secret = bobs["secret"]
    got = alice_notes.ok("Note/get", ids=[secret])
    assert (got["list"], got["notFound"]) == ([], [secret])
    result = alice_notes.ok("Note/set", update={secret: {"title": "hacked"}}, destroy=[secret])
    assert result["notDestroyed"] == {secret: {"type": "notFound"}}
    assert result["notUpdated"][secret]["type"] in ("notFound", "willDestroy")
    result = alice_notes.ok("Note/set", update={secret: {"title": "hacked"}})
    assert result["notUpdated"] == {secret: {"type": "notFound"}}
    assert alice_notes.error("Note/query", anchor=secret) == "anchorNotFound"
    assert alice_notes.ok("Note/query")["ids"] == []

    note = Note.objects.get(jmap_id=secret)
    assert (note.title, note.destroyed, note.account_id) == ("bob's secret", False, bob_notes.persona.account.pk)
    assert bob_notes.ok("Note/get", ids=[secret], properties=["title"])["list"] == [
        {"id": secret, "title": "bob's secret"}
    ]


def test_alice_changes_never_show_bob(alice_notes: Notes, bob_notes: Notes, bobs: dict[str, str]) -> None:
    changes = alice_notes.ok("Note/changes", sinceState="s0")
    assert changes["created"] == changes["updated"] == changes["destroyed"] == []


def test_bobs_creation_ids_do_not_leak(alice_notes: Notes, bob_notes: Notes) -> None:
    """Creation ids live in one request only: '#secret' means nothing elsewhere."""
    bob_notes.create(secret={"title": "bob's"})
    got = alice_notes.ok("Note/get", ids=["#secret"])
    assert got["notFound"] == ["#secret"]
