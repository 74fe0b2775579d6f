"""A real Radicale CalDAV/CardDAV server for the test suite.

Radicale (PyPI, in requirements-dev.txt) runs as its own process
(`python -m radicale --config FILE`) on 127.0.0.1 with a free port, plain
HTTP, htpasswd authentication with plain-text entries (written by this
module as users are added), rights "owner_only" (a user sees only their own
principal) and storage in a temporary directory. One server per test session
(`radicale` fixture); it is stopped at the end.

What the CardDAV code sees of it: the principal of user U is /U/ (U
percent-encoded where needed), which is also the addressbook-home-set;
sync-collection (RFC 6578) and getctag are offered; ETags are quoted.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers.dav_user import DavUser, dav_collection_make
from tests.servers.dovecot import free_port
from tests.servers.require import server_missing

_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}

[auth]
type = htpasswd
htpasswd_filename = {htpasswd}
htpasswd_encryption = plain
# No pause after a wrong password: the tests that try one would only wait.
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {storage}

[logging]
level = info
mask_passwords = True
"""


class RadicaleServer:
    """A running Radicale. `users` maps login -> password."""

    kind = "radicale"

    def __init__(self, *, directory: Path, port: int) -> None:
        self.directory = directory
        self.host = "127.0.0.1"
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.htpasswd = directory / "users"
        self.log_file = directory / "radicale.log"
        self.users: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        # Radicale speaks plain HTTP here: no CA to trust.
        self.ca_file = ""

    def user(self, login: str, password: str) -> DavUser:
        """The user `login` with its principal, an address book "contacts" and a
        calendar "calendar" (idempotent; a new password replaces the old one)."""
        if self.users.get(login) != password:
            self.users[login] = password
            lines = "".join(f"{name}:{secret}\n" for name, secret in sorted(self.users.items()))
            tmp = self.htpasswd.with_suffix(".tmp")
            tmp.write_text(lines)
            tmp.replace(self.htpasswd)
        principal = f"{self.base_url}/{httpx.URL('/' + login).raw_path.decode()[1:]}/"
        with httpx.Client(auth=(login, password), timeout=10) as client:
            # The first authenticated PROPFIND makes Radicale create the principal collection.
            answer = client.request("PROPFIND", principal, headers={"Depth": "0"})
            if answer.status_code != 207:
                raise RuntimeError(f"Radicale principal {principal}: {answer.status_code} {answer.text[:200]}")
            dav_collection_make(client, principal + "contacts/", kind="addressbook", name="Contacts")
            dav_collection_make(client, principal + "calendar/", kind="calendar", name="Calendar")
        return DavUser(login=login, password=password, carddav_url=principal, caldav_url=principal,
                       addressbook_url=principal + "contacts/")

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None


def radicale_start(directory: Path) -> RadicaleServer:
    """Start Radicale in `directory`; returns once it answers HTTP."""
    server = RadicaleServer(directory=directory, port=free_port())
    server.htpasswd.write_text("")
    storage = directory / "collections"
    storage.mkdir()
    config = directory / "radicale.conf"
    config.write_text(_CONFIG.format(port=server.port, htpasswd=server.htpasswd, storage=storage))
    log = server.log_file.open("wb")
    server.process = subprocess.Popen(
        [radicale_python(), "-m", "radicale", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"Radicale exited with {server.process.returncode}: {server.log_text()[-2000:]}")
        try:
            httpx.get(server.base_url + "/.web/", timeout=2)
            return server
        except httpx.TransportError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"Radicale did not start: {server.log_text()[-2000:]}") from None
            time.sleep(0.1)


# The Python interpreter that runs Radicale (one with the `radicale` package); this one by default.
RADICALE_PYTHON_VARIABLE = "JMAP_TEST_RADICALE"


def radicale_python() -> str:
    return os.environ.get(RADICALE_PYTHON_VARIABLE, "") or sys.executable


def radicale_available() -> bool:
    python = radicale_python()
    if not Path(python).exists():
        return False
    found = subprocess.run([python, "-c", "import radicale"], capture_output=True, timeout=60, check=False)
    return found.returncode == 0


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    """One Radicale for the whole session (see the module docstring)."""
    if not radicale_available():
        server_missing(f"Radicale is not installed for {radicale_python()} (pip install -r requirements-dev.txt; "
                       f"{RADICALE_PYTHON_VARIABLE} names another Python)")
    directory = Path(tempfile.mkdtemp(prefix="jmap-radicale-"))
    server = radicale_start(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
