"""Email/query and Email/queryChanges against synced mail (RFC 8621 §4.4, §4.5)."""
from __future__ import annotations

import datetime

from tests.jmapcore.mail.conftest import MailUser, message


def _deliver_at(user: MailUser, raw: bytes, when: datetime.datetime, **kwargs: object) -> None:
    user.dovecot.message_append(user.login, raw, msg_time=when, **kwargs)  # type: ignore[arg-type]


def test_filters_and_sorts(alice_mail: MailUser) -> None:
    base = datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.UTC)
    _deliver_at(alice_mail, message(subject="Invoice 42", sender="Dave <dave@example.org>"), base)
    _deliver_at(alice_mail, message(subject="Lunch", body="about the invoice\r\n"), base + datetime.timedelta(days=1))
    _deliver_at(alice_mail, message(subject="Zebra", body="x" * 5000), base + datetime.timedelta(days=2),
                flags=("\\Flagged",))
    alice_mail.sync()
    inbox = alice_mail.mailboxes()["inbox"]["id"]
    newest = alice_mail.ok("Email/query", filter={"inMailbox": inbox}, sort=[{"property": "receivedAt",
                                                                                "isAscending": False}])
    subjects = _subjects(alice_mail, newest["ids"])
    assert subjects == ["Zebra", "Lunch", "Invoice 42"]
    assert newest["collapseThreads"] is False and newest["position"] == 0

    def ids(**query: object) -> list[str]:
        return _subjects(alice_mail, alice_mail.ok("Email/query", sort=[{"property": "subject"}], **query)["ids"])

    assert ids(filter={"from": "dave"}) == ["Invoice 42"]
    assert ids(filter={"subject": "invoice"}) == ["Invoice 42"]
    assert ids(filter={"body": "invoice"}) == ["Lunch"]
    assert ids(filter={"text": "invoice"}) == ["Invoice 42", "Lunch"]
    assert ids(filter={"hasKeyword": "$flagged"}) == ["Zebra"]
    assert ids(filter={"notKeyword": "$flagged"}) == ["Invoice 42", "Lunch"]
    assert ids(filter={"minSize": 4000}) == ["Zebra"]
    assert ids(filter={"after": "2026-11-02T00:00:00Z"}) == ["Lunch", "Zebra"]
    assert ids(filter={"before": "2026-11-02T00:00:00Z"}) == ["Invoice 42"]
    assert ids(filter={"operator": "NOT", "conditions": [{"subject": "lunch"}]}) == ["Invoice 42", "Zebra"]
    assert ids(filter={"header": ["Subject", "zebra"]}) == ["Zebra"]
    assert ids(filter={"header": ["X-Missing"]}) == []
    by_size = alice_mail.ok("Email/query", sort=[{"property": "size", "isAscending": False}], limit=1)
    assert _subjects(alice_mail, by_size["ids"]) == ["Zebra"]
    flagged_first = alice_mail.ok("Email/query", sort=[{"property": "hasKeyword", "keyword": "$flagged",
                                                        "isAscending": False}])
    assert _subjects(alice_mail, flagged_first["ids"][:1]) == ["Zebra"]


def test_window_anchor_and_errors(alice_mail: MailUser) -> None:
    for number in range(5):
        alice_mail.deliver(message(subject=f"m{number}"))
    alice_mail.sync()
    every = alice_mail.ok("Email/query", sort=[{"property": "subject"}], calculateTotal=True)
    assert every["total"] == 5
    ids = every["ids"]
    page = alice_mail.ok("Email/query", sort=[{"property": "subject"}], position=1, limit=2)
    assert page["ids"] == ids[1:3]
    anchored = alice_mail.ok("Email/query", sort=[{"property": "subject"}], anchor=ids[3], anchorOffset=-1, limit=2)
    assert anchored["ids"] == ids[2:4] and anchored["position"] == 2
    assert alice_mail.error("Email/query", anchor="nope")["type"] == "anchorNotFound"
    assert alice_mail.error("Email/query", sort=[{"property": "color"}])["type"] == "unsupportedSort"
    assert alice_mail.error("Email/query", filter={"color": "red"})["type"] == "unsupportedFilter"
    assert alice_mail.error("Email/query", filter={"hasKeyword": "bad word"})["type"] == "invalidArguments"


def test_collapse_threads_and_query_changes(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="Plans", message_id="<root@example.org>"))
    alice_mail.deliver(message(subject="Re: Plans", message_id="<reply@example.org>",
                               extra_headers="In-Reply-To: <root@example.org>\r\nReferences: <root@example.org>\r\n"))
    alice_mail.deliver(message(subject="Other"))
    alice_mail.sync()
    collapsed = alice_mail.ok("Email/query", collapseThreads=True, calculateTotal=True)
    assert collapsed["total"] == 2 and collapsed["collapseThreads"] is True
    state = collapsed["queryState"]
    alice_mail.deliver(message(subject="Fresh"))
    alice_mail.sync()
    changes = alice_mail.ok("Email/queryChanges", sinceQueryState=state, collapseThreads=True)
    fresh = alice_mail.ok("Email/query", collapseThreads=True)["ids"]
    added_ids = [item["id"] for item in changes["added"]]
    assert len(added_ids) == 1 and added_ids[0] in fresh
    assert changes["added"][0]["index"] == fresh.index(added_ids[0])


def _subjects(user: MailUser, ids: list[str]) -> list[str]:
    listed = {item["id"]: item["subject"] for item in user.ok("Email/get", ids=ids, properties=["subject"])["list"]}
    return [listed[email_id] for email_id in ids]
