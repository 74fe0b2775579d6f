"""A real Xandikos CalDAV/CardDAV server for the test suite.

Xandikos (PyPI `xandikos`, in requirements-dev.txt) runs as its own process in
multi-user mode (`xandikos multi-user`): each authenticated user gets the
principal /U/, with the addressbook-home-set /U/contacts/ and the
calendar-home-set /U/calendars/. Authentication is Xandikos's own htpasswd
support ({SHA} entries written by this module), which it only allows over
HTTPS (`--autocert`); the certificate it serves is issued here by a throwaway
test CA written next to it (`ca_file`), placed where --autocert looks for its
certificate, so Xandikos uses it instead of generating a self-signed one.

The `xandikos` fixture (function scope, because it changes a setting) returns
the one session-wide server and makes backend connections trust its CA
(JMAP_TLS_CA_FILE, together with any CA already configured, e.g. Dovecot's).

What the CardDAV code sees of it, unlike Radicale: HTTPS; hrefs of the form
/U/contacts/book/ with "@" left unencoded; address books under a separate
home set rather than in the principal; vCard 4.0 in supported-address-data.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers.dav_user import DavUser, dav_collection_make
from tests.servers.dovecot import free_port
from tests.servers.require import server_missing

# Longer than the 30 days below which --autocert would replace the certificate.
_CERT_DAYS = 400


def _sha1_b64(secret: str) -> str:
    return base64.b64encode(hashlib.sha1(secret.encode(), usedforsecurity=False).digest()).decode()


class XandikosServer:
    """A running Xandikos (see the module docstring). `users` maps login -> password."""

    kind = "xandikos"

    def __init__(self, *, directory: Path, port: int) -> None:
        self.directory = directory
        self.host = "127.0.0.1"
        self.port = port
        self.base_url = f"https://127.0.0.1:{port}"
        self.htpasswd = directory / "users.htpasswd"
        self.log_file = directory / "xandikos.log"
        self.ca_file = str(directory / "test-ca.pem")
        self.users: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None

    def client(self, login: str, password: str) -> httpx.Client:
        """A plain httpx client for `login` that trusts this server's CA."""
        return httpx.Client(auth=(login, password), timeout=10, verify=self.verify())

    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def user(self, login: str, password: str) -> DavUser:
        """The user `login` with its principal, an address book "contacts" and a
        calendar "calendar" (idempotent; a new password replaces the old one)."""
        if self.users.get(login) != password:
            self.users[login] = password
            # {SHA}: base64 of the SHA-1 digest, which Xandikos's htpasswd reader accepts without
            # the optional bcrypt package (test passwords only).
            lines = "".join(f"{name}:{{SHA}}{_sha1_b64(secret)}\n" for name, secret in sorted(self.users.items()))
            tmp = self.htpasswd.with_suffix(".tmp")
            tmp.write_text(lines)
            tmp.replace(self.htpasswd)
        principal = f"{self.base_url}/{login}/"
        with self.client(login, password) as client:
            # The first authenticated request makes Xandikos create the principal.
            answer = client.request("PROPFIND", principal, headers={"Depth": "0"})
            if answer.status_code != 207:
                raise RuntimeError(f"Xandikos principal {principal}: {answer.status_code} {answer.text[:200]}")
            book = principal + "contacts/contacts/"
            dav_collection_make(client, book, kind="addressbook", name="Contacts")
            dav_collection_make(client, principal + "calendars/calendar/", kind="calendar", name="Calendar")
        return DavUser(login=login, password=password, carddav_url=principal, caldav_url=principal,
                       addressbook_url=book)

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


def _certificates_write(*, ca_file: Path, cert_file: Path, key_file: Path) -> None:
    """A CA (to `ca_file`) and a server certificate for 127.0.0.1/localhost it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=_CERT_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jmap-proxy Xandikos test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)


def xandikos_start(directory: Path) -> XandikosServer:
    """Start Xandikos in `directory`; returns once it answers HTTPS."""
    server = XandikosServer(directory=directory, port=free_port())
    server.htpasswd.write_text("")
    state = directory / "state"
    (state / "certs").mkdir(parents=True)
    # Where --autocert looks for its certificate (xandikos.autocert: <state-dir>/certs/selfsigned.*).
    _certificates_write(ca_file=Path(server.ca_file), cert_file=state / "certs" / "selfsigned.crt",
                        key_file=state / "certs" / "selfsigned.key")
    data = directory / "data"
    data.mkdir()
    log = server.log_file.open("wb")
    server.process = subprocess.Popen(
        [xandikos_python(), "-m", "xandikos", "multi-user", "-d", str(data), "--state-dir", str(state),
         "-l", "127.0.0.1", "-p", str(server.port), "--autocert", "--htpasswd", str(server.htpasswd),
         "--no-detect-systemd"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"Xandikos exited with {server.process.returncode}: {server.log_text()[-2000:]}")
        try:
            httpx.get(server.base_url + "/", timeout=2, verify=server.verify())
            return server
        except httpx.TransportError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"Xandikos did not start: {server.log_text()[-2000:]}") from None
            time.sleep(0.1)


# The Python interpreter that runs Xandikos (one with the `xandikos` package); this one by default.
XANDIKOS_PYTHON_VARIABLE = "JMAP_TEST_XANDIKOS"


def xandikos_python() -> str:
    return os.environ.get(XANDIKOS_PYTHON_VARIABLE, "") or sys.executable


def xandikos_available() -> bool:
    python = xandikos_python()
    if not Path(python).exists():
        return False
    found = subprocess.run([python, "-c", "import xandikos"], capture_output=True, timeout=60, check=False)
    return found.returncode == 0


@pytest.fixture(scope="session")
def xandikos_server() -> Iterator[XandikosServer]:
    """One Xandikos for the whole session (see the module docstring)."""
    if not xandikos_available():
        server_missing(f"Xandikos is not installed for {xandikos_python()} (pip install -r requirements-dev.txt; "
                       f"{XANDIKOS_PYTHON_VARIABLE} names another Python)")
    directory = Path(tempfile.mkdtemp(prefix="jmap-xandikos-"))
    server = xandikos_start(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def ca_bundle(*, files: list[str], directory: Path) -> str:
    """One PEM file holding every CA of `files` (JMAP_TLS_CA_FILE takes one file)."""
    wanted = [name for name in dict.fromkeys(files) if name]
    if len(wanted) <= 1:
        return wanted[0] if wanted else ""
    digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:16]
    bundle = directory / f"ca-bundle-{digest}.pem"
    if not bundle.exists():
        bundle.write_text("".join(Path(name).read_text() for name in wanted))
    return str(bundle)


@pytest.fixture
def xandikos(xandikos_server: XandikosServer, settings: Any) -> XandikosServer:
    """The session's Xandikos, with backend connections trusting its CA for this test.

    A CA already configured stays trusted (one bundle file): a test that also
    needs Dovecot's CA requests `dovecot_tls_trust` before this fixture."""
    current = str(getattr(settings, "JMAP_TLS_CA_FILE", "") or "")
    settings.JMAP_TLS_CA_FILE = ca_bundle(files=[current, xandikos_server.ca_file],
                                          directory=xandikos_server.directory)
    return xandikos_server
