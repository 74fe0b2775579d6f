"""A real Dovecot IMAP server for the test suite.

The plugin writes a complete, private Dovecot configuration into a temporary
directory (nothing from /etc/dovecot is read) and runs `dovecot -F -c FILE` on
127.0.0.1 with free ports:

- a plain IMAP listener that offers STARTTLS (RFC 3501 §6.2.1),
- an implicit-TLS IMAPS listener (RFC 8314 §3.2),
- an LMTP listener (RFC 2033) when dovecot-lmtpd is installed, through which
  the test SMTP server (tests/servers/smtp.py) delivers into the mailboxes,

using a server certificate issued by a throwaway test CA generated here with
`cryptography`, so tests can trust exactly that CA (ca_file).

Variants (TLS off, CONDSTORE/QRESYNC hidden, ...) are described by a frozen
DovecotOptions and started through the session-scoped `dovecot_factory`
fixture; each distinct variant starts once per test session and is stopped at
the end. The `dovecot` fixture is the default variant.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.servers.require import server_missing

DOVECOT_BINARY = os.environ.get("JMAP_TEST_DOVECOT", "/usr/sbin/dovecot")

# The post-login capabilities Dovecot 2.3 announces, minus CONDSTORE and
# QRESYNC: used by the variant that must look like a server without them
# (RFC 7162 support is detected from CAPABILITY by the sync code).
_CAPABILITIES_WITHOUT_CONDSTORE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH "
    "LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE "
    "LITERAL+ NOTIFY SPECIAL-USE"
)

_SPECIAL_USE_FOLDERS = (
    "  mailbox Drafts {\n    special_use = \\Drafts\n    auto = subscribe\n  }",
    "  mailbox Sent {\n    special_use = \\Sent\n    auto = subscribe\n  }",
    "  mailbox Trash {\n    special_use = \\Trash\n    auto = subscribe\n  }",
    "  mailbox Junk {\n    special_use = \\Junk\n    auto = subscribe\n  }",
    "  mailbox Archive {\n    special_use = \\Archive\n    auto = subscribe\n  }",
)

DEFAULT_USERS: dict[str, str] = {
    "alice@example.test": "alice-imap-secret",
    "bob@example.test": "bob-imap-secret",
    "mallory@example.test": "mallory-imap-secret",
}


@dataclass(frozen=True)
class DovecotOptions:
    """One server variant. Frozen so it can key the per-session cache."""

    tls: bool = True
    condstore: bool = True
    # With condstore=True, qresync=False announces CONDSTORE but hides QRESYNC.
    qresync: bool = True
    # False hides PREVIEW (RFC 8970), so clients fall back to partial fetches.
    preview: bool = True
    # False leaves out the Drafts/Sent/... folders with special_use attributes.
    special_use_folders: bool = True
    # Raw configuration appended at the end, for one-off needs of a test module.
    extra_config: str = ""


@dataclass
class ServerCertificates:
    """A self-signed CA and a server certificate for 127.0.0.1/localhost."""

    ca_file: Path
    cert_file: Path
    key_file: Path


@dataclass
class DovecotServer:
    """A running Dovecot. `users` maps login -> password (kept up to date)."""

    options: DovecotOptions
    directory: Path
    host: str
    imap_port: int
    imaps_port: int | None
    ca_file: Path
    passwd_file: Path
    log_file: Path
    users: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _mtime: int = 0
    # LMTP (RFC 2033) on 127.0.0.1; None when dovecot-lmtpd is not installed.
    lmtp_port: int | None = None
    # The test CA and the server certificate/key, for other test servers to reuse.
    certificates: ServerCertificates | None = None

    # -- users -------------------------------------------------------------
    def user_add(self, login: str, password: str | None = None) -> str:
        """Add (or reset) a user; Dovecot re-reads the passwd-file when it changes.

        Returns the password. Lines are rewritten whole so a reset wins.
        """
        password = password or f"pw-{secrets.token_hex(8)}"
        self.users[login] = password
        _passwd_file_write(self.passwd_file, self.users, self.directory / "home")
        # Dovecot re-reads the passwd-file when its mtime (whole seconds) or size
        # changes; two quick changes of equal size would look alike, so every
        # write moves the mtime at least one second past the previous one.
        self._mtime = max(int(time.time()), self._mtime + 1)
        os.utime(self.passwd_file, (self._mtime, self._mtime))
        # It also looks at the file at most once per wall-clock second, so a
        # lookup in the second of the change could still see the old users.
        time.sleep(max(0.0, self._mtime + 1 - time.time()) + 0.05)
        return password

    # -- messages ----------------------------------------------------------
    def message_append(
        self,
        login: str,
        message: bytes | str,
        *,
        mailbox: str = "INBOX",
        flags: tuple[str, ...] = (),
        msg_time: datetime.datetime | None = None,
    ) -> int | None:
        """APPEND a raw RFC 5322 message for `login`; returns the new UID (UIDPLUS)."""
        import imapclient  # test helper only; the module stays importable without it

        raw = message.encode() if isinstance(message, str) else message
        with imapclient.IMAPClient(self.host, self.imap_port, ssl=False, timeout=10) as client:
            client.login(login, self.users[login])
            if mailbox != "INBOX" and not client.folder_exists(mailbox):
                client.create_folder(mailbox)
            response = client.append(mailbox, raw, flags=flags, msg_time=msg_time)
        # b"[APPENDUID <uidvalidity> <uid>] Append completed."
        text = response.decode() if isinstance(response, bytes) else str(response)
        if text.startswith("[APPENDUID "):
            return int(text.split("]", 1)[0].split()[2])
        return None

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- lifecycle ---------------------------------------------------------
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


# -- certificates ----------------------------------------------------------
def certificates_create(directory: Path) -> ServerCertificates:
    """Generate a CA and a server certificate valid for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jmap-proxy test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "test-ca.pem"
    cert_file = directory / "server.pem"
    key_file = directory / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return ServerCertificates(ca_file=ca_file, cert_file=cert_file, key_file=key_file)


# -- configuration -----------------------------------------------------------
def free_port() -> int:
    """A TCP port nobody listens on right now (tiny race accepted in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _passwd_file_write(path: Path, users: dict[str, str], home_root: Path) -> None:
    # uid/gid stay empty: passwd-file rejects uid 0, so the mail user comes
    # from mail_uid/mail_gid in the config (see _mail_user).
    lines = [
        # user:password:uid:gid:gecos:home:shell:extra; `nodelay` skips the
        # fixed auth_failure_delay after a wrong password.
        f"{login}:{{PLAIN}}{password}::::{home_root / login}::nodelay=y"
        for login, password in sorted(users.items())
    ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o644)
    tmp.replace(path)


def _service_users() -> tuple[str, str]:
    """(login user, internal user) Dovecot drops privileges to.

    As root Dovecot wants unprivileged accounts: the Debian package creates
    dovenull and dovecot. As an ordinary user it cannot switch users at all, so
    every service runs as the caller.
    """
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid()).pw_name
        return me, me
    names = []
    for wanted, fallback in (("dovenull", "nobody"), ("dovecot", "nobody")):
        try:
            pwd.getpwnam(wanted)
            names.append(wanted)
        except KeyError:
            names.append(fallback)
    return names[0], names[1]


def _mail_user() -> tuple[int, int]:
    """(uid, gid) that owns the maildirs.

    Dovecot refuses mail access as root, so when the suite runs as root (CI)
    mail belongs to an unprivileged system account; otherwise to the caller.
    """
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    for name in ("nobody", "dovecot"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise RuntimeError("no unprivileged account (nobody/dovecot) to own the test maildirs")


def lmtp_available() -> bool:
    """True when dovecot-lmtpd is installed (the LMTP delivery listener can run)."""
    return Path("/usr/lib/dovecot/lmtp").exists()


def capability_override(options: DovecotOptions) -> str:
    """The imap_capability value for `options`, "" when Dovecot's default is right."""
    if options.condstore and options.qresync and options.preview:
        return ""
    words = _CAPABILITIES_WITHOUT_CONDSTORE.split()
    if options.condstore:
        words.append("CONDSTORE")
        if options.qresync:
            words.append("QRESYNC")
    if not options.preview:
        words = [word for word in words if not word.startswith(("PREVIEW", "SNIPPET"))]
    return " ".join(words)


def dovecot_config(
    *,
    options: DovecotOptions,
    directory: Path,
    imap_port: int,
    imaps_port: int | None,
    ca: ServerCertificates,
    lmtp_port: int | None = None,
) -> str:
    login_user, internal_user = _service_users()
    mail_uid, mail_gid = _mail_user()
    lines = [
        "# Written by tests/servers/dovecot.py; private to one test session.",
        "protocols = imap lmtp" if lmtp_port else "protocols = imap",
        "listen = 127.0.0.1",
        f"base_dir = {directory / 'run'}",
        f"state_dir = {directory / 'state'}",
        f"log_path = {directory / 'dovecot.log'}",
        f"info_log_path = {directory / 'dovecot.log'}",
        f"debug_log_path = {directory / 'dovecot.log'}",
        f"default_login_user = {login_user}",
        f"default_internal_user = {internal_user}",
        f"mail_uid = {mail_uid}",
        f"mail_gid = {mail_gid}",
        "first_valid_uid = 1",
        "first_valid_gid = 1",
        f"mail_location = maildir:{directory / 'mail'}/%u",
        # Plain LOGIN on the non-TLS port is what plain mode (imapSSL 0/1) needs.
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login",
        "auth_cache_size = 0",
        "auth_failure_delay = 0",
        "login_trusted_networks = 127.0.0.0/8",
        "mail_fsync = never",
        "maildir_very_dirty_syncs = no",
        "imap_hibernate_timeout = 0",
        "namespace inbox {",
        "  inbox = yes",
        "  separator = /",
        *(_SPECIAL_USE_FOLDERS if options.special_use_folders else ()),
        "}",
        "passdb {",
        "  driver = passwd-file",
        f"  args = scheme=PLAIN username_format=%u {directory / 'users.passwd'}",
        "}",
        "userdb {",
        "  driver = passwd-file",
        f"  args = username_format=%u {directory / 'users.passwd'}",
        "}",
        # Dovecot slows every login from an address after a failed one (up to
        # 15 s, "auth penalty", kept by anvil). Tests fail logins on purpose, so
        # the auth process must not reach anvil's penalty socket: with mode 0
        # the (unprivileged) auth process gets EACCES and disables penalties.
        "service anvil {\n  chroot =\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}",
        "service imap-login {",
        "  chroot =",
        "  inet_listener imap {",
        "    address = 127.0.0.1",
        f"    port = {imap_port}",
        "  }",
        "  inet_listener imaps {",
        "    address = 127.0.0.1",
        f"    port = {imaps_port or 0}",
        "    ssl = yes",
        "  }",
        "}",
        "service stats {\n  chroot =\n}",
    ]
    if lmtp_port:
        # Delivery by the test SMTP server; the recipient is the passwd-file login.
        lines += [
            "service lmtp {",
            "  inet_listener lmtp {",
            "    address = 127.0.0.1",
            f"    port = {lmtp_port}",
            "  }",
            "}",
            "lmtp_save_to_detail_mailbox = no",
        ]
    if options.tls:
        lines += [
            "ssl = yes",
            f"ssl_cert = <{ca.cert_file}",
            f"ssl_key = <{ca.key_file}",
            "ssl_min_protocol = TLSv1.2",
        ]
    else:
        lines.append("ssl = no")
    if capability_override(options):
        lines.append(f"imap_capability = {capability_override(options)}")
    if options.extra_config:
        lines.append(options.extra_config)
    return "\n".join(line for line in lines if line) + "\n"


def _port_wait(
    host: str, port: int, *, greeting: bool, process: subprocess.Popen[bytes], log_file: Path, timeout: float
) -> None:
    """Wait until the port accepts (and, for plain IMAP, greets with `* OK`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_file.read_text(errors="replace") if log_file.exists() else ""
            raise RuntimeError(f"dovecot exited with {process.returncode}:\n{log}")
        try:
            with socket.create_connection((host, port), timeout=0.5) as sock:
                sock.settimeout(2)
                if not greeting or sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {host}:{port} within {timeout}s")


def dovecot_start(options: DovecotOptions, *, users: dict[str, str] | None = None) -> DovecotServer:
    """Start one Dovecot variant in a fresh temporary directory."""
    directory = Path(tempfile.mkdtemp(prefix="jmap-dovecot-"))
    # Dovecot's unprivileged processes must traverse it (certs stay 0600/root).
    directory.chmod(0o755)
    mail_uid, mail_gid = _mail_user()
    for sub in ("run", "state", "mail", "home"):
        (directory / sub).mkdir()
    for sub in ("mail", "home"):
        os.chown(directory / sub, mail_uid, mail_gid)
    ca = certificates_create(directory)
    imap_port = free_port()
    imaps_port = free_port() if options.tls else None
    lmtp_port = free_port() if lmtp_available() else None
    server = DovecotServer(
        options=options,
        directory=directory,
        host="127.0.0.1",
        imap_port=imap_port,
        imaps_port=imaps_port,
        ca_file=ca.ca_file,
        passwd_file=directory / "users.passwd",
        log_file=directory / "dovecot.log",
        users=dict(users if users is not None else DEFAULT_USERS),
        lmtp_port=lmtp_port,
        certificates=ca,
    )
    _passwd_file_write(server.passwd_file, server.users, directory / "home")
    config_file = directory / "dovecot.conf"
    config_file.write_text(
        dovecot_config(
            options=options,
            directory=directory,
            imap_port=imap_port,
            imaps_port=imaps_port,
            ca=ca,
            lmtp_port=lmtp_port,
        )
    )
    with open(directory / "dovecot.stdout", "wb") as output:  # the child keeps its own copy of the fd
        server.process = subprocess.Popen(
            [DOVECOT_BINARY, "-F", "-c", str(config_file)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        for port, greeting in ((imap_port, True), (imaps_port, False), (lmtp_port, False)):
            if port:
                _port_wait(
                    server.host, port, greeting=greeting, process=server.process, log_file=server.log_file, timeout=20
                )
    except Exception:
        server.stop()
        stdout = (directory / "dovecot.stdout").read_text(errors="replace")
        raise RuntimeError(f"{stdout}\n{server.log_text()}") from None
    return server


class DovecotFactory:
    """Starts each variant once per session; stops them all at the end."""

    def __init__(self) -> None:
        self._servers: dict[DovecotOptions, DovecotServer] = {}

    def __call__(self, options: DovecotOptions | None = None, **kwargs: object) -> DovecotServer:
        key = options or DovecotOptions(**kwargs)  # type: ignore[arg-type]
        if key not in self._servers:
            self._servers[key] = dovecot_start(key)
        return self._servers[key]

    def stop_all(self) -> None:
        for server in self._servers.values():
            server.stop()
            shutil.rmtree(server.directory, ignore_errors=True)
        self._servers.clear()


def dovecot_available() -> str | None:
    """None when Dovecot can run here, else the reason it cannot."""
    if not Path(DOVECOT_BINARY).exists():
        return f"Dovecot is not installed ({DOVECOT_BINARY} missing; apt-get install dovecot-imapd)"
    if not Path("/usr/lib/dovecot/imap").exists():
        return "dovecot-imapd is not installed (/usr/lib/dovecot/imap missing)"
    return None


@pytest.fixture(scope="session")
def dovecot_factory() -> Iterator[DovecotFactory]:
    reason = dovecot_available()
    if reason:
        server_missing(reason)
    factory = DovecotFactory()
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="session")
def dovecot(dovecot_factory: DovecotFactory) -> DovecotServer:
    """The default server: STARTTLS on the plain port, IMAPS, CONDSTORE+QRESYNC."""
    return dovecot_factory(DovecotOptions())


@pytest.fixture
def dovecot_tls_trust(dovecot: DovecotServer, settings: object) -> DovecotServer:
    """Settings that make backend connections trust the test CA (JMAP_TLS_CA_FILE)."""
    settings.JMAP_TLS_CA_FILE = str(dovecot.ca_file)  # type: ignore[attr-defined]
    return dovecot
