"""One initial sync into a fresh proxy database, for bench/mail.py (run as a child process).

Usage: JMAP_DATADIR=<empty dir> python bench/_mail_sync.py HOST PORT LOGIN PASSWORD
       [--noop N] [--profile FILE]

Applies the migrations to the SQLite database in $JMAP_DATADIR (not timed),
creates the IMAP account "bench" (plain IMAP, no backend check), then times
accounts.sync.account_sync() — the service a Celery worker runs — until it
returns, i.e. until every message is committed to the cache and queryable.
Then N syncs that find nothing new, each timed, with their SQL query count
and IMAP command count. Prints one JSON object on the last line of stdout.
"""
from __future__ import annotations

import argparse
import cProfile
import imaplib
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")


PHASES: dict[str, float] = {}


def _timed(owner: object, attribute: str, label: str) -> None:
    """Wrap owner.attribute so its wall time adds up in PHASES[label] (outermost call only)."""
    original = getattr(owner, attribute)
    depth = [0]

    def wrapper(*args: object, **kwargs: object) -> object:
        if depth[0]:
            return original(*args, **kwargs)
        depth[0] += 1
        begin = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            depth[0] -= 1
            PHASES[label] = PHASES.get(label, 0.0) + time.perf_counter() - begin

    setattr(owner, attribute, wrapper)


def phases_install() -> None:
    """Where the initial sync's time goes, without a profiler's distortion: wall
    time of the big steps, at their call sites (module globals)."""
    from backends.imap import message_parse, message_store, messages, sync_commands

    _timed(sync_commands, "parse_fetch_response", "IMAP FETCH parse (imapclient parse_fetch_response)")
    _timed(messages, "uid_fetch", "IMAP UID FETCH incl. parse")
    _timed(message_parse, "headers_parse", "header parse (message_parse.headers_parse)")
    _timed(messages, "message_from_fetch", "message_from_fetch incl. header parse")
    _timed(messages, "messages_store", "messages_store (DB writes + threading)")
    _timed(message_store, "threads_assign", "threads_assign")
    _timed(message_store, "threads_apply", "threads_apply (Thread + ThreadRef writes)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("login")
    parser.add_argument("password")
    parser.add_argument("--noop", type=int, default=3)
    parser.add_argument("--profile", default="")
    opts = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)

    from accounts.services import account_create
    from accounts.sync import account_sync
    from jmapcore.models.mail import Email, Mailbox, MailboxMessage

    account = account_create(
        accountid="bench", email=opts.login, password=opts.password, username=opts.login,
        imap_host=opts.host, imap_port=opts.port, imap_ssl=0, check=False,
    )

    # IMAP commands sent, counted at imaplib's single entry point.
    sent = [0]
    entry_point = "_command"
    original_command = getattr(imaplib.IMAP4, entry_point)

    def counting_command(self: imaplib.IMAP4, name: str, *args: object) -> object:
        sent[0] += 1
        return original_command(self, name, *args)

    setattr(imaplib.IMAP4, entry_point, counting_command)

    if not opts.profile:
        phases_install()
    profiler = cProfile.Profile() if opts.profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    account_sync(account_id=account.pk)
    if profiler:
        profiler.disable()
        profiler.dump_stats(opts.profile)
    initial = time.perf_counter() - start
    initial_commands = sent[0]
    phases = dict(PHASES)
    account.refresh_from_db()
    if account.last_sync_error:
        raise SystemExit(f"initial sync failed: {account.last_sync_error}")
    locations = MailboxMessage.objects.filter(account=account).count()
    emails = Email.objects.filter(account=account, destroyed=False).count()
    mailboxes = Mailbox.objects.filter(account=account, destroyed=False).count()
    db_bytes = sum(p.stat().st_size for p in Path(os.environ["JMAP_DATADIR"]).glob("accounts.sqlite3*"))

    noops: list[dict[str, float | int]] = []
    for _ in range(opts.noop):
        sent[0] = 0
        with CaptureQueriesContext(connection) as queries:
            begin = time.perf_counter()
            account_sync(account_id=account.pk)
            seconds = time.perf_counter() - begin
        noops.append({"seconds": seconds, "queries": len(queries.captured_queries), "imap_commands": sent[0]})
    account.refresh_from_db()
    if account.last_sync_error:
        raise SystemExit(f"no-op sync failed: {account.last_sync_error}")
    print(
        json.dumps(
            {
                "initial_seconds": initial,
                "initial_imap_commands": initial_commands,
                "phases": phases,
                "locations": locations,
                "emails": emails,
                "mailboxes": mailboxes,
                "db_bytes": db_bytes,
                "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "noop": noops,
                "account_pk": account.pk,
                "accountid": account.accountid,
            }
        )
    )


if __name__ == "__main__":
    main()
