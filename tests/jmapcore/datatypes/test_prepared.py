"""PreparedValues (jmapcore.datatypes.prepared): the rows of a values_list()
queryset compiled once, bound to new arguments on every run, exactly as the
ORM would return them, and scoped as the queryset says."""
from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from jmapcore.datatypes import prepared
from jmapcore.datatypes.prepared import PreparedValues
from tests.personas import Persona
from tests.sampletypes.models import Note


def _notes(owner: Persona, *titles: str, destroyed: bool = False) -> None:
    for index, title in enumerate(titles):
        Note.objects.create(
            account=owner.account, jmap_id=f"{owner.account_id}-{title}", title=title, rank=index,
            labels={"title": title, "n": index}, created_modseq=1, updated_modseq=1, destroyed=destroyed,
        )  # fmt: skip


def _by_ids(account_id: int, ids: list[str]) -> QuerySet[Any]:
    return (
        Note.objects.filter(account_id=account_id, destroyed=False, jmap_id__in=ids)
        .order_by("rank")
        .values_list("jmap_id", "labels", "updated_at")
    )


def _window(account_id: int, title: str, start: int, stop: int) -> QuerySet[Any]:
    return Note.objects.filter(account_id=account_id).exclude(title=title).order_by("-rank").values_list(
        "title", "rank"
    )[start:stop]


def test_rows_equal_the_orms_for_every_shape(alice: Persona, bob: Persona) -> None:
    _notes(alice, "a", "b", "c", "d")
    _notes(alice, "gone", destroyed=True)
    _notes(bob, "a", "b")
    query = PreparedValues(_by_ids, kinds=("int", "strs"))
    for owner, ids in (
        (alice, ["a", "c"]),
        (alice, ["d", "b", "a", "gone"]),
        (alice, ["c", "a"]),  # the two-id shape again, other values
        (bob, ["a", "b", "c"]),
        (alice, []),
    ):
        real = [f"{owner.account_id}-{name}" for name in ids]
        expected = list(_by_ids(owner.account.pk, real))
        assert query(owner.account.pk, real) == expected
    # Converters ran: JSON decoded, datetimes aware, as the ORM gives them.
    [(_jmap_id, labels, updated_at)] = query(alice.account.pk, [f"{alice.account_id}-b"])
    assert labels == {"title": "b", "n": 1} and updated_at.tzinfo is not None


def test_another_account_sees_nothing(alice: Persona, mallory: Persona) -> None:
    _notes(alice, "secret")
    query = PreparedValues(_by_ids, kinds=("int", "strs"))
    assert query(alice.account.pk, [f"{alice.account_id}-secret"])
    assert query(mallory.account.pk, [f"{alice.account_id}-secret"]) == []


def test_literals_are_part_of_the_shape(alice: Persona) -> None:
    _notes(alice, "a", "b", "c", "d", "e")
    query = PreparedValues(_window, kinds=("int", "str", "literal", "literal"))
    for title, start, stop in (("c", 0, 2), ("c", 2, 4), ("a", 0, 2), ("e", 1, 10)):
        assert query(alice.account.pk, title, start, stop) == list(_window(alice.account.pk, title, start, stop))


def test_a_compiled_shape_runs_one_query_and_no_orm_compilation(alice: Persona) -> None:
    _notes(alice, "a", "b")
    query = PreparedValues(_by_ids, kinds=("int", "strs"))
    query(alice.account.pk, [f"{alice.account_id}-a"])

    def no_orm(*args: Any) -> QuerySet[Any]:
        raise AssertionError("the ORM was asked again for a compiled shape")

    query._build = no_orm  # only the compiled SQL may run now
    with CaptureQueriesContext(connection) as queries:
        assert query(alice.account.pk, [f"{alice.account_id}-b"])[0][0] == f"{alice.account_id}-b"
    assert len(queries.captured_queries) == 1


def test_past_the_shape_limit_the_orm_answers(alice: Persona, monkeypatch: Any) -> None:
    monkeypatch.setattr(prepared, "MAX_SHAPES", 1)
    _notes(alice, "a", "b", "c")
    query = PreparedValues(_by_ids, kinds=("int", "strs"))
    ids = [f"{alice.account_id}-{name}" for name in ("a", "b", "c")]
    assert query(alice.account.pk, ids[:1]) == list(_by_ids(alice.account.pk, ids[:1]))
    assert query(alice.account.pk, ids) == list(_by_ids(alice.account.pk, ids))
    assert len(query._compiled) == 1


def test_a_queryset_that_is_not_values_list_runs_through_the_orm(alice: Persona) -> None:
    _notes(alice, "a")

    def instances(account_id: int) -> QuerySet[Any]:
        return Note.objects.filter(account_id=account_id)

    query = PreparedValues(instances, kinds=("int",))
    assert query(alice.account.pk) == list(instances(alice.account.pk))
    assert query._compiled[(None,)] is None
