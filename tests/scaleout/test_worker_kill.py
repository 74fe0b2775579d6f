"""Killing the worker mid-sync loses nothing (DESIGN.md "Writes: ... A crash at
any point leaves nothing the next sync cannot repair"; issue 4 item 6).

An initial sync of a few thousand messages is interrupted by SIGKILL of the
whole worker node (supervisor, Celery worker and listener at once, as when a
machine is lost) after some batches were committed. The dead worker's sync
lock is a lease that nobody renews any more: once it expired, a sync run by a
new worker completes the work: every message exactly once, and the Emails
cached before the kill keep their ids."""
from __future__ import annotations

import time
from collections import Counter

import pytest
import redis

from accounts.sync import SYNC_LOCK_SECONDS
from tests.scaleout.cluster import (
    Cluster,
    account_get,
    email_ids,
    email_message_ids,
    imap_person,
    mailbox_seed,
    sync_request,
    wait_for,
)
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.slow

MESSAGES = 6000
TAG = "kill"


def lock_held(cluster: Cluster, account_pk: int) -> bool:
    """Is the account's sync lock (accounts.sync, in the Redis cache) held?"""
    client = redis.Redis.from_url(cluster.env["REDIS_URL"])
    try:
        return bool(client.exists(f":1:jmap:sync-lock:{account_pk}"))
    finally:
        client.close()


def account_pk(cluster: Cluster, accountid: str) -> int:
    done = cluster.manage(
        "shell", "-c", f"from accounts.models import Account; print(Account.objects.get(accountid={accountid!r}).pk)"
    )
    return int(done.stdout.decode().split()[-1])


def test_killed_worker_loses_nothing(cluster: Cluster, dovecot: DovecotServer) -> None:
    carol = imap_person(cluster.a, dovecot, "carol")
    mailbox_seed(dovecot, carol.login, count=MESSAGES, tag=TAG)
    pk = account_pk(cluster, carol.account_id)

    sync_request(cluster.a, carol.account_id)
    # Kill once at least one batch is committed and the sync is still running.
    progress = wait_for(
        lambda: (p := account_get(cluster.a, carol.account_id)["syncProgress"]).get("messages", 0) > 0 and p,
        timeout=60, every=0.02, what="first committed batch",
    )  # fmt: skip
    cluster.worker_node.kill()
    progress = account_get(cluster.a, carol.account_id)["syncProgress"]
    assert progress["state"] == "running", progress
    assert 0 < progress["messages"] < MESSAGES, progress
    before = email_ids(carol, cluster.a)
    assert 0 < len(before) < MESSAGES

    # The killed sync's lock stays until its lease expires: no second sync
    # may start earlier, none has to wait longer.
    assert lock_held(cluster, pk)
    killed = time.monotonic()
    cluster.worker_start()
    wait_for(lambda: not lock_held(cluster, pk), timeout=SYNC_LOCK_SECONDS + 5, every=0.5, what="lock expiry")
    assert time.monotonic() - killed <= SYNC_LOCK_SECONDS + 5

    sync_request(cluster.b, carol.account_id)
    account = wait_for(
        lambda: (a := account_get(cluster.a, carol.account_id))["syncProgress"].get("state") == "done" and a,
        timeout=120, every=0.2, what="the next sync to finish",
    )  # fmt: skip
    assert account["lastSyncError"] == ""
    after = email_ids(carol, cluster.a)
    assert len(after) == MESSAGES
    assert len(set(after)) == MESSAGES
    assert set(before) <= set(after), "an Email cached before the kill changed its id"
    message_ids = Counter(email_message_ids(carol, cluster.a, after))
    assert len(message_ids) == MESSAGES and set(message_ids.values()) == {1}
    assert message_ids.keys() == {f"{TAG}-{i}@example.test" for i in range(MESSAGES)}
