"""The proxy in scale-out, as an operator runs it (README "Scale-out"): every
process is `manage.py runproxy --<role>-only` with DATABASE_URL (the test
PostgreSQL) and REDIS_URL (the test Redis), all sharing one data directory
(blobs and the Django secret live there, as on a shared volume).

Each role process runs in a session of its own, so that kill() can SIGKILL
the supervisor and its children at once (a lost machine), and logs to a file
of its own. Every wait is bounded.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.jmapcore.push.clients import PushPerson
from tests.servers.dovecot import DovecotServer, free_port
from tests.servers.proxy import ROOT, ProxyProcess

READY_WAIT = 90.0
STOP_WAIT = 30.0


@dataclass
class RoleProcess:
    """One `runproxy --<role>-only` supervisor and its children."""

    role: str
    process: subprocess.Popen[bytes]
    log: Path
    datadir: Path
    jmap_port: int
    mgmt_port: int

    @property
    def jmap_url(self) -> str:
        return f"http://127.0.0.1:{self.jmap_port}"

    @property
    def mgmt_url(self) -> str:
        return f"http://127.0.0.1:{self.mgmt_port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> dict[str, int]:
        """The supervisor's live children by name, from its state file."""
        path = self.datadir / "run" / f"supervisor-{self.process.pid}.json"
        try:
            return {str(k): int(v) for k, v in json.loads(path.read_text())["children"].items()}
        except (OSError, ValueError, KeyError):
            return {}

    def as_proxy(self) -> ProxyProcess:
        """The web process in the shape tests/jmapcore/push/clients.py expects."""
        return ProxyProcess(
            process=self.process, jmap_port=self.jmap_port, mgmt_port=self.mgmt_port, datadir=self.datadir,
            log=self.log,
        )  # fmt: skip

    def wait_for_log(self, text: str, *, timeout: float = READY_WAIT, after: int = 0) -> None:
        """Until `text` appears in the log past offset `after`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_text()[after:]:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.role} exited with {self.process.returncode}:\n{self.log_text()[-4000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"{self.role}: {text!r} not logged within {timeout}s:\n{self.log_text()[-4000:]}")

    def wait_ready(self, timeout: float = READY_WAIT) -> None:
        if self.role == "web":
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"web exited with {self.process.returncode}:\n{self.log_text()[-4000:]}")
                try:
                    if httpx.get(self.mgmt_url + "/healthz", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            raise TimeoutError(f"web not ready after {timeout}s:\n{self.log_text()[-4000:]}")
        # Celery's own start-up lines.
        self.wait_for_log(" ready." if self.role == "worker" else "beat: Starting...", timeout=timeout)

    def stop(self) -> int:
        """SIGTERM (the supervisor stops its children), SIGKILL of the group if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                self.kill()
        self._group_kill()
        return int(self.process.returncode)

    def kill(self) -> None:
        """SIGKILL the supervisor and every child at once: nothing runs a cleanup."""
        self._group_kill()
        self.process.wait(timeout=STOP_WAIT)

    def _group_kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class Cluster:
    """Two web processes (A, B), one worker, one beat, on PostgreSQL + Redis."""

    datadir: Path
    env: dict[str, str]
    web_a: RoleProcess | None = None
    web_b: RoleProcess | None = None
    worker: RoleProcess | None = None
    beat: RoleProcess | None = None
    extra: list[RoleProcess] = field(default_factory=list)

    @property
    def a(self) -> RoleProcess:
        assert self.web_a is not None
        return self.web_a

    @property
    def b(self) -> RoleProcess:
        assert self.web_b is not None
        return self.web_b

    @property
    def worker_node(self) -> RoleProcess:
        assert self.worker is not None
        return self.worker

    def processes(self) -> list[RoleProcess]:
        return [p for p in (self.web_a, self.web_b, self.worker, self.beat, *self.extra) if p is not None]

    def role_start(self, role: str, *, name: str = "", setup: bool = False, args: tuple[str, ...] = ()) -> RoleProcess:
        jmap_port, mgmt_port = free_port(), free_port()
        env = dict(self.env)
        env.update(JMAP_PORT=str(jmap_port), JMAP_MGMT_PORT=str(mgmt_port), BASEURL=f"http://127.0.0.1:{jmap_port}")
        log = self.datadir.parent / f"{name or role}-{time.monotonic_ns()}.log"
        argv = [sys.executable, "manage.py", "runproxy", f"--{role}-only", *(() if setup else ("--no-setup",)), *args]
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return RoleProcess(
            role=role, process=process, log=log, datadir=self.datadir, jmap_port=jmap_port, mgmt_port=mgmt_port
        )

    def worker_start(self) -> RoleProcess:
        """A new worker (after the old one was stopped or killed); becomes cluster.worker."""
        worker = self.role_start("worker")
        self.extra.append(worker)  # stopped at the end whatever happens next
        worker.wait_ready()
        self.worker = worker
        return worker

    def stop_all(self) -> None:
        for process in self.processes():
            process.stop()

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        """`manage.py ARGS` with the cluster's environment (migrate, shell -c ...)."""
        process = self.manage_start(*args)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, stdout.decode() + stderr.decode()
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def manage_start(self, *args: str) -> subprocess.Popen[bytes]:
        """`manage.py ARGS` started in the background (the caller waits, bounded)."""
        env = dict(self.env)
        env.update(JMAP_PORT=str(free_port()), JMAP_MGMT_PORT=str(free_port()))
        return subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )


def cluster_env(
    *, datadir: Path, database_url: str, redis_url: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JMAP_", "DJANGO_", "DATABASE_", "REDIS_"))}
    env.update(
        JMAP_DATADIR=str(datadir),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="jmapsite.settings",
        **(extra or {}),
    )
    return env


# -- people and mail --------------------------------------------------------------------
def imap_person(web: RoleProcess, dovecot: DovecotServer, name: str) -> PushPerson:
    """A Dovecot user and its IMAP account (plain IMAP on loopback), added through web's management API."""
    import secrets

    login = f"{name}-{secrets.token_hex(3)}@example.test"
    password = dovecot.user_add(login)
    accountid = f"{name}-{secrets.token_hex(3)}"
    body = {
        "accountid": accountid, "email": login, "type": "imap", "username": login, "password": password,
        "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0, "check": False,
    }  # fmt: skip
    response = httpx.post(web.mgmt_url + "/api/accounts", json=body, timeout=30)
    assert response.status_code == 201, response.text
    # Creating an account queues its first sync at once: let it finish (on the
    # empty mailbox), so that what a test seeds next is synced by its own requests.
    wait_for(
        lambda: account_get(web, accountid)["lastSyncAt"] is not None,
        timeout=60, every=0.1, what=f"the first sync of {accountid}, queued at its creation",
    )  # fmt: skip
    return PushPerson(name=name, login=login, password=password, account_ids=[accountid], proxy=web.as_proxy())


def message(index: int, *, tag: str) -> bytes:
    return (
        f"From: Seeder <seeder@example.test>\r\nTo: someone@example.test\r\n"
        f"Subject: {tag} message {index}\r\nMessage-ID: <{tag}-{index}@example.test>\r\n"
        f"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nContent-Type: text/plain\r\n\r\n"
        f"Body of {tag} message {index}.\r\n"
    ).encode()


def mailbox_seed(dovecot: DovecotServer, login: str, *, count: int, tag: str, chunk: int = 500) -> None:
    """APPEND `count` small messages to INBOX fast: MULTIAPPEND (RFC 3502) of `chunk` at a time."""
    import imapclient

    with imapclient.IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=60) as client:
        client.login(login, dovecot.users[login])
        for start in range(0, count, chunk):
            client.multiappend("INBOX", [message(i, tag=tag) for i in range(start, min(count, start + chunk))])


def account_get(web: RoleProcess, accountid: str) -> dict[str, Any]:
    response = httpx.get(f"{web.mgmt_url}/api/accounts/{accountid}", timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def sync_request(web: RoleProcess, accountid: str) -> None:
    response = httpx.post(f"{web.mgmt_url}/api/accounts/{accountid}/sync", json={}, timeout=10)
    assert response.status_code == 202 and response.json()["queued"], response.text


def wait_for(check: Callable[[], Any], *, timeout: float, every: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout}s")
        time.sleep(every)


def listener_watching(worker: RoleProcess, accountid: str) -> bool:
    """True when the worker node's IMAP IDLE listener idles on this account
    (its status file, run/imap-listener-<pid>.json)."""
    pid = worker.children().get("listener")
    if pid is None:
        return False
    try:
        status = json.loads((worker.datadir / "run" / f"imap-listener-{pid}.json").read_text())
    except (OSError, ValueError):
        return False
    watchers = status.get("watchers", {}) if isinstance(status, dict) else {}
    return any(w.get("accountid") == accountid and w.get("state") == "idle" for w in watchers.values())


def email_ids(person: PushPerson, web: RoleProcess) -> list[str]:
    """Every Email id of the person's account, through web's JMAP API (Email/query, pages of 1000)."""
    url = web.jmap_url + "/jmap/"
    ids: list[str] = []
    with httpx.Client(timeout=60, headers={"Authorization": person.basic}) as client:
        while True:
            body = {
                "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
                "methodCalls": [["Email/query", {"accountId": person.account_id, "position": len(ids),
                                                 "limit": 1000, "calculateTotal": True}, "q"]],
            }  # fmt: skip
            response = client.post(url, json=body)
            assert response.status_code == 200, response.text
            name, args, _ = response.json()["methodResponses"][0]
            assert name == "Email/query", args
            ids.extend(args["ids"])
            if not args["ids"] or len(ids) >= args["total"]:
                return ids


def email_message_ids(person: PushPerson, web: RoleProcess, ids: list[str]) -> list[str]:
    """The Message-ID of each Email (Email/get, 1000 at a time)."""
    url = web.jmap_url + "/jmap/"
    found: list[str] = []
    with httpx.Client(timeout=60, headers={"Authorization": person.basic}) as client:
        for start in range(0, len(ids), 1000):
            body = {
                "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
                "methodCalls": [["Email/get", {"accountId": person.account_id, "ids": ids[start : start + 1000],
                                               "properties": ["messageId"]}, "g"]],
            }  # fmt: skip
            response = client.post(url, json=body)
            assert response.status_code == 200, response.text
            _, args, _ = response.json()["methodResponses"][0]
            assert not args["notFound"], args["notFound"][:5]
            found.extend(mid for email in args["list"] for mid in (email["messageId"] or []))
    return found
