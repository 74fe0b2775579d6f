"""The proxy as a user starts it (`manage.py runproxy`, embedded defaults):
both ports, the worker (with the beat schedule and the IDLE listener), the
first-start admin password, a real JMAP client (jmaplib) talking to it, and a
clean stop."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jmap
import pytest
from jmap.client import JMAPClient

from tests.servers.dovecot import free_port
from tests.servers.proxy import ROOT, ProxyProcess

pytestmark = pytest.mark.slow

MANAGEMENT_PATHS = [
    "/healthz",
    "/metrics",
    "/api/accounts",
    "/api/docs",
    "/api/openapi.json",
    "/login/",
    "/accounts/account/",
    "/django_celery_beat/periodictask/",
    "/static/admin/css/base.css",
]


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port`, read from /proc/net/tcp{,6}."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_both_ports_answer_and_management_is_loopback_only(running_proxy: ProxyProcess) -> None:
    assert listening_addresses(running_proxy.mgmt_port) == {"0100007F"}  # 127.0.0.1 only
    assert listening_addresses(running_proxy.jmap_port) == {"00000000"}  # 0.0.0.0
    health = httpx.get(running_proxy.mgmt_url + "/healthz").json()
    assert health["status"] == "ok"
    assert health["children"] == 2  # web; worker with the beat schedule and the IMAP IDLE listener
    assert health["pid"] == running_proxy.process.pid
    redirect = httpx.get(running_proxy.jmap_url + "/.well-known/jmap")
    assert redirect.status_code in (301, 302, 307, 308)
    assert redirect.headers["location"] == running_proxy.jmap_url + "/session"


@pytest.mark.parametrize("path", MANAGEMENT_PATHS)
def test_management_urls_are_not_on_the_jmap_port(running_proxy: ProxyProcess, path: str) -> None:
    assert httpx.get(running_proxy.jmap_url + path).status_code == 404
    assert httpx.get(running_proxy.mgmt_url + path).status_code != 404


def test_first_start_creates_the_admin_without_logging_the_password(running_proxy: ProxyProcess) -> None:
    password_file = running_proxy.datadir / "admin-password"
    password = password_file.read_text().strip()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert str(password_file) in running_proxy.log_text()
    assert password not in running_proxy.log_text()
    # The credential key is generated at the first start too: private, named, never shown.
    key_file = running_proxy.datadir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert str(key_file) in running_proxy.log_text()
    assert key_file.read_text().strip() not in running_proxy.log_text()
    with httpx.Client(base_url=running_proxy.mgmt_url) as browser:
        login_page = browser.get("/login/")
        token = browser.cookies["csrftoken"]
        answer = browser.post(
            "/login/",
            data={"username": "admin", "password": password, "csrfmiddlewaretoken": token, "next": "/"},
            headers={"Referer": running_proxy.mgmt_url + "/login/"},
        )
        assert login_page.status_code == 200
        assert answer.status_code == 302
        assert "jmap-proxy" in browser.get("/").text


def test_a_jmap_client_reaches_an_account_added_with_curl(running_proxy: ProxyProcess) -> None:
    created = httpx.post(
        running_proxy.mgmt_url + "/api/accounts",
        json={
            "accountid": "carol",
            "email": "carol@example.test",
            "type": "imap",
            "username": "carol@example.test",
            "password": "carol-secret",
            "imapHost": "127.0.0.1",
            "imapPort": 1,
            "imapSSL": 0,
            "check": False,
        },
    )
    assert created.status_code == 201, created.text
    assert "carol-secret" not in created.text
    client = JMAPClient.connect(
        running_proxy.jmap_url + "/.well-known/jmap", auth=httpx.BasicAuth("carol@example.test", "carol-secret")
    )
    with client:
        assert client.session.api_url == running_proxy.jmap_url + "/jmap/"
        assert client.echo(greeting="hello", nested={"n": [1, 2]}) == {"greeting": "hello", "nested": {"n": [1, 2]}}
        uploaded = client.upload(b"\x00binary\xffdata", content_type="application/octet-stream")
        assert client.download(str(uploaded.blob_id)) == b"\x00binary\xffdata"
    with pytest.raises(jmap.AuthenticationError):
        JMAPClient.connect(running_proxy.jmap_url + "/session", auth=httpx.BasicAuth("carol@example.test", "wrong"))


def test_background_worker_runs_a_requested_sync(running_proxy: ProxyProcess) -> None:
    """POST …/sync goes through the file-based queue to the Celery worker, which
    records the outcome: here the backend port is closed, so a precise error."""
    httpx.post(
        running_proxy.mgmt_url + "/api/accounts",
        json={"accountid": "dave", "email": "dave@example.test", "username": "dave", "password": "pw",
              "imapHost": "127.0.0.1", "imapPort": 1, "imapSSL": 0, "check": False},
    ).raise_for_status()
    assert httpx.post(running_proxy.mgmt_url + "/api/accounts/dave/sync", json={}).status_code in (200, 202)
    deadline = time.monotonic() + 30
    account: dict[str, object] = {}
    while time.monotonic() < deadline:
        account = httpx.get(running_proxy.mgmt_url + "/api/accounts/dave").json()
        if account.get("lastSyncError"):
            break
        time.sleep(0.2)
    assert "127.0.0.1:1" in str(account.get("lastSyncError")), account


def test_sigterm_stops_every_process(tmp_path: Path) -> None:
    from tests.servers.proxy import proxy_start

    proxy = proxy_start(tmp_path / "data")
    try:
        proxy.wait_ready()
        state = httpx.get(proxy.mgmt_url + "/healthz").json()
        assert state["children"] == 2
        named = json.loads((tmp_path / "data" / "run" / "supervisor.json").read_text())["children"]
        assert set(named) == {"web", "worker"}
        children = list(named.values())
        listener_status = tmp_path / "data" / "run" / f"imap-listener-{named['worker']}.json"
        # The IDLE listener thread of the worker runs (the worker may still be starting when web answers).
        deadline = time.monotonic() + 60
        while not listener_status.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert listener_status.exists(), proxy.log_text()[-3000:]
    finally:
        stopped = proxy.stop()
    assert stopped == 0
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not (tmp_path / "data" / "run" / "supervisor.json").exists()
    # The worker stopped its listener thread cleanly (it removes its status file), not by being killed.
    assert not listener_status.exists()
    assert "did not stop" not in proxy.log_text()


def runproxy_beside(proxy: ProxyProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`manage.py runproxy ARGS` on the same data directory as `proxy`, on other ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JMAP_", "DJANGO_"))}
    env.update(JMAP_DATADIR=str(proxy.datadir), JMAP_PORT=str(free_port()), JMAP_MGMT_PORT=str(free_port()))
    return subprocess.run(
        [sys.executable, "manage.py", "runproxy", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_second_start_on_the_same_datadir_is_refused(running_proxy: ProxyProcess) -> None:
    state_file = running_proxy.datadir / "run" / "supervisor.json"
    before = json.loads(state_file.read_text())
    for args in ((), ("--web-only",)):
        second = runproxy_beside(running_proxy, *args)
        assert second.returncode != 0
        message = second.stderr + second.stdout
        assert "already running" in message and str(running_proxy.datadir) in message, message
        assert "Traceback" not in message
    assert f"pid {running_proxy.process.pid}" in message
    # The first proxy is untouched: same state file, still healthy.
    assert json.loads(state_file.read_text()) == before
    assert httpx.get(running_proxy.mgmt_url + "/healthz").json()["pid"] == running_proxy.process.pid


def test_a_stopping_supervisor_leaves_a_newer_state_file_alone(tmp_path: Path) -> None:
    from tests.servers.proxy import proxy_start

    datadir = tmp_path / "data"
    first = proxy_start(datadir)
    try:
        first.wait_ready()
        # As if a newer supervisor had started meanwhile and written its own state.
        newer = {"pid": first.process.pid + 1, "started": time.time(), "children": {}}
        (datadir / "run" / "supervisor.json").write_text(json.dumps(newer))
    finally:
        assert first.stop() == 0
    assert json.loads((datadir / "run" / "supervisor.json").read_text()) == newer
    # The lock went with the first supervisor: the directory can be used again.
    again = proxy_start(datadir)
    try:
        again.wait_ready()
        state = json.loads((datadir / "run" / "supervisor.json").read_text())
        assert state["pid"] == again.process.pid
    finally:
        assert again.stop() == 0
    assert not (datadir / "run" / "supervisor.json").exists()
