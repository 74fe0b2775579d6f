"""Server-side searches per Email/query are bounded (RFC 8620 §5.5
unsupportedFilter): body, text and header conditions each run a UID SEARCH in
every folder of the real Dovecot, so a query may need at most
MAX_SERVER_SEARCHES different ones; past that it is refused before any search
reaches the server. A condition repeated is one search."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.mail import email_query
from jmapcore.mail.email_query import MAX_SERVER_SEARCHES
from tests.jmapcore.mail.conftest import MailUser, message


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The criteria of every server search the proxy runs (each still runs against Dovecot)."""
    seen: list[list[str]] = []
    real = email_query.email_server_search

    def counted(*, account: Any, criteria: list[str]) -> set[int]:
        seen.append(list(criteria))
        return real(account=account, criteria=criteria)

    monkeypatch.setattr(email_query, "email_server_search", counted)
    return seen


def _words(count: int) -> list[dict[str, str]]:
    return [{"body": f"word{index}"} for index in range(count)]


def _setup(user: MailUser) -> None:
    user.deliver(message(subject="first", body="this one says word3\r\n"))
    user.deliver(message(subject="second", body="and this one word5\r\n"))
    user.deliver(message(subject="third", body="nothing to see\r\n", extra_headers="X-Priority: 1\r\n"))
    user.sync()


def test_up_to_the_bound_every_search_runs_on_the_server(alice_mail: MailUser, searches: list[list[str]]) -> None:
    _setup(alice_mail)
    conditions: list[dict[str, Any]] = [*_words(MAX_SERVER_SEARCHES - 1), {"header": ["X-Priority", "1"]}]
    found = alice_mail.ok("Email/query", filter={"operator": "OR", "conditions": conditions})
    subjects = {email["subject"] for email in alice_mail.ok("Email/get", ids=found["ids"],
                                                               properties=["subject"])["list"]}
    assert subjects == {"first", "second", "third"}
    assert len(searches) == MAX_SERVER_SEARCHES


def test_past_the_bound_the_query_is_unsupported_filter_and_nothing_is_searched(
    alice_mail: MailUser, searches: list[list[str]]
) -> None:
    _setup(alice_mail)
    error = alice_mail.error("Email/query", filter={"operator": "OR", "conditions": _words(MAX_SERVER_SEARCHES + 1)})
    assert error["type"] == "unsupportedFilter"
    assert f"at most {MAX_SERVER_SEARCHES}" in error["description"]
    # text and header conditions count too, whatever operator holds them.
    mixed = [*_words(MAX_SERVER_SEARCHES - 1), {"text": "word1"},
             {"operator": "NOT", "conditions": [{"header": ["X-Tag", "red"]}]}]  # fmt: skip
    error = alice_mail.error("Email/query", filter={"operator": "AND", "conditions": mixed})
    assert error["type"] == "unsupportedFilter"
    assert searches == []


def test_a_repeated_condition_is_one_search(alice_mail: MailUser, searches: list[list[str]]) -> None:
    _setup(alice_mail)
    same = [{"body": "word3"}] * (MAX_SERVER_SEARCHES * 4)
    found = alice_mail.ok("Email/query", filter={"operator": "OR", "conditions": same})
    assert len(found["ids"]) == 1
    assert searches == [["BODY", "word3"]]


def test_query_changes_has_the_same_bound(alice_mail: MailUser, searches: list[list[str]]) -> None:
    _setup(alice_mail)
    state = alice_mail.ok("Email/query")["queryState"]
    error = alice_mail.error("Email/queryChanges", sinceQueryState=state,
                             filter={"operator": "OR", "conditions": _words(MAX_SERVER_SEARCHES + 1)})
    assert error["type"] == "unsupportedFilter"
    assert searches == []
