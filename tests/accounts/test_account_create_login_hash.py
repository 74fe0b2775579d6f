"""account_create makes the new login's password hash in a thread while the
backend check runs (issue 9: the PBKDF2 work no longer comes after the check,
before the first sync), and commits it with the account: a failure of either
leaves nothing behind."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher, check_password
from django.db import OperationalError, connection
from pytest_django.fixtures import Settings

from accounts.models import Account, Pool
from accounts.password_memo import password_memo_clear
from accounts.services import BackendCheckFailed, account_create
from jmapsite.celery import app as celery_app

HASHER = "tests.accounts.test_account_create_login_hash.RecordingHasher"
WAIT_FOR_COMMIT = 10.0


def _committed_within(accountid: str, seconds: float) -> bool:
    """Whether `accountid` is visible to another connection (committed) within `seconds`."""
    try:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            try:
                if Account.objects.filter(accountid=accountid).exists():
                    return True
            except OperationalError:  # the test database's shared cache locks a table being written
                pass
            time.sleep(0.02)
        return False
    finally:
        connection.close()  # this thread's own connection


class RecordingHasher(MD5PasswordHasher):
    """A real hasher that notes the thread it hashes in."""

    algorithm = "recording_md5"
    seen: list[str] = []
    fail = False
    # Set: the hash waits (at most WAIT_FOR_COMMIT s) for the account to be committed, and notes whether it was.
    wait_for: str | None = None
    committed_before_hash: bool | None = None

    def encode(self, password: str, salt: str) -> str:
        type(self).seen.append(threading.current_thread().name)
        wait_for = type(self).wait_for
        if wait_for is not None:
            type(self).committed_before_hash = _committed_within(wait_for, WAIT_FOR_COMMIT)
        if type(self).fail:
            raise RuntimeError("hashing failed")
        return super().encode(password, salt)


@pytest.fixture
def recording(settings: Settings, transactional_db: None) -> Iterator[type[RecordingHasher]]:
    settings.PASSWORD_HASHERS = [HASHER]
    RecordingHasher.seen, RecordingHasher.fail = [], False
    RecordingHasher.wait_for, RecordingHasher.committed_before_hash = None, None
    password_memo_clear()
    previous = celery_app.conf.task_always_eager
    # The queued sync runs in this process when it is queued (the worker's code path).
    celery_app.conf.task_always_eager = True
    yield RecordingHasher
    celery_app.conf.task_always_eager = previous
    password_memo_clear()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_login_hash_is_made_beside_the_backend_check(
    recording: type[RecordingHasher], clean_cache: None
) -> None:
    account = account_create(accountid="alice", email="alice@example.test", password="alice-secret",
                             imap_host="127.0.0.1", imap_port=_closed_port(), imap_ssl=0, check=False)  # fmt: skip
    assert recording.seen == ["login-hash"]
    pool = Pool.objects.get(pk=account.pool_id)
    assert pool.password_hash == account.pool.password_hash
    assert check_password("alice-secret", pool.password_hash)
    assert not check_password("", pool.password_hash)


def test_a_failed_backend_check_writes_nothing(recording: type[RecordingHasher], clean_cache: None) -> None:
    with pytest.raises(BackendCheckFailed):
        account_create(accountid="alice", email="alice@example.test", password="alice-secret",
                       imap_host="127.0.0.1", imap_port=_closed_port(), imap_ssl=0, check=True,
                       check_timeout=5)  # fmt: skip
    assert recording.seen == ["login-hash"]  # made, and waited for, before the error was raised
    assert not Account.objects.filter(accountid="alice").exists()
    assert not Pool.objects.filter(login="alice@example.test").exists()


def test_a_failed_hash_leaves_no_account_and_no_login(recording: type[RecordingHasher], clean_cache: None) -> None:
    recording.fail = True
    with pytest.raises(RuntimeError, match="hashing failed"):
        account_create(accountid="alice", email="alice@example.test", password="alice-secret",
                       imap_host="127.0.0.1", imap_port=_closed_port(), imap_ssl=0, check=False)  # fmt: skip
    assert not Account.objects.filter(accountid="alice").exists()
    assert not Pool.objects.filter(login="alice@example.test").exists()
    # The same account can be created once hashing works.
    recording.fail = False
    account = account_create(accountid="alice", email="alice@example.test", password="alice-secret",
                             imap_host="127.0.0.1", imap_port=_closed_port(), imap_ssl=0, check=False)  # fmt: skip
    assert check_password("alice-secret", Pool.objects.get(pk=account.pool_id).password_hash)


def test_joining_an_existing_login_keeps_its_password(recording: type[RecordingHasher], clean_cache: None) -> None:
    first = account_create(accountid="alice", email="alice@example.test", password="alice-secret",
                           imap_host="127.0.0.1", imap_port=_closed_port(), imap_ssl=0, check=False)  # fmt: skip
    hashed = len(recording.seen)
    second = account_create(accountid="alice-work", email="alice@work.example.test", password="work-secret",
                            imap_host="127.0.0.1", imap_port=_closed_port(), imap_ssl=0, check=False,
                            pool_login="alice@example.test")  # fmt: skip
    assert second.pool_id == first.pool_id
    assert len(recording.seen) == hashed  # no new hash
    assert check_password("alice-secret", Pool.objects.get(pk=first.pool_id).password_hash)


def test_the_account_and_its_sync_do_not_wait_for_the_hash(
    recording: type[RecordingHasher], clean_cache: None
) -> None:
    """The account is committed (and its first sync queued) while its login's hash is still being
    made; the hash is stored before account_create returns, and no password logs in before that."""
    recording.wait_for = "alice"
    account = account_create(accountid="alice", email="alice@example.test", password="alice-secret",
                             imap_host="127.0.0.1", imap_port=_closed_port(), imap_ssl=0, check=False)  # fmt: skip
    assert recording.committed_before_hash is True
    # The queued sync ran (eagerly, at the commit) and recorded its failure to connect.
    assert Account.objects.get(pk=account.pk).last_sync_error
    assert check_password("alice-secret", Pool.objects.get(pk=account.pool_id).password_hash)
