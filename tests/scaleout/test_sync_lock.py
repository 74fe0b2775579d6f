"""A sync of one account never runs twice at once, across processes
(DESIGN.md "Sync"; accounts.sync.AccountSyncLock in the Redis cache).

Two syncs requested at the same moment through web A and web B, and a third
attempt from a separate process while the first runs: one sync runs; the
others do not start beside it but leave a "run once more" flag, so the holder
runs once more after it (a change that queued them is not left to the next
periodic sync). Every message is fetched once in all."""
from __future__ import annotations

import re
import threading

import pytest

from tests.scaleout.cluster import (
    Cluster,
    email_ids,
    imap_person,
    mailbox_seed,
    sync_request,
    wait_for,
)
from tests.scaleout.test_worker_kill import account_pk
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.slow

MESSAGES = 5000

# Waits (bounded) until the worker's sync is running, then asks for a sync
# itself: it must not start a second one.
OTHER_PROCESS_SYNC = """
import time
from accounts.models import Account
from accounts.sync import account_sync
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    progress = Account.objects.get(pk={pk}).sync_progress or {{}}
    if progress.get("state") == "running" and progress.get("messages", 0) < progress.get("total", 0):
        account_sync(account_id={pk})
        print("tried while running")
        break
    time.sleep(0.01)
"""


def test_two_syncs_at_once_run_once(cluster: Cluster, dovecot: DovecotServer) -> None:
    dave = imap_person(cluster.a, dovecot, "dave")
    mailbox_seed(dovecot, dave.login, count=MESSAGES, tag="lock")
    pk = account_pk(cluster, dave.account_id)
    log_start = len(cluster.worker_node.log_text())
    # Another process (not the worker) tries as soon as it sees the sync running.
    other = cluster.manage_start("shell", "-c", OTHER_PROCESS_SYNC.format(pk=pk))

    both = [threading.Thread(target=sync_request, args=(web, dave.account_id)) for web in (cluster.a, cluster.b)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join(timeout=15)
    try:
        stdout, stderr = other.communicate(timeout=90)
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert other.returncode == 0 and b"tried while running" in stdout, stdout + stderr
    assert f"account #{pk}: sync already running; it will run once more" in stderr.decode()

    done = re.compile(rf"account {re.escape(dave.account_id)}: imap sync done \((\d+) new\)")

    def runs() -> list[int]:
        return [int(n) for n in done.findall(cluster.worker_node.log_text()[log_start:])]

    wait_for(lambda: len(runs()) >= 2, timeout=120, every=0.2, what="the sync and its one re-run")
    log = cluster.worker_node.log_text()[log_start:]
    # The first run fetched everything; the re-run (after it, not beside it) found nothing new.
    assert runs() == [MESSAGES, 0], log[-3000:]
    assert log.count(f"account #{pk}: sync already running; it will run once more") == 1, log[-3000:]
    assert len(set(email_ids(dave, cluster.a))) == MESSAGES
