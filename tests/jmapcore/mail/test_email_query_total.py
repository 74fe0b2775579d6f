"""Email/query's `total` is what the query's results count (RFC 8620 §5.5).

The total is counted in SQL (jmapcore.mail.email_query._Matches.total), not
by reading every id, so these check that the count and the ids a query
returns agree, on alice's synced mail shaped as real mail is: threads of
several messages (joined by In-Reply-To/References), a thread spread over two
folders, an email in two mailboxes at once, read and flagged messages, and a
destroyed email whose tombstone stays in the cache. Every filter is tried with
and without collapseThreads, under the list view's sort (the mailbox index
path) and another one.
"""
from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.jmapcore.mail.conftest import MailUser, message

NEWEST = [{"property": "receivedAt", "isAscending": False}]
BY_SUBJECT = [{"property": "subject"}]


def _reply(subject: str, parent: str, own: str, *, sender: str = "Dave <dave@example.org>") -> bytes:
    return message(subject=f"Re: {subject}", sender=sender, message_id=own,
                   extra_headers=f"In-Reply-To: {parent}\r\nReferences: {parent}\r\n")  # fmt: skip


@pytest.fixture
def mail(alice_mail: MailUser) -> dict[str, str]:
    """alice's mail: {"inbox": id, "projects": id} once delivered, synced and arranged."""
    base = datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.UTC)
    at = iter(base + datetime.timedelta(hours=hour) for hour in range(100))

    def deliver(raw: bytes, *, mailbox: str = "INBOX", flags: tuple[str, ...] = ()) -> None:
        alice_mail.dovecot.message_append(alice_mail.login, raw, mailbox=mailbox, flags=flags, msg_time=next(at))

    # "Plans": four messages, the last two filed in Projects.
    deliver(message(subject="Plans", message_id="<plans@example.org>"), flags=("\\Seen",))
    deliver(_reply("Plans", "<plans@example.org>", "<plans-1@example.org>"), flags=("\\Seen", "\\Flagged"))
    deliver(_reply("Plans", "<plans-1@example.org>", "<plans-2@example.org>"), mailbox="Projects")
    deliver(_reply("Plans", "<plans-2@example.org>", "<plans-3@example.org>"), mailbox="Projects",
            flags=("\\Seen",))  # fmt: skip
    # "Invoice": three in the inbox, none flagged.
    deliver(message(subject="Invoice", message_id="<invoice@example.org>", body="the invoice for November\r\n"))
    deliver(_reply("Invoice", "<invoice@example.org>", "<invoice-1@example.org>"), flags=("\\Seen",))
    deliver(_reply("Invoice", "<invoice-1@example.org>", "<invoice-2@example.org>"))
    # Unrelated single messages, some with the same subject (never joined on subject alone).
    for number in range(4):
        deliver(message(subject="Hello", sender=f"Erin{number} <erin{number}@example.org>"),
                flags=("\\Seen",) if number % 2 else ())  # fmt: skip
    deliver(message(subject="Design notes"), mailbox="Projects", flags=("\\Flagged",))
    deliver(message(subject="To be deleted", message_id="<gone@example.org>"))
    alice_mail.sync()
    boxes = alice_mail.mailboxes()
    inbox, projects = boxes["inbox"]["id"], boxes["Projects"]["id"]

    # One email in both folders (an IMAP COPY by the proxy), one destroyed (a tombstone).
    found = alice_mail.ok("Email/query", filter={"subject": "Invoice"}, sort=NEWEST)["ids"]
    gone = alice_mail.ok("Email/query", filter={"subject": "To be deleted"})["ids"]
    assert len(found) == 3 and len(gone) == 1
    changed = alice_mail.ok("Email/set", update={found[0]: {f"mailboxIds/{projects}": True}},
                            destroy=gone)  # fmt: skip
    assert list(changed["updated"]) == [found[0]] and changed["destroyed"] == gone, changed
    return {"inbox": inbox, "projects": projects}


def _filters(mail: dict[str, str]) -> list[dict[str, Any] | None]:
    inbox, projects = mail["inbox"], mail["projects"]
    return [
        None,
        {"inMailbox": inbox},
        {"inMailbox": projects},
        {"inMailboxOtherThan": [inbox]},
        {"hasKeyword": "$flagged"},
        {"notKeyword": "$seen"},
        {"someInThreadHaveKeyword": "$flagged"},
        {"noneInThreadHaveKeyword": "$flagged"},
        {"subject": "hello"},
        {"text": "november"},  # a server-side search (the body), besides the cached fields
        {"operator": "AND", "conditions": [{"inMailbox": inbox}, {"notKeyword": "$seen"}]},
        {"operator": "OR", "conditions": [{"inMailbox": projects}, {"from": "erin1"}]},
        {"operator": "NOT", "conditions": [{"inMailbox": projects}]},
        {"inMailbox": "Mno-such-mailbox"},
    ]


def test_the_total_counts_the_ids_for_every_filter_with_and_without_collapsed_threads(
    alice_mail: MailUser, mail: dict[str, str]
) -> None:
    for query_filter in _filters(mail):
        for sort in (NEWEST, BY_SUBJECT):
            base: dict[str, Any] = {"sort": sort} if query_filter is None else {"filter": query_filter, "sort": sort}
            every = alice_mail.ok("Email/query", calculateTotal=True, **base)
            collapsed = alice_mail.ok("Email/query", calculateTotal=True, collapseThreads=True, **base)
            case = f"{query_filter} {sort}"
            assert every["total"] == len(every["ids"]) == len(set(every["ids"])), case
            assert collapsed["total"] == len(collapsed["ids"]) == len(set(collapsed["ids"])), case
            # Collapsed, a thread counts once: as many as the threads of the uncollapsed results.
            threads = {
                email["threadId"]
                for email in alice_mail.ok("Email/get", ids=every["ids"], properties=["threadId"])["list"]
            }
            assert collapsed["total"] == len(threads), case
            # A small window, and an anchor (which reads every result), give the same totals.
            for answer, collapse in ((every, False), (collapsed, True)):
                window = alice_mail.ok("Email/query", calculateTotal=True, collapseThreads=collapse, limit=2, **base)
                assert window["total"] == answer["total"] and window["ids"] == answer["ids"][:2], case
                if answer["ids"]:
                    anchored = alice_mail.ok("Email/query", calculateTotal=True, collapseThreads=collapse,
                                             anchor=answer["ids"][-1], **base)  # fmt: skip
                    assert anchored["total"] == answer["total"], case


def test_the_data_has_what_the_totals_are_checked_on(alice_mail: MailUser, mail: dict[str, str]) -> None:
    """The set-up is what the module says: otherwise the totals above prove less than they claim."""
    every = alice_mail.ok("Email/query", calculateTotal=True)
    collapsed = alice_mail.ok("Email/query", calculateTotal=True, collapseThreads=True)
    # 13 delivered, one destroyed; "Plans" (4) and "Invoice" (3) are one thread each.
    assert every["total"] == 12
    assert collapsed["total"] == 12 - 3 - 2
    in_projects = alice_mail.ok("Email/query", filter={"inMailbox": mail["projects"]}, calculateTotal=True)
    in_inbox = alice_mail.ok("Email/query", filter={"inMailbox": mail["inbox"]}, calculateTotal=True)
    # Projects: two of "Plans", "Design notes", and the Invoice also kept in the inbox.
    assert in_projects["total"] == 4
    # Inbox: two of "Plans", the three of "Invoice", the four "Hello".
    assert in_inbox["total"] == 9
    assert in_projects["total"] + in_inbox["total"] == every["total"] + 1


def test_a_negative_position_counts_from_the_total(alice_mail: MailUser, mail: dict[str, str]) -> None:
    for collapse in (False, True):
        for query_filter in ({"inMailbox": mail["inbox"]}, {"notKeyword": "$seen"}):
            every = alice_mail.ok("Email/query", filter=query_filter, sort=NEWEST, collapseThreads=collapse)
            tail = alice_mail.ok("Email/query", filter=query_filter, sort=NEWEST, collapseThreads=collapse,
                                 position=-2, limit=5, calculateTotal=True)  # fmt: skip
            assert tail["total"] == len(every["ids"])
            assert tail["position"] == len(every["ids"]) - 2
            assert tail["ids"] == every["ids"][-2:]
            # Further back than the start: clamped to 0 (RFC 8620 §5.5).
            clamped = alice_mail.ok("Email/query", filter=query_filter, sort=NEWEST, collapseThreads=collapse,
                                    position=-1000, limit=3)  # fmt: skip
            assert clamped["position"] == 0 and clamped["ids"] == every["ids"][:3]


def test_a_position_past_the_end_has_no_ids_and_the_whole_total(alice_mail: MailUser, mail: dict[str, str]) -> None:
    answer = alice_mail.ok("Email/query", filter={"inMailbox": mail["inbox"]}, position=500, calculateTotal=True)
    assert answer["ids"] == [] and answer["position"] == 500 and answer["total"] == 9
