"""A 100 MB blob up to Cyrus and back down through the proxy as a user runs it (issue 12, item 3).

The proxy runs as `manage.py runproxy` (tests/servers/proxy.py); alice's
Cyrus account is added with the management API. While the blob passes, the
resident memory of the web process (jmapsite.web_server, the one that streams) is sampled
from /proc; it must not grow by more than MEMORY_BOUND, far less than the
blob: a memory bound, not a time bound. Content is checked by SHA-256 on
Cyrus's side (direct download) and on the client's side (through the proxy).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jmapsite.process_specs import web_argv
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.dovecot import free_port
from tests.servers.proxy import ROOT, ProxyProcess, proxy_running

pytestmark = pytest.mark.slow

BLOB_SIZE = 100 * 1024 * 1024
MEMORY_BOUND = 64 * 1024 * 1024
CHUNK = 1024 * 1024
# The download's client stops reading for SLOW_PAUSE seconds after SLOW_AFTER octets.
SLOW_AFTER = 8 * 1024 * 1024
SLOW_PAUSE = 3.0


def _rss(pid: int) -> int:
    """Resident set size of `pid` in octets (/proc/PID/status VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


class RssSampler:
    """The highest RSS of `pid` seen while running (a thread reading /proc every 20 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = _rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.peak = max(self.peak, _rss(self.pid))


def _blob_chunks(seed: bytes, digest: hashlib._Hash) -> Iterator[bytes]:
    """BLOB_SIZE pseudo-random octets (SHA-256 counter mode), hashed into `digest` as they go."""
    block = b"".join(hashlib.sha256(seed + index.to_bytes(4, "big")).digest() for index in range(CHUNK // 32))
    for index in range(BLOB_SIZE // CHUNK):
        # A different chunk each time, cheaply: the block with the index in front, cut to size.
        chunk = (index.to_bytes(8, "big") + block)[:CHUNK]
        digest.update(chunk)
        yield chunk


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    with proxy_running(tmp_path_factory.mktemp("q3-blob-proxy")) as running:
        yield running


def _web_pid(proxy: ProxyProcess) -> int:
    named = json.loads((proxy.datadir / "run" / "supervisor.json").read_text())["children"]
    return int(named["web"])


def _basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def alice(proxy: ProxyProcess, cyrus: CyrusServer) -> tuple[str, str, CyrusUser]:
    """alice's Cyrus account added to the proxy with the management API: (accountId, auth, Cyrus user)."""
    user = cyrus.user("alice-q3-memory", "alice-memory-" + secrets.token_hex(4))
    login_password = "alice-jmap-" + secrets.token_hex(4)
    created = httpx.post(f"{proxy.mgmt_url}/api/accounts", json={
        "accountid": "aliceq3", "email": "alice-q3@example.test", "sessionUrl": user.session_url,
        "username": user.login, "password": user.password, "authType": "basic",
        "loginPassword": login_password,
    }, timeout=60)  # fmt: skip
    assert created.status_code == 201, created.text
    auth = _basic("alice-q3@example.test", login_password)
    session = httpx.get(f"{proxy.jmap_url}/session", headers={"Authorization": auth}, timeout=30)
    assert session.status_code == 200 and "aliceq3" in session.json()["accounts"], session.text
    return "aliceq3", auth, user


@pytest.fixture(scope="module")
def web_process(proxy: ProxyProcess) -> Iterator[tuple[str, int]]:
    """A second web process on the proxy's data directory, run by jmapsite.web_server: (JMAP URL, pid).

    The command is the web process's own (jmapsite.process_specs.web_argv), on
    free ports. (Stock daphne, the server before, queued a whole body in memory
    before Django read it: +105 MiB for this upload.) A process of its own, so
    that its memory is the transfer's alone.
    """
    jmap_port, mgmt_port = free_port(), free_port()
    argv = web_argv(jmap_host="127.0.0.1", jmap_port=jmap_port, mgmt_host="127.0.0.1", mgmt_port=mgmt_port,
                    log_level="WARNING")  # fmt: skip
    assert argv[argv.index("-m") + 1] == "jmapsite.web_server", argv
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JMAP_", "DJANGO_"))}
    env.update(JMAP_DATADIR=str(proxy.datadir), JMAP_PORT=str(jmap_port), JMAP_MGMT_PORT=str(mgmt_port),
               BASEURL=f"http://127.0.0.1:{jmap_port}")  # fmt: skip
    log = (proxy.datadir / "web.log").open("ab")
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{jmap_port}"
        for _attempt in range(600):
            if process.poll() is not None:
                raise RuntimeError((proxy.datadir / "web.log").read_text()[-3000:])
            try:
                httpx.get(url + "/.well-known/jmap", timeout=1)
                break
            except httpx.HTTPError:
                threading.Event().wait(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _warm(url: str, account_id: str, auth: str) -> None:
    """The first blob request imports and connects: that is not the blob's memory."""
    warm = httpx.post(f"{url}/upload/{account_id}/", content=b"warm", timeout=60,
                      headers={"Authorization": auth, "Content-Type": "text/plain"})  # fmt: skip
    assert warm.status_code == 201, warm.text
    down = httpx.get(f"{url}/download/{account_id}/{warm.json()['blobId']}/w.txt?type=text/plain",
                     headers={"Authorization": auth}, timeout=60)  # fmt: skip
    assert down.content == b"warm"


def _cyrus_sha256(cyrus: CyrusServer, user: CyrusUser, blob_id: str) -> str:
    """SHA-256 of a blob read straight from Cyrus, not through the proxy."""
    digest = hashlib.sha256()
    auth = _basic(user.login, user.password)
    session = httpx.get(f"{cyrus.base_url}/jmap", headers={"Authorization": auth}, timeout=30).json()
    url = (cyrus.base_url + session["downloadUrl"]).replace("{accountId}", user.login).replace(
        "{blobId}", blob_id).replace("{name}", "b.bin").replace("{type}", "application/octet-stream")
    with httpx.stream("GET", url, headers={"Authorization": auth, "Accept-Encoding": "identity"},
                      timeout=600) as got:  # fmt: skip
        assert got.status_code == 200
        for chunk in got.iter_bytes():
            digest.update(chunk)
    return digest.hexdigest()


def test_a_100_mb_upload_goes_to_cyrus_in_bounded_memory(
    web_process: tuple[str, int], cyrus: CyrusServer, alice: tuple[str, str, CyrusUser]
) -> None:
    account_id, auth, user = alice
    url, web = web_process
    _warm(url, account_id, auth)
    sent = hashlib.sha256()
    baseline = _rss(web)
    with RssSampler(web) as memory:
        answer = httpx.post(
            f"{url}/upload/{account_id}/",
            content=_blob_chunks(secrets.token_bytes(16), sent),
            headers={"Authorization": auth, "Content-Type": "application/octet-stream",
                     "Content-Length": str(BLOB_SIZE)},
            timeout=600,
        )  # fmt: skip
    assert answer.status_code == 201, answer.text
    uploaded = answer.json()
    assert uploaded["accountId"] == account_id and uploaded["size"] == BLOB_SIZE
    print(f"\nupload: web RSS {baseline / 2**20:.1f} MiB -> peak {memory.peak / 2**20:.1f} MiB")
    assert _cyrus_sha256(cyrus, user, uploaded["blobId"]) == sent.hexdigest()
    assert memory.peak - baseline < MEMORY_BOUND, (baseline, memory.peak)


def test_a_100_mb_download_comes_from_cyrus_in_bounded_memory(
    web_process: tuple[str, int], cyrus: CyrusServer, alice: tuple[str, str, CyrusUser]
) -> None:
    account_id, auth, user = alice
    url, web = web_process
    # Put the blob on Cyrus directly, so that only the download passes the proxy.
    sent = hashlib.sha256()
    direct = httpx.post(f"{cyrus.base_url}/jmap/upload/{user.login}/",
                        content=_blob_chunks(secrets.token_bytes(16), sent),
                        headers={"Authorization": _basic(user.login, user.password),
                                 "Content-Type": "application/octet-stream", "Content-Length": str(BLOB_SIZE)},
                        timeout=600)  # fmt: skip
    assert direct.status_code == 201, direct.text
    blob_id = direct.json()["blobId"]
    _warm(url, account_id, auth)
    received = hashlib.sha256()
    size = 0
    baseline = _rss(web)
    with RssSampler(web) as memory:
        with httpx.stream("GET", f"{url}/download/{account_id}/{blob_id}/big.bin?type=application/octet-stream",
                          headers={"Authorization": auth}, timeout=600) as down:  # fmt: skip
            assert down.status_code == 200
            assert down.headers["Content-Length"] == str(BLOB_SIZE)
            for chunk in down.iter_raw():
                if size < SLOW_AFTER <= size + len(chunk):
                    # A client that stops reading for a while: Cyrus and the proxy could push the
                    # rest of the blob meanwhile; the proxy must wait for the socket instead.
                    threading.Event().wait(SLOW_PAUSE)
                received.update(chunk)
                size += len(chunk)
    print(f"\ndownload: web RSS {baseline / 2**20:.1f} MiB -> peak {memory.peak / 2**20:.1f} MiB")
    assert size == BLOB_SIZE and received.hexdigest() == sent.hexdigest()
    assert memory.peak - baseline < MEMORY_BOUND, (baseline, memory.peak)


def test_a_range_of_the_big_blob_comes_through(proxy: ProxyProcess, alice: tuple[str, str, CyrusUser]) -> None:
    account_id, auth, _user = alice
    data = secrets.token_bytes(2 * 1024 * 1024)
    answer = httpx.post(f"{proxy.jmap_url}/upload/{account_id}/", content=data, timeout=60,
                        headers={"Authorization": auth, "Content-Type": "application/octet-stream"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    blob_id = answer.json()["blobId"]
    got = httpx.get(f"{proxy.jmap_url}/download/{account_id}/{blob_id}/r.bin?type=application/octet-stream",
                    headers={"Authorization": auth, "Range": "bytes=1048570-1048589"}, timeout=60)  # fmt: skip
    assert got.status_code == 206
    assert got.content == data[1048570:1048590]
    assert got.headers["Content-Range"] == f"bytes 1048570-1048589/{len(data)}"
