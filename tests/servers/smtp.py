"""A real SMTP submission server for the test suite, delivering into Dovecot.

aiosmtpd (RFC 5321) runs in background threads on 127.0.0.1 with two free ports:

- `port`: plain SMTP that offers STARTTLS (RFC 3207), for smtpSSL 0/1 and 3;
- `tls_port`: implicit TLS from the first byte (RFC 8314 §3.3), for smtpSSL 2;

both with the certificate of the session's Dovecot (tests/servers/dovecot.py,
certificates_create), so one JMAP_TLS_CA_FILE trusts both servers.

Behaviour:

- AUTH PLAIN and LOGIN (RFC 4954) are checked against the Dovecot users'
  passwords (dovecot.users) and required before MAIL FROM; they are offered
  on the plain port too, so smtpSSL 0 can log in;
- MAIL FROM a local part starting with "reject" answers 550 5.7.1;
- RCPT TO a local part starting with "reject" answers 550; an unknown
  @example.test user answers 550 too; other domains are accepted and only recorded;
- every accepted message is delivered to its @example.test recipients through
  Dovecot's LMTP listener (RFC 2033), so it shows up in their IMAP INBOX.

Every transaction that reached DATA is kept in `transmissions` (envelope,
exact bytes after dot-unstuffing, whether TLS protected it, who was logged in),
so tests can prove for instance that a Bcc header never left the proxy.
"""
from __future__ import annotations

import asyncio
import smtplib
import ssl
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from accounts.models import Account
from accounts.secret_fields import account_secret_set
from tests.servers.dovecot import DovecotServer, free_port

LOCAL_DOMAIN = "example.test"
# Large enough for real messages, small enough that a test can exceed it cheaply.
DATA_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True)
class Transmission:
    """One mail transaction as the server received it."""

    listener: str  # "plain" (maybe upgraded by STARTTLS) or "implicit-tls"
    tls: bool  # the session was encrypted when DATA arrived
    starttls: bool  # the encryption came from STARTTLS
    login: str | None  # the AUTH identity
    mail_from: str
    mail_options: tuple[str, ...]
    rcpt_tos: tuple[str, ...]
    data: bytes
    delivered: tuple[str, ...]  # recipients delivered into Dovecot over LMTP


@dataclass(frozen=True)
class AuthAttempt:
    listener: str
    mechanism: str
    login: str
    success: bool


@dataclass
class SmtpServer:
    """The running server. Lists are appended to from the server threads."""

    host: str
    port: int
    tls_port: int
    dovecot: DovecotServer
    transmissions: list[Transmission] = field(default_factory=list)
    auth_attempts: list[AuthAttempt] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (address, reply)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _controllers: list[Controller] = field(default_factory=list, repr=False)

    @property
    def ca_file(self) -> str:
        return str(self.dovecot.ca_file)

    def record(self, item: Transmission | AuthAttempt | tuple[str, str]) -> None:
        with self._lock:
            if isinstance(item, Transmission):
                self.transmissions.append(item)
            elif isinstance(item, AuthAttempt):
                self.auth_attempts.append(item)
            else:
                self.refused.append(item)

    def transmissions_containing(self, marker: bytes) -> list[Transmission]:
        """The transactions whose data contains `marker` (e.g. a unique Subject)."""
        with self._lock:
            return [item for item in self.transmissions if marker in item.data]

    def port_for(self, ssl_mode: int) -> int:
        """The port an account with this smtpSSL mode connects to."""
        return self.tls_port if ssl_mode == 2 else self.port

    def stop(self) -> None:
        for controller in self._controllers:
            controller.stop()
        self._controllers.clear()


class _Handler:
    """aiosmtpd hooks: RCPT policy, LMTP delivery and the record."""

    def __init__(self, server: SmtpServer, listener: str) -> None:
        self.server = server
        self.listener = listener

    def authenticate(
        self, smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        expected = self.server.dovecot.users.get(login)
        success = expected is not None and password == expected
        self.server.record(AuthAttempt(self.listener, mechanism, login, success))
        return AuthResult(success=success, handled=False, auth_data=login if success else None)

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if address.rpartition("@")[0].lower().startswith("reject"):
            reply = f"550 5.7.1 <{address}>: sender address refused by the test server"
            self.server.record((address, reply))
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        local, _, domain = address.rpartition("@")
        reply = ""
        if local.lower().startswith("reject"):
            reply = f"550 5.1.1 <{address}>: recipient refused by the test server"
        elif domain.lower() == LOCAL_DOMAIN and address.lower() not in {u.lower() for u in self.server.dovecot.users}:
            reply = f"550 5.1.1 <{address}>: no such user here"
        if reply:
            self.server.record((address, reply))
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        transport = smtp.transport
        encrypted = transport is not None and transport.get_extra_info("ssl_object") is not None
        data = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        local = [r for r in envelope.rcpt_tos if r.rpartition("@")[2].lower() == LOCAL_DOMAIN]
        delivered: list[str] = []
        error = ""
        if local:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(
                    None, self._lmtp_deliver, mail_from, local, data, tuple(envelope.mail_options)
                )
                delivered = local
            except (OSError, smtplib.SMTPException) as exc:
                error = str(exc)
        self.server.record(
            Transmission(
                listener=self.listener,
                tls=encrypted,
                starttls=encrypted and self.listener == "plain",
                login=session.auth_data if isinstance(session.auth_data, str) else None,
                mail_from=mail_from,
                mail_options=tuple(envelope.mail_options),
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                delivered=tuple(delivered),
            )
        )
        if error:
            return f"451 4.3.0 local delivery failed: {error}"
        return "250 2.0.0 OK: queued"

    def _lmtp_deliver(self, mail_from: str, recipients: list[str], data: bytes, options: tuple[str, ...]) -> None:
        dovecot = self.server.dovecot
        if not dovecot.lmtp_port:
            raise OSError("Dovecot has no LMTP listener (apt-get install dovecot-lmtpd)")
        wanted = [o for o in options if o.upper().startswith(("SMTPUTF8", "BODY="))]
        with smtplib.LMTP(dovecot.host, dovecot.lmtp_port, local_hostname="smtp.example.test", timeout=10) as lmtp:
            lmtp.ehlo_or_helo_if_needed()
            mail_options = [o for o in wanted if lmtp.has_extn(o.split("=")[0].lower())]
            # One transaction per recipient: LMTP answers DATA once per
            # recipient (RFC 2033 §4.2), smtplib reads only one reply.
            for recipient in recipients:
                lmtp.sendmail(mail_from, [recipient], data, mail_options=mail_options)


class _Controller(Controller):
    """A Controller whose per-connection SMTP objects are made without the
    warning about AUTH on plain connections: smtpSSL 0 needs exactly that."""

    def factory(self) -> SMTP:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS", category=UserWarning)
            return SMTP(self.handler, **self.SMTP_kwargs)


def _server_context(dovecot: DovecotServer) -> ssl.SSLContext:
    certificates = dovecot.certificates
    if certificates is None:
        raise RuntimeError("the Dovecot test server has no certificates")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(certificates.cert_file), str(certificates.key_file))
    return context


def smtp_start(dovecot: DovecotServer, *, starttls: bool = True) -> SmtpServer:
    """Start both listeners; each runs its event loop in its own thread.

    With starttls False the plain port does not offer STARTTLS (a server an
    smtpSSL 3 account must refuse to talk to)."""
    context = _server_context(dovecot)
    server = SmtpServer(host="127.0.0.1", port=free_port(), tls_port=free_port(), dovecot=dovecot)
    common: dict[str, Any] = {
        "hostname": server.host,
        "server_hostname": "smtp.example.test",
        "auth_required": True,
        "auth_require_tls": False,
        "data_size_limit": DATA_SIZE_LIMIT,
        "enable_SMTPUTF8": True,
    }
    plain_handler = _Handler(server, "plain")
    plain = _Controller(
        plain_handler, port=server.port, tls_context=context if starttls else None, require_starttls=False,
        authenticator=plain_handler.authenticate, **common,
    )
    tls_handler = _Handler(server, "implicit-tls")
    implicit = _Controller(
        tls_handler, port=server.tls_port, ssl_context=context, authenticator=tls_handler.authenticate, **common
    )
    try:
        for controller in (plain, implicit):
            controller.start()
            server._controllers.append(controller)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def smtp_server(dovecot: DovecotServer) -> Iterator[SmtpServer]:
    """The session's SMTP server (STARTTLS on `port`, implicit TLS on `tls_port`)."""
    server = smtp_start(dovecot)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def smtp_server_without_starttls(dovecot: DovecotServer) -> Iterator[SmtpServer]:
    """A variant whose plain port offers no STARTTLS."""
    server = smtp_start(dovecot, starttls=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_tls_trust(smtp_server: SmtpServer, settings: Any) -> SmtpServer:
    """Settings that make backend connections trust the test CA (JMAP_TLS_CA_FILE)."""
    settings.JMAP_TLS_CA_FILE = smtp_server.ca_file
    return smtp_server


def account_smtp_point(
    *, account: Account, server: SmtpServer, ssl_mode: int, password: str | None = None
) -> None:
    """Point `account` at the test server with `ssl_mode`, logging in as its
    username with that user's Dovecot password (or `password`)."""
    login = account.username or account.email
    account.smtp_host = server.host
    account.smtp_port = server.port_for(ssl_mode)
    account.smtp_ssl = ssl_mode
    account.save(update_fields=["smtp_host", "smtp_port", "smtp_ssl", "updated_at"])
    account_secret_set(
        account=account, field="password", value=password if password is not None else server.dovecot.users[login]
    )
