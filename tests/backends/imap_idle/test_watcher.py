"""One AccountWatcher (backends.imap.idle) in this process against a real
Dovecot: NOTIFY or INBOX IDLE, debounced sync requests, dormancy and
JMAP_IDLE_TIMEOUT (0 keeps the connection), reconnection after a drop."""
from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from accounts.models import Account
from backends.imap.idle import AccountWatcher
from tests.backends.imap.conftest import Mailstore, mailstore_make, message
from tests.backends.imap_idle.conftest import PROCTITLE, idle_sessions, imap_sessions, wait_until
from tests.personas import Persona
from tests.servers.dovecot import DovecotFactory, DovecotOptions

# Dovecot without NOTIFY (RFC 5465): the watcher falls back to IDLE on INBOX.
WITHOUT_NOTIFY = DovecotOptions(
    extra_config="verbose_proctitle = yes\nimap_capability = IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE "
    "UIDPLUS CONDSTORE QRESYNC SPECIAL-USE LIST-EXTENDED LIST-STATUS MOVE UNSELECT CHILDREN NAMESPACE ESEARCH"
)


class Requests:
    """The sync requests a watcher made (instead of Celery messages)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, account: Account) -> None:
        with self._lock:
            self.count += 1

    def wait_more_than(self, count: int, timeout: float) -> bool:
        return bool(wait_until(lambda: self.count > count, timeout=timeout))


@pytest.fixture
def alice_idle(dovecot_factory: DovecotFactory, alice: Persona, transactional_db: None) -> Mailstore:
    return mailstore_make(dovecot_factory(PROCTITLE), alice)


@pytest.fixture
def requests() -> Requests:
    return Requests()


@pytest.fixture
def watcher(alice_idle: Mailstore, requests: Requests) -> Iterator[AccountWatcher]:
    watcher = AccountWatcher(account_pk=alice_idle.account.pk, enqueue=requests)
    watcher.start()
    try:
        yield watcher
    finally:
        watcher.stop()
        watcher.join(timeout=15)


def test_changes_request_one_sync_each(alice_idle: Mailstore, watcher: AccountWatcher, requests: Requests) -> None:
    assert requests.wait_more_than(0, timeout=5), "no sync requested on connecting"
    assert wait_until(lambda: watcher.state == "idle" and idle_sessions(alice_idle.login) == 1, timeout=5)
    assert watcher.mode == "notify"
    for step in ("append", "flag", "expunge", "folder"):
        before = requests.count
        with alice_idle.client() as phone:
            if step == "append":
                phone.append("INBOX", message(f"step {step}"))
            elif step == "folder":
                phone.create_folder("Projects")
            else:
                phone.select_folder("INBOX")
                uids = phone.search(["ALL"])
                phone.add_flags(uids, [b"\\Flagged" if step == "flag" else b"\\Deleted"])
                if step == "expunge":
                    phone.expunge()
        assert requests.wait_more_than(before, timeout=2), f"{step}: no sync requested"
        time.sleep(0.8)  # a burst of responses is one request
        assert requests.count == before + 1, (step, requests.count - before)


def test_dormant_watcher_with_timeout_zero_stays_connected(
    alice_idle: Mailstore, watcher: AccountWatcher, requests: Requests, settings: object
) -> None:
    settings.JMAP_IDLE_TIMEOUT = 0  # type: ignore[attr-defined]
    assert wait_until(lambda: idle_sessions(alice_idle.login) == 1, timeout=5)
    watcher.unwatch()
    assert wait_until(lambda: watcher.state == "dormant", timeout=3)
    before = requests.count
    alice_idle.append(message("while nobody listens"))
    time.sleep(3.0)
    assert idle_sessions(alice_idle.login) == 1, "JMAP_IDLE_TIMEOUT=0 must keep the connection"
    assert requests.count == before, "a dormant watcher requests no syncs"
    watcher.watch()  # someone listens again: what happened meanwhile is synced at once
    assert requests.wait_more_than(before, timeout=2)
    assert watcher.connects == 1

    settings.JMAP_IDLE_TIMEOUT = 1  # type: ignore[attr-defined]
    watcher.unwatch()
    assert wait_until(lambda: not watcher.alive, timeout=5), "the watcher did not close after the timeout"
    assert wait_until(lambda: not imap_sessions(alice_idle.login), timeout=3), imap_sessions(alice_idle.login)


def test_reconnects_after_the_server_drops_it(
    alice_idle: Mailstore, watcher: AccountWatcher, requests: Requests
) -> None:
    assert wait_until(lambda: idle_sessions(alice_idle.login) == 1, timeout=5)
    config = alice_idle.server.directory / "dovecot.conf"
    subprocess.run(["doveadm", "-c", str(config), "kick", alice_idle.login], check=True, capture_output=True)
    assert wait_until(lambda: watcher.connects == 2 and watcher.state == "idle", timeout=10), watcher.status()
    before = requests.count
    alice_idle.append(message("after the reconnect"))
    assert requests.wait_more_than(before, timeout=2)


def test_without_notify_inbox_is_watched(
    dovecot_factory: DovecotFactory, alice: Persona, transactional_db: None, requests: Requests
) -> None:
    mail = mailstore_make(dovecot_factory(WITHOUT_NOTIFY), alice)
    with IMAPClient(mail.server.host, mail.server.imap_port, ssl=False) as probe:
        probe.login(mail.login, mail.server.users[mail.login])
        assert b"NOTIFY" not in probe.capabilities()
    watcher = AccountWatcher(account_pk=mail.account.pk, enqueue=requests)
    watcher.start()
    try:
        assert wait_until(lambda: watcher.state == "idle", timeout=5)
        assert watcher.mode == "inbox"
        before = requests.count
        mail.append(message("plain IDLE"))
        assert requests.wait_more_than(before, timeout=2)
    finally:
        watcher.stop()
        watcher.join(timeout=15)
    assert not watcher.alive
