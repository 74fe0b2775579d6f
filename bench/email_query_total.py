"""Email/query with calculateTotal at N messages, in-process: CPU per query.

Usage: .venv/bin/python bench/email_query_total.py [--messages 20000] [--runs 15]
                                                  [--impl path/to/email_query.py]

Builds the mail cache of one account directly in a fresh SQLite database
(a temporary JMAP_DATADIR, migrated): `--messages` emails in threads of 1 to 6
messages, every third email also in a second mailbox (Archive), 70 % read,
every tenth flagged. Then runs each query below `--runs` times through
Email/query's handler (jmapcore.mail.email_query.email_query, or the
`email_query` of the module file given with `--impl`, e.g. the version of a
previous commit: `git show HEAD~1:jmapcore/mail/email_query.py > /tmp/old.py`)
and prints the median process CPU time per query (time.process_time: the
figure that other engines' load on the machine does not blur) and the median
wall time beside the load average. Each query's `total` and ids are printed
too, so two implementations can be compared for identical answers.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
THREAD_SIZES = (1, 2, 3, 1, 4, 6, 2, 1, 5)


def _setup(datadir: str) -> None:
    os.environ.update(JMAP_DATADIR=datadir, DJANGO_SETTINGS_MODULE="jmapsite.settings", JMAP_LOG_LEVEL="WARNING")
    for name in list(os.environ):
        if name in ("DATABASE_URL", "REDIS_URL"):
            del os.environ[name]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _seed(messages: int) -> tuple[Any, dict[str, str]]:
    """One account's cache: (the Account, {role: mailbox jmap id})."""
    from accounts.models import Account, Pool
    from jmapcore.models.mail import Email, Mailbox, MailboxMessage, Thread

    pool = Pool.objects.create(login="alice@example.test")
    account = Account.objects.create(accountid="alice", pool=pool, email="alice@example.test", name="alice")
    boxes = {}
    for role in ("inbox", "archive"):
        boxes[role] = Mailbox.objects.create(account=account, jmap_id=f"M{role}", name=role.title(), role=role,
                                             imap_name=role.title(), created_modseq=1, updated_modseq=1)  # fmt: skip
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    emails: list[Email] = []
    threads: list[Thread] = []
    number = 0
    thread_number = 0
    while number < messages:
        size = THREAD_SIZES[thread_number % len(THREAD_SIZES)]
        thread_id = f"T{thread_number}"
        threads.append(Thread(account=account, jmap_id=thread_id, created_modseq=2, updated_modseq=2))
        for _ in range(min(size, messages - number)):
            keywords = {"$seen": True} if number % 10 < 7 else {}
            if number % 10 == 3:
                keywords["$flagged"] = True
            # Replies of one thread arrive hours apart, threads interleave.
            received = start + datetime.timedelta(minutes=7 * number + 13 * (thread_number % 50))
            boxes_of = {boxes["inbox"].jmap_id: True}
            if number % 3 == 0:
                boxes_of[boxes["archive"].jmap_id] = True
            emails.append(Email(
                account=account, jmap_id=f"E{number}", thread_id=thread_id, blob_id=f"B{number}",
                mailbox_ids=boxes_of, keywords=keywords, size=1000 + number % 5000, received_at=received,
                subject=f"subject {thread_number % 700}", base_subject=f"subject {thread_number % 700}",
                from_text=f"person{number % 300}@example.org", created_modseq=2, updated_modseq=2,
            ))  # fmt: skip
            number += 1
        thread_number += 1
    Thread.objects.bulk_create(threads, batch_size=2000)
    Email.objects.bulk_create(emails, batch_size=2000)
    locations: list[MailboxMessage] = []
    uid = {"inbox": 0, "archive": 0}
    for email in Email.objects.filter(account=account).order_by("pk"):
        for role, box in boxes.items():
            if box.jmap_id in email.mailbox_ids:
                uid[role] += 1
                locations.append(MailboxMessage(
                    account=account, mailbox=box, email=email, uid=uid[role], received_at=email.received_at,
                    thread_id=email.thread_id, is_unread="$seen" not in email.keywords,
                ))  # fmt: skip
    MailboxMessage.objects.bulk_create(locations, batch_size=2000)
    return account, {role: box.jmap_id for role, box in boxes.items()}


def _queries(boxes: dict[str, str]) -> dict[str, dict[str, Any]]:
    newest = [{"property": "receivedAt", "isAscending": False}]
    return {
        "inbox, receivedAt desc": {"filter": {"inMailbox": boxes["inbox"]}, "sort": newest},
        "inbox, receivedAt desc, collapsed": {"filter": {"inMailbox": boxes["inbox"]}, "sort": newest,
                                              "collapseThreads": True},
        "all mail, no filter": {"sort": newest},
        "all mail, collapsed": {"sort": newest, "collapseThreads": True},
        "unread in inbox": {"filter": {"operator": "AND", "conditions": [
            {"inMailbox": boxes["inbox"]}, {"notKeyword": "$seen"}]}, "sort": newest},
        "not in archive, collapsed": {"filter": {"inMailboxOtherThan": [boxes["archive"]]}, "sort": newest,
                                      "collapseThreads": True},
        "subject sort, from filter": {"filter": {"from": "person1"}, "sort": [{"property": "subject"}]},
    }


def _handler(impl: str) -> Any:
    if not impl:
        from jmapcore.mail.email_query import email_query

        return email_query
    spec = importlib.util.spec_from_file_location("email_query_under_test", impl)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.email_query


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--impl", default="", help="a module file whose email_query to measure instead")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jmap-bench-total-") as datadir:
        _setup(datadir)
        account, boxes = _seed(opts.messages)
        from jmapcore.context import CallContext

        handler = _handler(opts.impl)
        ctx = CallContext(pool=account.pool, accounts={account.accountid: account},
                          using=frozenset({"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"}))  # fmt: skip
        print(f"Email/query calculateTotal, limit 50, {opts.messages} messages, {opts.runs} runs each, "
              f"impl {opts.impl or 'jmapcore/mail/email_query.py'}; load average {os.getloadavg()[0]:.2f}")
        results: dict[str, Any] = {}
        for name, query in _queries(boxes).items():
            args = {"accountId": account.accountid, "calculateTotal": True, "limit": 50, **query}
            cpu: list[float] = []
            wall: list[float] = []
            answer: dict[str, Any] = {}
            for _ in range(opts.runs):
                cpu_start, wall_start = time.process_time(), time.perf_counter()
                answer = handler(ctx, dict(args))
                cpu.append(time.process_time() - cpu_start)
                wall.append(time.perf_counter() - wall_start)
            results[name] = {"total": answer["total"], "ids": answer["ids"][:5]}
            print(f"  {name:36s} total {answer['total']:6d}  CPU median {statistics.median(cpu) * 1000:8.2f} ms"
                  f"  wall median {statistics.median(wall) * 1000:8.2f} ms")
        print("answers:", json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
