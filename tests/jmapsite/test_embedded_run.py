"""The all-in-one start (`make run` = `manage.py runproxy`) is lean and quiet:
a Django-free supervisor with exactly two children (web, and one worker that
runs the queue, the beat schedule and the IMAP IDLE listener), a console of one
line per process plus the first-start notices, and still a periodic sync.

Alice's account is on a real Dovecot; the periodic sync is proved by a message
that only the beat schedule can bring in (no sync request, no push listener).
"""
from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers.dovecot import DovecotServer
from tests.servers.proxy import ProxyProcess, proxy_start

pytestmark = pytest.mark.slow

SYNC_INTERVAL = 2  # seconds between beat's "sync due accounts" runs
WAIT = 60.0


@dataclass
class Person:
    login: str
    password: str
    account_id: str

    def email_total(self, proxy: ProxyProcess) -> int:
        """Email/query total of the account through the JMAP port (RFC 8621 §4.4)."""
        body = {
            "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            "methodCalls": [["Email/query", {"accountId": self.account_id, "calculateTotal": True}, "q"]],
        }
        response = httpx.post(
            proxy.jmap_url + "/jmap/", json=body, auth=httpx.BasicAuth(self.login, self.password), timeout=15
        )
        assert response.status_code == 200, response.text
        name, args, _ = response.json()["methodResponses"][0]
        return int(args["total"]) if name == "Email/query" else -1


def message(subject: str, to: str) -> bytes:
    return (
        f"From: bob@example.test\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{secrets.token_hex(6)}@example.test>\r\n\r\n{subject}.\r\n"
    ).encode()


def wait_until(check: object, *, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@dataclass
class EmbeddedRun:
    proxy: ProxyProcess
    alice: Person
    synced_by_beat: bool


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory: pytest.TempPathFactory, dovecot: DovecotServer) -> Iterator[EmbeddedRun]:
    """One embedded start with alice's account; her second message is APPENDed
    after her first sync, and only beat's periodic sync can bring it in."""
    proxy = proxy_start(tmp_path_factory.mktemp("embedded"), extra_env={"JMAP_SYNC_INTERVAL": str(SYNC_INTERVAL)})
    try:
        proxy.wait_ready()
        login = f"alice-{secrets.token_hex(3)}@example.test"
        password = dovecot.user_add(login)
        dovecot.message_append(login, message("first", login))
        alice = Person(login=login, password=password, account_id=f"alice-{secrets.token_hex(3)}")
        created = httpx.post(
            proxy.mgmt_url + "/api/accounts",
            json={
                "accountid": alice.account_id, "email": login, "type": "imap", "username": login,
                "password": password, "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0,
                "check": False,
            },
            timeout=30,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        assert wait_until(lambda: alice.email_total(proxy) == 1), f"no first sync:\n{proxy.log_text()[-3000:]}"
        dovecot.message_append(login, message("second", login))
        synced = wait_until(lambda: alice.email_total(proxy) == 2)
        yield EmbeddedRun(proxy=proxy, alice=alice, synced_by_beat=synced)
    finally:
        proxy.stop()


def tree(pid: int) -> dict[int, list[int]]:
    """{pid: child pids} of the live processes under `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, list[int]] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        found[current] = sorted(children.get(current, []))
        todo.extend(found[current])
    return found


def test_the_embedded_run_is_a_supervisor_web_and_one_worker(embedded_run: EmbeddedRun) -> None:
    proxy = embedded_run.proxy
    state = json.loads((proxy.datadir / "run" / "supervisor.json").read_text())
    assert state["pid"] == proxy.process.pid
    assert set(state["children"]) == {"web", "worker"}
    web, worker = state["children"]["web"], state["children"]["worker"]
    # Exactly these: no beat, no listener, no pool process of its own.
    assert tree(proxy.process.pid) == {proxy.process.pid: sorted([web, worker]), web: [], worker: []}
    health = httpx.get(proxy.mgmt_url + "/healthz", timeout=10).json()
    assert health["processes"] == {"web": web, "worker": worker}
    assert health["children"] == 2 and health["pid"] == proxy.process.pid
    # The IDLE listener is a thread of the worker: its status file carries the worker's pid.
    status = json.loads((proxy.datadir / "run" / f"imap-listener-{worker}.json").read_text())
    assert status["pid"] == worker
    # The supervisor loaded nothing from the virtualenv (no Django, Celery or their C extensions).
    supervisor_cmdline = Path(f"/proc/{proxy.process.pid}/cmdline").read_bytes().split(b"\0")
    assert any(part.endswith(b"jmapsite/supervisor.py") for part in supervisor_cmdline), supervisor_cmdline
    maps = Path(f"/proc/{proxy.process.pid}/maps").read_text()
    assert "site-packages" not in maps


def test_beat_in_the_worker_still_syncs_periodically(embedded_run: EmbeddedRun) -> None:
    assert embedded_run.synced_by_beat, (
        "the second message did not arrive by the periodic sync:\n" + embedded_run.proxy.log_text()[-3000:]
    )


def test_the_console_shows_one_line_per_process_and_the_notices_only(embedded_run: EmbeddedRun) -> None:
    """After the start, an account's first sync and periodic syncs (each a task
    run by the worker, sent by beat every 2 s), the console still holds only the
    start-up lines: no banner, no root warning, no line per task."""
    proxy = embedded_run.proxy
    assert embedded_run.synced_by_beat
    state = json.loads((proxy.datadir / "run" / "supervisor.json").read_text())
    web, worker = state["children"]["web"], state["children"]["worker"]
    datadir = proxy.datadir
    lines = [line for line in proxy.log_text().splitlines() if line.strip()]
    expected_starts = [
        f"First start: dashboard user 'admin' created; its password is in {datadir / 'admin-password'} ",
        f"First start: stored credentials are encrypted with a key generated in {datadir / 'secret.key'} ",
        f"jmap-proxy: JMAP at {proxy.jmap_url}/.well-known/jmap (port {proxy.jmap_port}), dashboard at ",
        f"jmap-proxy: started web (pid {web}): ",
        f"jmap-proxy: started worker (pid {worker}): ",
    ]
    assert len(lines) == len(expected_starts), "\n".join(lines)
    for line, start in zip(lines, expected_starts, strict=True):
        assert line.startswith(start), (line, start)
    assert "worker" in lines[4] and "beat" in lines[4] and "IDLE" in lines[4]
