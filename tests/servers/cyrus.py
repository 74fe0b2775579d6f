"""A real Cyrus IMAP 3.6 with its JMAP module, the native JMAP server of the suite.

Debian's cyrus-common and cyrus-caldav packages (Makefile, APT_TEST_PACKAGES)
ship `master` and `httpd`; `imapd` comes from cyrus-imapd, which conflicts with
dovecot-imapd, so `make test` unpacks it into .tools/cyrus/ instead of
installing it (an installed one is used too). This module runs them from a temporary
directory with its own imapd.conf and cyrus.conf: IMAP and HTTP on free ports
of 127.0.0.1, `httpmodules: jmap`, conversations on (Cyrus's JMAP needs them),
the alternate namespace with "/" as separator, and SASL passwords in a sasldb
file of the directory (plain LOGIN/PLAIN over loopback). One server per test
session (`cyrus` fixture), stopped at the end. Started as root, `master` drops
to the `cyrus` user, so the directory is handed to that user.

What a JMAP client sees of it (the quirks the passthrough handles):
- the Session's apiUrl, downloadUrl, uploadUrl and eventSourceUrl are
  relative ("/jmap/", ...);
- downloadUrl names the type as `?accept={type}`;
- eventSourceUrl answers 204 No Content: no push;
- vendor capabilities under https://cyrusimap.org/ns/jmap/...;
- a mailbox shared by IMAP ACL (`share`) shows up as another account in the
  sharee's Session.
"""
from __future__ import annotations

import imaplib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers.dovecot import free_port
from tests.servers.require import server_missing

CYRUS_BIN = Path("/usr/lib/cyrus/bin")
# Where `make test` unpacks cyrus-imapd's imapd (see the module docstring).
UNPACKED_IMAPD = Path(__file__).resolve().parents[2] / ".tools/cyrus/usr/lib/cyrus/bin/imapd"
SASLPASSWD = "/usr/sbin/saslpasswd2"
ADMIN_LOGIN = "cyrusadmin"
# Not a secret: the throw-away admin of a server that lives as long as the test session, on loopback.
ADMIN_PASSWORD = "cyrus-test-admin"
SERVERNAME = "127.0.0.1"

_IMAPD_CONF = """\
configdirectory: {d}/conf
defaultpartition: default
partition-default: {d}/part
proc_path: {d}/run/proc
mboxname_lockpath: {d}/run/lock
lmtpsocket: {d}/run/socket/lmtp
idlesocket: {d}/run/socket/idle
notifysocket: {d}/run/socket/notify
sievedir: {d}/sieve
servername: {servername}
admins: {admin}
altnamespace: yes
unixhierarchysep: yes
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {d}/conf/sasldb2
sasl_mech_list: PLAIN LOGIN
httpmodules: jmap
conversations: yes
conversations_db: twoskip
# Cyrus lists its vendor capabilities (e.g. /sieve) but serves their methods only with this on.
jmap_nonstandard_extensions: yes
syslog_prefix: jmap-test-cyrus
"""

_CYRUS_CONF = """\
START {{
  recover cmd="ctl_cyrusdb -C {conf} -r"
}}
SERVICES {{
  imap cmd="{imapd} -C {conf}" listen="127.0.0.1:{imap_port}" prefork=0
  http cmd="httpd -C {conf}" listen="127.0.0.1:{http_port}" prefork=0
}}
EVENTS {{
}}
DAEMON {{
}}
"""


@dataclass(frozen=True)
class CyrusUser:
    login: str
    password: str
    session_url: str
    imap_host: str
    imap_port: int


class CyrusServer:
    """A running Cyrus. `users` maps login -> password."""

    kind = "cyrus"

    def __init__(self, *, directory: Path, imap_port: int, http_port: int) -> None:
        self.directory = directory
        self.host = "127.0.0.1"
        self.imap_port = imap_port
        self.http_port = http_port
        self.base_url = f"http://127.0.0.1:{http_port}"
        # The well-known URL redirects to /jmap, as RFC 8620 §2.2 allows.
        self.session_url = f"{self.base_url}/.well-known/jmap"
        self.config = directory / "imapd.conf"
        self.log_file = directory / "master.log"
        self.users: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None

    def _password_set(self, login: str, password: str) -> None:
        sasldb = self.directory / "conf" / "sasldb2"
        subprocess.run(
            [SASLPASSWD, "-p", "-c", "-f", str(sasldb), "-u", SERVERNAME, login],
            input=password.encode(), check=True, capture_output=True, timeout=30,
        )
        _hand_to_cyrus(sasldb)

    def admin(self) -> imaplib.IMAP4:
        """An IMAP connection logged in as the server's admin (close it with logout())."""
        connection = imaplib.IMAP4(self.host, self.imap_port, timeout=30)
        connection.login(ADMIN_LOGIN, ADMIN_PASSWORD)
        return connection

    def user(self, login: str, password: str) -> CyrusUser:
        """The user `login` with an INBOX (idempotent; a new password replaces the old one)."""
        if self.users.get(login) != password:
            self._password_set(login, password)
            self.users[login] = password
        connection = self.admin()
        try:
            created, detail = connection.create(f"user/{login}")
            if created != "OK" and b"exists" not in b" ".join(d for d in detail if isinstance(d, bytes)).lower():
                raise RuntimeError(f"Cyrus CREATE user/{login}: {detail}")
        finally:
            connection.logout()
        return CyrusUser(login=login, password=password, session_url=self.session_url,
                         imap_host=self.host, imap_port=self.imap_port)

    def share(self, *, owner: str, mailbox: str = "", sharee: str, rights: str = "lrswipkxtecdan") -> None:
        """Give `sharee` `rights` (RFC 4314) on `owner`'s INBOX or on its `mailbox`."""
        name = f"user/{owner}" + (f"/{mailbox}" if mailbox else "")
        connection = self.admin()
        try:
            status, detail = connection.setacl(name, sharee, rights)
            if status != "OK":
                raise RuntimeError(f"Cyrus SETACL {name} {sharee}: {detail}")
        finally:
            connection.logout()

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None


def _hand_to_cyrus(path: Path) -> None:
    """Started as root, master runs as `cyrus`: its files must be that user's."""
    if os.geteuid() != 0:
        return
    for root, _dirs, files in os.walk(path) if path.is_dir() else [(str(path.parent), [], [path.name])]:
        if path.is_dir():
            shutil.chown(root, user="cyrus", group="mail")
        for name in files:
            shutil.chown(os.path.join(root, name), user="cyrus", group="mail")


def cyrus_start(directory: Path) -> CyrusServer:
    """Start Cyrus in `directory`; returns once IMAP and HTTP answer."""
    server = CyrusServer(directory=directory, imap_port=free_port(), http_port=free_port())
    for sub in ("conf", "part", "run/socket", "run/proc", "run/lock", "sieve"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    server.config.write_text(_IMAPD_CONF.format(d=directory, servername=SERVERNAME, admin=ADMIN_LOGIN))
    cyrus_conf = directory / "cyrus.conf"
    cyrus_conf.write_text(_CYRUS_CONF.format(conf=server.config, imap_port=server.imap_port,
                                             http_port=server.http_port, imapd=cyrus_imapd()))
    _hand_to_cyrus(directory)
    server._password_set(ADMIN_LOGIN, ADMIN_PASSWORD)
    log = server.log_file.open("wb")
    server.process = subprocess.Popen(
        [str(CYRUS_BIN / "master"), "-C", str(server.config), "-M", str(cyrus_conf),
         "-p", str(directory / "master.pid"), "-l", "64"],
        stdout=log, stderr=subprocess.STDOUT, cwd=directory,
    )
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"Cyrus master exited with {server.process.returncode}: {server.log_text()[-2000:]}")
        try:
            httpx.get(server.base_url + "/jmap", timeout=2)
            server.admin().logout()
            return server
        except (httpx.TransportError, OSError, imaplib.IMAP4.error):
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"Cyrus did not start: {server.log_text()[-2000:]}") from None
            time.sleep(0.2)


def cyrus_imapd() -> Path:
    """The imapd to run: the one `make test` unpacked, else an installed one."""
    return UNPACKED_IMAPD if UNPACKED_IMAPD.exists() else CYRUS_BIN / "imapd"


def cyrus_available() -> str | None:
    """None when Cyrus can run here, else why not."""
    for binary in (CYRUS_BIN / "master", CYRUS_BIN / "httpd"):
        if not binary.exists():
            return f"Cyrus is not installed ({binary} missing; apt-get install cyrus-common cyrus-caldav)"
    if not cyrus_imapd().exists():
        return f"Cyrus's imapd is missing ({UNPACKED_IMAPD}: `make test` unpacks it from cyrus-imapd)"
    if not Path(SASLPASSWD).exists():
        return f"{SASLPASSWD} is missing (apt-get install sasl2-bin)"
    return None


@pytest.fixture(scope="session")
def cyrus() -> Iterator[CyrusServer]:
    """One Cyrus for the whole session (see the module docstring)."""
    missing = cyrus_available()
    if missing:
        server_missing(missing)
    directory = Path(tempfile.mkdtemp(prefix="jmap-cyrus-"))
    server = cyrus_start(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
