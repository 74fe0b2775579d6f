"""Mail requests shaped to cost far more than their size answer a JMAP error,
never a 500 and never unbounded work: hostile patch paths (RFC 8620 §5.3),
filters nested past the limit and sort lists past it (§5.5), very long
strings in filters, names and keywords. Against a real Dovecot account; after
each, the account still answers and nothing changed on the server."""
from __future__ import annotations

from typing import Any

import pytest

from tests.jmapcore.mail.conftest import MailUser, message


@pytest.fixture
def mailbox_and_email(alice_mail: MailUser) -> tuple[MailUser, str, str]:
    alice_mail.deliver(message(subject="Hello"))
    alice_mail.sync()
    box = alice_mail.ok("Mailbox/set", create={"p": {"name": "Projects"}})["created"]["p"]["id"]
    [email_id] = alice_mail.ok("Email/query")["ids"]
    return alice_mail, box, email_id


def _still_answers(user: MailUser, email_id: str) -> None:
    [email] = user.ok("Email/get", ids=[email_id], properties=["subject", "keywords"])["list"]
    assert email["subject"] == "Hello"
    assert email["keywords"] == {}


@pytest.mark.parametrize(
    "path",
    [
        "keywords/" + "k" * 100_000,
        "keywords" + "/k" * 10_000,
        "keywords/a~2b",
        "keywords/a~",
        "keywords//x",
    ],
    ids=["long", "many-parts", "bad-escape", "lone-tilde", "empty-part"],
)
def test_hostile_patch_paths_on_email(mailbox_and_email: tuple[MailUser, str, str], path: str) -> None:
    user, _box, email_id = mailbox_and_email
    result = user.ok("Email/set", update={email_id: {path: True}})
    assert result["notUpdated"][email_id]["type"] in ("invalidPatch", "invalidProperties"), result
    assert len(result["notUpdated"][email_id].get("description", "")) < 1000
    _still_answers(user, email_id)


def test_too_many_patch_paths(mailbox_and_email: tuple[MailUser, str, str]) -> None:
    user, box, _email_id = mailbox_and_email
    patch = {f"name{i}": "x" for i in range(5000)}
    result = user.ok("Mailbox/set", update={box: patch})
    assert result["notUpdated"][box]["type"] in ("invalidPatch", "invalidProperties"), result
    [mailbox] = user.ok("Mailbox/get", ids=[box], properties=["name"])["list"]
    assert mailbox["name"] == "Projects"


@pytest.mark.parametrize("path", ["name" + "/x" * 10_000, "x" * 100_000])
def test_hostile_patch_paths_on_mailbox(mailbox_and_email: tuple[MailUser, str, str], path: str) -> None:
    user, box, _email_id = mailbox_and_email
    result = user.ok("Mailbox/set", update={box: {path: "y"}})
    assert result["notUpdated"][box]["type"] in ("invalidPatch", "invalidProperties"), result
    [mailbox] = user.ok("Mailbox/get", ids=[box], properties=["name"])["list"]
    assert mailbox["name"] == "Projects"


def _nested_filter(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"subject": "Hello"}
    for _ in range(depth):
        node = {"operator": "AND", "conditions": [node]}
    return node


def test_filter_nested_past_the_limit(mailbox_and_email: tuple[MailUser, str, str]) -> None:
    user, _box, email_id = mailbox_and_email
    # 30 operators are 60 levels of JSON: within the request's nesting limit.
    assert user.error("Email/query", filter=_nested_filter(30))["type"] == "unsupportedFilter"
    assert user.error("Mailbox/query", filter=_nested_filter(30))["type"] in ("unsupportedFilter",
                                                                                "invalidArguments")
    assert user.ok("Email/query", filter=_nested_filter(5))["ids"] == [email_id]


def test_filter_with_too_many_conditions(mailbox_and_email: tuple[MailUser, str, str]) -> None:
    user, _box, _email_id = mailbox_and_email
    wide = {"operator": "OR", "conditions": [{"subject": f"s{i}"} for i in range(5000)]}
    assert user.error("Email/query", filter=wide)["type"] == "unsupportedFilter"


def test_sort_past_the_limit(mailbox_and_email: tuple[MailUser, str, str]) -> None:
    user, _box, _email_id = mailbox_and_email
    sort = [{"property": "receivedAt"}] * 10_000
    assert user.error("Email/query", sort=sort)["type"] == "unsupportedSort"
    assert user.error("Mailbox/query", sort=[{"property": "name"}] * 10_000)["type"] == "unsupportedSort"


@pytest.mark.parametrize("kind", ["body", "text", "subject", "from", "header", "header-name"])
def test_very_long_filter_text(mailbox_and_email: tuple[MailUser, str, str], kind: str) -> None:
    user, _box, email_id = mailbox_and_email
    text = "x" * 1_000_000
    conditions: dict[str, dict[str, Any]] = {
        "header": {"header": ["X-Note", text]},
        "header-name": {"header": ["X-" + text, "a"]},
    }
    condition = conditions.get(kind, {kind: text})
    error = user.error("Email/query", filter=condition)
    assert error["type"] == "invalidArguments"
    assert len(error.get("description", "")) < 1000
    _still_answers(user, email_id)


def test_very_long_names_and_keywords(mailbox_and_email: tuple[MailUser, str, str]) -> None:
    user, box, email_id = mailbox_and_email
    created = user.ok("Mailbox/set", create={"m": {"name": "n" * 1_000_000}})
    assert created["notCreated"]["m"]["type"] == "invalidProperties"
    renamed = user.ok("Mailbox/set", update={box: {"name": "n" * 1_000_000}})
    assert renamed["notUpdated"][box]["type"] == "invalidProperties"
    flagged = user.ok("Email/set", update={email_id: {"keywords": {"k" * 1_000_000: True}}})
    assert flagged["notUpdated"][email_id]["type"] == "invalidProperties"
    _still_answers(user, email_id)
