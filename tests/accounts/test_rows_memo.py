"""Rows kept per SQLite connection while the database is unchanged (accounts.rows_memo),
as the API's login lookup uses them (accounts.auth._PreparedSelect).

Outside a transaction (transactional_db: the `db` fixture's transaction turns the memo
off), a warm lookup runs no SELECT, and any change -- committed by another connection
of this process, by another process, or made on the lookup's own connection -- is seen
by the very next lookup. Each lookup gets instances and mutable values of its own.
"""
from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from accounts import rows_memo
from accounts.auth import _ACCOUNTS_BY_LOGIN, AuthenticationFailed, authenticate_request_accounts
from accounts.models import Account, Pool
from accounts.password_memo import password_memo_clear
from tests.accounts.test_auth_basic import basic, request_with

LOGIN = "memo@example.test"


@pytest.fixture
def login(settings: Settings, transactional_db: None) -> Iterator[Pool]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    password_memo_clear()
    pool = Pool.objects.create(login=LOGIN, password_hash=make_password("memo-pw"))
    Account.objects.create(accountid="memo-a", pool=pool, email="a@example.test", sync_progress={"imap": {"n": 1}})
    yield pool
    password_memo_clear()


def _selects(call: Callable[[], Any]) -> tuple[Any, int]:
    """What `call` returns and how many SELECTs it ran on this thread's connection."""
    with CaptureQueriesContext(connection) as queries:
        found = call()
    return found, sum(1 for query in queries.captured_queries if query["sql"].startswith("SELECT"))


def _lookup() -> list[Account]:
    return _ACCOUNTS_BY_LOGIN(LOGIN)


def _elsewhere(change: Callable[[], Any]) -> None:
    """Run `change` on another thread, so on a connection of its own, and wait for its commit."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            change()
        except BaseException as exc:  # reported to the test below
            failures.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and not failures, failures


def test_a_warm_lookup_runs_no_select(login: Pool) -> None:
    _lookup()
    found, selects = _selects(_lookup)
    assert selects == 0
    assert [account.accountid for account in found] == ["memo-a"] and found[0].pool == login


def test_a_change_committed_by_another_connection_is_seen_at_once(login: Pool) -> None:
    _lookup()
    _elsewhere(lambda: Account.objects.filter(accountid="memo-a").update(name="renamed"))
    found, selects = _selects(_lookup)
    assert selects == 1 and found[0].name == "renamed"
    _elsewhere(lambda: Account.objects.create(accountid="memo-b", pool=login, email="b@example.test"))
    assert [account.accountid for account in _lookup()] == ["memo-a", "memo-b"]
    _elsewhere(lambda: Account.objects.filter(accountid="memo-a").delete())
    assert [account.accountid for account in _lookup()] == ["memo-b"]


def test_a_change_on_the_lookups_own_connection_is_seen_at_once(login: Pool) -> None:
    _lookup()
    Account.objects.filter(accountid="memo-a").update(is_read_only=True)
    found, selects = _selects(_lookup)
    assert selects == 1 and found[0].is_read_only is True


def test_a_write_to_any_table_drops_what_was_kept(login: Pool) -> None:
    _lookup()
    _elsewhere(lambda: Pool.objects.create(login="other@example.test"))
    assert _selects(_lookup)[1] == 1
    assert _selects(_lookup)[1] == 0


def test_each_lookup_gets_instances_and_mutable_values_of_its_own(login: Pool) -> None:
    first = _lookup()[0]
    first.name = "changed in memory"
    first.sync_progress["imap"]["n"] = 99
    first.pool.login = "changed@example.test"
    second, selects = _selects(_lookup)
    assert selects == 0
    again = second[0]
    assert again is not first and again.pool is not first.pool
    assert again.name == "" and again.sync_progress == {"imap": {"n": 1}} and again.pool.login == LOGIN
    assert again.created_at == first.created_at and again.created_at.tzinfo is not None


def test_nothing_is_kept_inside_a_transaction(login: Pool) -> None:
    with transaction.atomic():
        _lookup()
        assert _selects(_lookup)[1] == 1


def test_a_password_change_or_a_disabled_login_elsewhere_refuses_the_next_request(login: Pool) -> None:
    def alice() -> tuple[Pool, dict[str, Account]]:
        return authenticate_request_accounts(request_with(basic(LOGIN, "memo-pw")))

    alice()
    assert list(alice()[1]) == ["memo-a"]
    _elsewhere(lambda: Pool.objects.filter(pk=login.pk).update(is_active=False))
    with pytest.raises(AuthenticationFailed, match="disabled"):
        alice()
    _elsewhere(lambda: Pool.objects.filter(pk=login.pk).update(is_active=True, password_hash=make_password("new")))
    with pytest.raises(AuthenticationFailed) as refused:
        alice()
    assert refused.value.status == 401


_OTHER_PROCESS_WRITE = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("UPDATE t SET x = x + 1")
"""


@pytest.fixture
def file_database(tmp_path: Path, django_db_blocker: Any) -> Iterator[DatabaseWrapper]:
    """A connection to a database file of its own, in WAL mode as the embedded database is."""
    settings_dict = {**connections["default"].settings_dict, "NAME": str(tmp_path / "shared.sqlite3")}
    wrapper = DatabaseWrapper(settings_dict, alias="rows-memo-file")
    with django_db_blocker.unblock():
        try:
            yield wrapper
        finally:
            wrapper.close()


def _kept_until(wrapper: DatabaseWrapper, event: Callable[[], Any]) -> None:
    """Rows kept on `wrapper` are found again while its token holds, and no longer after `event`."""
    before = rows_memo.memo_token(wrapper)
    assert before is not None and rows_memo.memo_token(wrapper) == before
    rows_memo.memo_put(wrapper, before, "key", ["rows"])
    assert rows_memo.memo_get(wrapper, rows_memo.memo_token(wrapper), "key") == ["rows"]
    event()
    after = rows_memo.memo_token(wrapper)
    assert after is not None and after != before
    assert rows_memo.memo_get(wrapper, after, "key") is None


def test_a_commit_by_another_process_changes_the_token(file_database: DatabaseWrapper) -> None:
    """The embedded database is one WAL file shared by the web and worker processes."""
    wrapper = file_database
    with wrapper.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("CREATE TABLE t (x INTEGER)")
        cursor.execute("INSERT INTO t VALUES (0)")
    _kept_until(wrapper, lambda: subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS_WRITE, wrapper.settings_dict["NAME"]], check=True, timeout=60))


def test_a_new_connection_starts_with_nothing(file_database: DatabaseWrapper) -> None:
    def reconnect() -> None:
        file_database.close()
        file_database.ensure_connection()

    file_database.ensure_connection()
    _kept_until(file_database, reconnect)


def test_at_most_max_entries_are_kept_per_connection(login: Pool) -> None:
    connection.ensure_connection()
    token = rows_memo.memo_token(connection)
    for index in range(rows_memo.MAX_ENTRIES + 5):
        rows_memo.memo_put(connection, token, index, [index])
    assert rows_memo.memo_get(connection, token, 0) is None
    assert rows_memo.memo_get(connection, token, rows_memo.MAX_ENTRIES + 4) == [rows_memo.MAX_ENTRIES + 4]
    assert sum(rows_memo.memo_get(connection, token, i) is not None for i in range(50)) == rows_memo.MAX_ENTRIES
