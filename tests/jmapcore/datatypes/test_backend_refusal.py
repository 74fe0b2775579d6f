"""DESIGN.md "Writes": the backend is asked first; when it refuses or fails,
the cache, the account modseq and the type state stay exactly as they were,
and the failure is a per-object SetError."""
from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from jmapcore.state import on_state_change, state_change_unsubscribe
from tests.jmapcore.datatypes.conftest import Notes
from tests.sampletypes.datatypes import BACKEND_LOG
from tests.sampletypes.models import Note


def snapshot(notes: Notes) -> tuple[int, str, list[tuple[Any, ...]]]:
    account = notes.persona.account
    modseq = Account.objects.get(pk=account.pk).modseq
    rows = list(
        Note.objects.filter(account=account)
        .order_by("pk")
        .values_list("jmap_id", "title", "body", "updated_modseq", "destroyed")
    )
    return modseq, notes.state(), rows


@pytest.mark.parametrize(("marker", "error"), [("reject-me", "forbidden"), ("crash-backend", "serverFail")])
def test_refused_create_update_destroy_change_nothing(
    alice_notes: Notes, marker: str, error: str, django_capture_on_commit_callbacks: Any
) -> None:
    ids = alice_notes.create(a={"title": "kept"}, b={"title": "doomed", "body": marker})
    BACKEND_LOG.clear()
    before = snapshot(alice_notes)
    published: list[dict[str, str]] = []

    def listener(account: Account, changed: dict[str, str]) -> None:
        published.append(changed)

    on_state_change(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = alice_notes.ok(
                "Note/set",
                create={"new": {"title": marker}},
                update={ids["a"]: {"title": marker}},
                destroy=[ids["b"]],
            )
    finally:
        state_change_unsubscribe(listener)
    for failure in (result["notCreated"]["new"], result["notUpdated"][ids["a"]], result["notDestroyed"][ids["b"]]):
        assert failure["type"] == error
        assert failure["description"]
    if marker == "crash-backend":
        assert "connection reset" in result["notCreated"]["new"]["description"]
    assert result["created"] is result["updated"] is result["destroyed"] is None
    assert result["oldState"] == result["newState"]
    assert snapshot(alice_notes) == before
    assert BACKEND_LOG == []
    assert published == []


def test_partial_success_commits_only_what_the_backend_accepted(
    alice_notes: Notes, django_capture_on_commit_callbacks: Any
) -> None:
    published: list[dict[str, str]] = []

    def listener(account: Account, changed: dict[str, str]) -> None:
        published.append(changed)

    on_state_change(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = alice_notes.ok("Note/set", create={"good": {"title": "fine"}, "bad": {"title": "reject-me"}})
    finally:
        state_change_unsubscribe(listener)
    assert set(result["created"]) == {"good"}
    assert set(result["notCreated"]) == {"bad"}
    assert [title for op, title in BACKEND_LOG if op == "create"] == ["fine"]
    assert list(Note.objects.values_list("title", flat=True)) == ["fine"]
    assert published == [{"Note": result["newState"]}]
    assert Note.objects.get().backend_ref.startswith("ref-")


def test_invalid_input_never_reaches_the_backend(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "t"})
    BACKEND_LOG.clear()
    alice_notes.ok("Note/set", create={"x": {"title": 5}}, update={ids["a"]: {"rank": "high"}})
    assert BACKEND_LOG == []
