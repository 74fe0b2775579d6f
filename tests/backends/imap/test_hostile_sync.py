"""The hostile corpus (tests/hostile_mail.py) through a real Dovecot: every
message is APPENDed, the account synced, and each one must be cached with
the values a reader expects (issue 8). A message whose parsing fails is
cached with what is known and reported, and never stops its folder."""
from __future__ import annotations

import logging
from typing import Any

import pytest
from imapclient import IMAPClient

from backends.imap import message_parse
from backends.imap.parse_problems import message_parse_problems_record
from jmapcore.models.mail import Email, MailboxMessage
from tests.backends.imap.conftest import Mailstore, message
from tests.hostile_mail import HostileMessage, hostile_messages

FOLDER = "Hostile"


def _append_all(client: IMAPClient, messages: list[HostileMessage]) -> dict[int, HostileMessage]:
    """APPEND each message; {uid: message} from APPENDUID (RFC 4315)."""
    by_uid: dict[int, HostileMessage] = {}
    for item in messages:
        response = client.append(FOLDER, item.raw)
        text = response.decode() if isinstance(response, bytes) else str(response)
        assert text.startswith("[APPENDUID "), (item.name, text)
        by_uid[int(text.split("]", 1)[0].split()[2])] = item
    return by_uid


def _cached(mail: Mailstore) -> dict[int, Email]:
    locations = MailboxMessage.objects.filter(mailbox=mail.mailbox(FOLDER)).select_related("email")
    return {location.uid: location.email for location in locations}


def test_hostile_folder_is_synced_with_readable_values(alice_mail: Mailstore,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    corpus = hostile_messages()
    with alice_mail.client() as client:
        client.create_folder(FOLDER)
        by_uid = _append_all(client, corpus)
    with caplog.at_level(logging.WARNING, logger="jmap.sync.imap"):
        alice_mail.sync()

    cached = _cached(alice_mail)
    assert sorted(cached) == sorted(by_uid)
    # The checks below that depend on what an item declares must each run for many items.
    assert sum(item.subject is not None for item in corpus) > 100
    assert sum(item.from_email is not None for item in corpus) > 100
    assert sum(item.sent_at is not None for item in corpus) > 10
    for uid, item in by_uid.items():
        email = cached[uid]
        assert not email.destroyed and email.size == len(item.raw), item.name
        assert isinstance(email.subject, str) and "\x00" not in email.subject, item.name
        if item.subject is not None:
            assert email.subject == item.subject, item.name
        if item.from_email is not None:
            assert email.from_addr and email.from_addr[0]["email"] == item.from_email, item.name
        if item.sent_at is not None:
            assert email.sent_at == item.sent_at, item.name
        assert email.message_id == [f"{item.name}@hostile.example"], item.name
    # Everything was read by the real parser: nothing fell back.
    assert not [record for record in caplog.records if "fallback values" in record.getMessage()]
    # The shapes that used to stall: their From is read exactly.
    bounce = next(email for uid, email in cached.items() if by_uid[uid].name == "from-list_bounce-16")
    assert bounce.from_addr is not None and bounce.from_addr[0]["email"].startswith("dev-announce-bounces+alice0.")
    dotted = next(email for uid, email in cached.items() if by_uid[uid].name == "from-dotted_local_part-16")
    assert dotted.from_addr == [{"name": None, "email": ".".join(f"name{i % 10}" for i in range(16)) + "@x.org"}]


@pytest.fixture
def parse_failure_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    """headers_parse raises for messages whose Subject begins with "forced" (the
    sync fetches only the header fields it caches): a stand-in for a parser
    bug or a value that still exhausts the recursion limit."""
    real = message_parse.headers_parse

    def failing(raw: bytes | None) -> Any:
        if raw is not None and b"Subject: forced" in raw:
            raise RecursionError("maximum recursion depth exceeded (forced by the test)")
        return real(raw)

    monkeypatch.setattr(message_parse, "headers_parse", failing)


def test_a_message_that_cannot_be_parsed_is_cached_and_reported(
    alice_mail: Mailstore, parse_failure_forced: None, caplog: pytest.LogCaptureFixture
) -> None:
    with alice_mail.client() as client:
        client.create_folder(FOLDER)
    before = alice_mail.append(message("before"), mailbox=FOLDER)
    forced_raw = message("forced =?utf-8?q?failure?= " + "x" * 400)
    forced = alice_mail.append(forced_raw, mailbox=FOLDER, flags=("\\Flagged",))
    after = alice_mail.append(message("after"), mailbox=FOLDER)
    with caplog.at_level(logging.WARNING, logger="jmap.sync.imap"):
        alice_mail.sync()

    cached = _cached(alice_mail)
    assert cached[before].subject == "before" and cached[after].subject == "after"
    fallback = cached[forced]
    # What is known: UID (its location), flags, size, INTERNALDATE, the raw Subject cut short.
    assert fallback.subject == ("forced =?utf-8?q?failure?= " + "x" * 400)[: message_parse.FALLBACK_SUBJECT_MAX]
    assert fallback.keywords == {"$flagged": True}
    assert fallback.size == len(forced_raw) and fallback.received_at is not None
    assert fallback.from_addr is None and fallback.sent_at is None
    warnings = [record.getMessage() for record in caplog.records if "fallback values" in record.getMessage()]
    assert len(warnings) == 1 and f"message {forced} of folder '{FOLDER}'" in warnings[0]
    assert alice_mail.account.accountid in warnings[0] and "RecursionError" in warnings[0]
    # Reported on the account once the sync is done, and still after the next sync.
    for _ in range(2):
        alice_mail.account.refresh_from_db()
        progress = alice_mail.account.sync_progress
        assert progress["state"] == "done" and progress["parseProblemCount"] == 1
        assert progress["parseProblems"][0]["uid"] == forced and progress["parseProblems"][0]["mailbox"] == FOLDER
        alice_mail.sync()


def test_parse_problems_are_kept_on_the_progress_bounded(alice_mail: Mailstore) -> None:
    progress: dict[str, Any] = {"state": "running"}
    message_parse_problems_record(account=alice_mail.account, progress=progress, mailbox_name="INBOX",
                                  problems=[(uid, "ValueError: " + "v" * 1000) for uid in range(1, 61)])
    assert progress["parseProblemCount"] == 60
    assert [entry["uid"] for entry in progress["parseProblems"]] == list(range(11, 61))
    assert all(len(entry["problem"]) == 300 and entry["mailbox"] == "INBOX" for entry in progress["parseProblems"])
