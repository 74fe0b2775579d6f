"""Sending one message over SMTP submission (RFC 5321, RFC 6409, RFC 8314).

smtp_open() honours the account's SSL mode (accounts.models.SslMode), exactly
as backends.imap.connection does for IMAP:

- 0 and 1: plain TCP, no encryption;
- 2: TLS from the first byte (implicit TLS, RFC 8314 §3.3, usually port 465);
- 3: plain TCP upgraded with STARTTLS (RFC 3207) before anything else is
  sent. The upgrade is mandatory: a server that does not offer STARTTLS is an
  error, never a silent fall back to plain text.

Certificates are checked with backends.tls.tls_client_context(). When the
server offers AUTH (RFC 4954) the client authenticates with PLAIN (RFC 4616)
or else LOGIN; accounts holding only an OAuth access token use XOAUTH2.
Credentials are sent UTF-8 encoded, so any password works.

smtp_send() then runs one mail transaction: MAIL FROM (with SIZE, BODY=8BITMIME
and SMTPUTF8 as the message needs, RFC 1870/6152/6531), one RCPT TO per
recipient, DATA. Refused recipients are recorded in the SmtpResult; the send
fails only when every recipient was refused.

Every failure is a backends.smtp.errors.SmtpError (a BackendError) whose
message names the cause in terms an operator can act on ("connection refused
to 127.0.0.1:587", "STARTTLS not offered by server", "SMTP login rejected for
alice@...: 535 5.7.8 ..."); `permanent` follows the reply code class (5yz
permanent, 4yz and network failures transient). Passwords and tokens never
appear in messages or logs.
"""
from __future__ import annotations

import base64
import re
import smtplib
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backends.smtp.errors import Rejection, SmtpError, Stage
from backends.tls import tls_client_context

if TYPE_CHECKING:
    from accounts.models import Account

DEFAULT_TIMEOUT = 30.0
PLAIN_MODES = frozenset({0, 1})
IMPLICIT_TLS = 2
STARTTLS = 3
SSL_MODES = frozenset({0, 1, 2, 3})
ACCEPTED_RCPT = frozenset({250, 251})
# An esmtp-keyword (RFC 5321 §4.1.2).
# esmtp-keyword (RFC 5321 §4.1.2), matched whole: "$" would let a final "\n" through.
_PARAM_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class RecipientOutcome:
    """What the server answered to RCPT TO for one recipient."""

    address: str
    accepted: bool
    code: int
    text: str


@dataclass(frozen=True)
class SmtpResult:
    """The outcome of a transaction in which at least one recipient was accepted.

    `code`/`text` are the server's final reply to DATA (RFC 5321 §4.1.1.4);
    `encrypted` says whether the session was protected by TLS, `authenticated`
    whether AUTH succeeded.
    """

    mail_from: str
    recipients: tuple[RecipientOutcome, ...]
    code: int
    text: str
    encrypted: bool
    authenticated: bool

    @property
    def accepted(self) -> list[str]:
        return [r.address for r in self.recipients if r.accepted]

    @property
    def rejected(self) -> list[Rejection]:
        return [Rejection(r.address, r.code, r.text) for r in self.recipients if not r.accepted]


# -- helpers -------------------------------------------------------------------


def _seconds(timeout: float) -> str:
    return f"{timeout:g}s"


def reply_text(reply: bytes | str) -> str:
    """A server reply as one line of text (multi-line replies joined by spaces)."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _tls_error_text(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    reason = getattr(exc, "reason", None)
    return str(reason).replace("_", " ").lower() if reason else str(exc)


def _network_error(exc: OSError, *, host: str, port: int, timeout: float, stage: str) -> SmtpError:
    where = f"{host}:{port}"
    if isinstance(exc, ssl.SSLError):
        return SmtpError(f"TLS handshake failed: {_tls_error_text(exc)}", stage="tls", permanent=True)
    if isinstance(exc, TimeoutError | socket.timeout):
        return SmtpError(f"timed out after {_seconds(timeout)} {stage} {where}", stage="connect", permanent=False)
    if isinstance(exc, ConnectionRefusedError):
        return SmtpError(f"connection refused to {where}", stage="connect", permanent=False)
    if isinstance(exc, socket.gaierror):
        return SmtpError(f"cannot resolve host {host!r}: {exc.strerror}", stage="connect", permanent=True)
    if isinstance(exc, ConnectionResetError | BrokenPipeError | EOFError):
        return SmtpError(f"connection to {where} closed by the server {stage}", stage="connect", permanent=False)
    return SmtpError(f"cannot connect to {where}: {exc.strerror or exc}", stage="connect", permanent=False)


@contextmanager
def _translated(*, host: str, port: int, timeout: float, stage: str, what: Stage) -> Iterator[None]:
    """Turn the exceptions of one dialogue stage into SmtpError."""
    try:
        yield
    except SmtpError:
        raise
    except smtplib.SMTPServerDisconnected:
        raise SmtpError(
            f"connection to {host}:{port} closed by the server {stage}", stage="connect", permanent=False
        ) from None
    except smtplib.SMTPResponseException as exc:
        text = reply_text(exc.smtp_error)
        raise SmtpError(
            f"{host}:{port} answered {exc.smtp_code} {text} {stage}", stage=what, code=exc.smtp_code, text=text
        ) from None
    except OSError as exc:  # ssl.SSLError, timeouts, refused connections; also other SMTPExceptions
        if isinstance(exc, smtplib.SMTPException) and not isinstance(exc, smtplib.SMTPConnectError):
            raise SmtpError(f"SMTP failure {stage} {host}:{port}: {exc}", stage=what, permanent=False) from None
        raise _network_error(exc, host=host, port=port, timeout=timeout, stage=stage) from None
    except UnicodeError as exc:
        raise SmtpError(f"cannot encode a command for {host}:{port}: {exc}", stage=what, permanent=True) from None


def _helo_name() -> str:
    """The EHLO argument: this host's name (no DNS lookup, unlike getfqdn())."""
    name = socket.gethostname()
    return name if name and name.isascii() and " " not in name else "localhost"


def _is_encrypted(smtp: smtplib.SMTP) -> bool:
    return isinstance(getattr(smtp, "sock", None), ssl.SSLSocket)


# -- connecting ----------------------------------------------------------------


def smtp_connect(*, host: str, port: int, ssl_mode: int, timeout: float = DEFAULT_TIMEOUT) -> smtplib.SMTP:
    """An SMTP connection that has been greeted and has said EHLO.

    With ssl_mode 3 STARTTLS has completed (and EHLO was repeated, RFC 3207
    §4.2), so the socket is an ssl.SSLSocket just as with mode 2.
    Raises SmtpError.
    """
    if ssl_mode not in SSL_MODES:
        raise SmtpError(f"unknown SSL mode {ssl_mode!r} (use 0, 1, 2 or 3)", stage="config", permanent=True)
    if not host:
        raise SmtpError("no SMTP host configured", stage="config", permanent=True)
    context = tls_client_context() if ssl_mode in (IMPLICIT_TLS, STARTTLS) else None
    smtp: smtplib.SMTP
    if ssl_mode == IMPLICIT_TLS:
        smtp = smtplib.SMTP_SSL(local_hostname=_helo_name(), timeout=timeout, context=context)
        stage = "during the TLS handshake with"
    else:
        smtp = smtplib.SMTP(local_hostname=_helo_name(), timeout=timeout)
        stage = "waiting for the greeting of"
    # smtplib checks the certificate against _host (implicit TLS and STARTTLS),
    # which only its constructor sets; connecting separately keeps the greeting
    # reply in our hands.
    smtp._host = host  # type: ignore[attr-defined]
    try:
        with _translated(host=host, port=port, timeout=timeout, stage=stage, what="connect"):
            code, greeting = smtp.connect(host, port)
        if code != 220:
            text = reply_text(greeting)
            raise SmtpError(f"{host}:{port} refused the session: {code} {text}", stage="connect", code=code, text=text)
        _ehlo(smtp, host=host, port=port, timeout=timeout, allow_helo=ssl_mode != STARTTLS)
        if ssl_mode == STARTTLS:
            assert context is not None
            _starttls(smtp, context=context, host=host, port=port, timeout=timeout)
    except BaseException:
        _close_quietly(smtp)
        raise
    return smtp


def _ehlo(smtp: smtplib.SMTP, *, host: str, port: int, timeout: float, allow_helo: bool) -> None:
    with _translated(host=host, port=port, timeout=timeout, stage="during EHLO with", what="connect"):
        code, reply = smtp.ehlo()
        if code == 250:
            return
        if allow_helo:
            code, reply = smtp.helo()
            if code == 250:
                return
    text = reply_text(reply)
    raise SmtpError(f"{host}:{port} refused EHLO: {code} {text}", stage="connect", code=code, text=text)


def _starttls(smtp: smtplib.SMTP, *, context: ssl.SSLContext, host: str, port: int, timeout: float) -> None:
    if not smtp.has_extn("starttls"):
        raise SmtpError("STARTTLS not offered by server", stage="tls", permanent=True)
    with _translated(host=host, port=port, timeout=timeout, stage="during STARTTLS with", what="tls"):
        try:
            smtp.starttls(context=context)
        except smtplib.SMTPResponseException as exc:
            text = reply_text(exc.smtp_error)
            raise SmtpError(
                f"STARTTLS refused by server: {exc.smtp_code} {text}", stage="tls", code=exc.smtp_code, text=text,
                permanent=True,
            ) from None
    if not _is_encrypted(smtp):  # defence in depth: never continue in clear text
        raise SmtpError("STARTTLS did not establish TLS", stage="tls", permanent=True)
    _ehlo(smtp, host=host, port=port, timeout=timeout, allow_helo=False)


# -- authenticating --------------------------------------------------------------


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _auth_mechanisms(smtp: smtplib.SMTP) -> set[str]:
    return set(smtp.esmtp_features.get("auth", "").upper().split())


def smtp_login(
    *,
    smtp: smtplib.SMTP,
    host: str,
    port: int,
    username: str,
    password: str = "",
    oauth_access_token: str = "",
    timeout: float = DEFAULT_TIMEOUT,
) -> bool:
    """AUTH (RFC 4954) when the server offers it; True when authenticated.

    XOAUTH2 when only an OAuth access token is held, else PLAIN when offered,
    else LOGIN. A server without AUTH, or an account without credentials,
    continues unauthenticated (the server decides at MAIL FROM). Raises
    SmtpError (stage "auth") when the server rejects the credentials.
    """
    mechanisms = _auth_mechanisms(smtp)
    if not mechanisms or not (password or oauth_access_token):
        return False
    with _translated(host=host, port=port, timeout=timeout, stage="during login to", what="auth"):
        if oauth_access_token and not password:
            if "XOAUTH2" not in mechanisms:
                raise SmtpError(
                    f"server offers no XOAUTH2 for the OAuth token (offers: {' '.join(sorted(mechanisms))})",
                    stage="auth",
                    permanent=True,
                )
            initial = _b64(f"user={username}\x01auth=Bearer {oauth_access_token}\x01\x01")
            code, reply = smtp.docmd("AUTH", "XOAUTH2 " + initial)
            if code == 334:  # the error details (RFC 7628 §3.2.2); an empty line ends the exchange
                code, reply = smtp.docmd("")
        elif "PLAIN" in mechanisms:
            code, reply = smtp.docmd("AUTH", "PLAIN " + _b64(f"\0{username}\0{password}"))
        elif "LOGIN" in mechanisms:
            code, reply = smtp.docmd("AUTH", "LOGIN")
            if code == 334:
                code, reply = smtp.docmd(_b64(username))
            if code == 334:
                code, reply = smtp.docmd(_b64(password))
        else:
            raise SmtpError(
                f"server offers no AUTH mechanism this proxy supports (offers: {' '.join(sorted(mechanisms))})",
                stage="auth",
                permanent=True,
            )
    if code in (235, 503):  # 503: already authenticated
        return True
    text = reply_text(reply)
    raise SmtpError(f"SMTP login rejected for {username}: {code} {text}", stage="auth", code=code, text=text)


def smtp_open(
    *,
    host: str,
    port: int,
    ssl_mode: int,
    username: str,
    password: str = "",
    oauth_access_token: str = "",
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[smtplib.SMTP, bool]:
    """smtp_connect() then smtp_login(); (connection, authenticated). Closed on failure."""
    smtp = smtp_connect(host=host, port=port, ssl_mode=ssl_mode, timeout=timeout)
    try:
        authenticated = smtp_login(
            smtp=smtp, host=host, port=port, username=username, password=password,
            oauth_access_token=oauth_access_token, timeout=timeout,
        )
    except BaseException:
        _close_quietly(smtp)
        raise
    return smtp, authenticated


def smtp_close(smtp: smtplib.SMTP) -> None:
    """QUIT (RFC 5321 §4.1.1.10) and close; never raises."""
    _close_quietly(smtp)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:
        try:
            smtp.close()
        except Exception:  # noqa: S110 - the connection is already gone; nothing to report
            pass


# -- the transaction ---------------------------------------------------------------


def xtext(value: str) -> str:
    """RFC 3461 §4 xtext: "+", "=", controls, space and non-ASCII as "+HH"."""
    out = []
    for byte in value.encode("utf-8"):
        out.append(chr(byte) if 33 <= byte <= 126 and byte not in (43, 61) else f"+{byte:02X}")
    return "".join(out)


def _address_ok(address: str) -> bool:
    """A path an SMTP command can carry: no spaces, controls or angle brackets."""
    return bool(address) and not any(ch in address for ch in "<> \t\r\n\0") and "@" in address


def _command_checked(line: str) -> str:
    """An SMTP command line built from user data, refused when it could carry a
    second command (RFC 5321 §2.3.8: CRLF ends a command; a bare CR or LF
    is not allowed in one) or a NUL. Addresses and parameters are checked
    before this; this is the last line, so that no future argument can
    forget (smtplib would raise a bare ValueError for CR/LF, and send NUL).
    """
    if any(char in line for char in "\r\n\0"):
        raise SmtpError("an SMTP command would contain CR, LF or NUL (not sent)", stage="mail", permanent=True)
    return line


def _header_block(message: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = message.find(separator)
        if index >= 0:
            return message[:index]
    return message


def message_normalise(message: bytes) -> bytes:
    """CRLF line ends throughout, ending with CRLF (RFC 5321 §2.3.8)."""
    normalised = _LINE_ENDS.sub(b"\r\n", message)
    return normalised if normalised.endswith(b"\r\n") else normalised + b"\r\n"


def _mail_parameters(
    smtp: smtplib.SMTP, *, mail_from: str, recipients: list[str], message: bytes, given: Mapping[str, str | None]
) -> list[str]:
    """ESMTP parameters of MAIL FROM: the caller's, plus SIZE, BODY and SMTPUTF8."""
    params: dict[str, str | None] = {}
    for key, value in given.items():
        if not _PARAM_KEY.fullmatch(key):
            raise SmtpError(f"invalid MAIL FROM parameter name {key!r}", stage="mail", permanent=True)
        params[key.upper()] = value
    addresses_ascii = mail_from.isascii() and all(address.isascii() for address in recipients)
    headers_ascii = _header_block(message).isascii()
    if not (addresses_ascii and headers_ascii):
        if not smtp.has_extn("smtputf8"):
            raise SmtpError(
                "the server does not offer SMTPUTF8, needed for non-ASCII addresses or header fields",
                stage="mail",
                permanent=True,
            )
        params.setdefault("SMTPUTF8", None)
    if not message.isascii():
        if smtp.has_extn("8bitmime"):
            params.setdefault("BODY", "8BITMIME")
        elif "SMTPUTF8" not in params:
            raise SmtpError(
                "the server does not accept 8-bit messages (no 8BITMIME); the message must be 7-bit",
                stage="mail",
                permanent=True,
            )
    if smtp.has_extn("size"):
        params.setdefault("SIZE", str(len(message)))
    return [key if value is None else f"{key}={xtext(value)}" for key, value in params.items()]


def size_limit(smtp: smtplib.SMTP) -> int | None:
    """The server's fixed message size limit (RFC 1870 SIZE), None when it declares none."""
    declared = smtp.esmtp_features.get("size", "").strip()
    return int(declared) if declared.isdigit() and int(declared) > 0 else None


def _size_check(smtp: smtplib.SMTP, *, message: bytes) -> None:
    """Refuse before sending when the server's SIZE (RFC 1870) is too small."""
    limit = size_limit(smtp)
    if limit and len(message) > limit:
        raise SmtpError(
            f"message of {len(message)} octets exceeds the server's limit of {limit}",
            stage="size",
            code=552,
            text=f"5.3.4 message size exceeds fixed maximum message size of {limit}",
            max_size=limit,
        )


def smtp_transaction(
    *,
    smtp: smtplib.SMTP,
    host: str,
    port: int,
    mail_from: str,
    recipients: list[str],
    message: bytes,
    mail_from_params: Mapping[str, str | None] | None = None,
    authenticated: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> SmtpResult:
    """One mail transaction (RFC 5321 §3.3) on an open connection."""
    recipients = list(dict.fromkeys(recipients))
    if not recipients:
        raise SmtpError("no recipients", stage="envelope", permanent=True)
    if mail_from and not _address_ok(mail_from):
        raise SmtpError(f"invalid MAIL FROM address {mail_from!r}", stage="mail", permanent=True)
    message = message_normalise(message)
    _size_check(smtp, message=message)
    params = _mail_parameters(
        smtp, mail_from=mail_from, recipients=recipients, message=message, given=mail_from_params or {}
    )
    # RFC 6531 §3.2: with SMTPUTF8 the commands carry UTF-8.
    smtp.command_encoding = "utf-8" if "SMTPUTF8" in params else "ascii"

    def step(stage: str, what: Stage) -> AbstractContextManager[None]:
        return _translated(host=host, port=port, timeout=timeout, stage=stage, what=what)

    with step("at MAIL FROM to", "mail"):
        code, reply = smtp.docmd("MAIL", _command_checked(f"FROM:<{mail_from}>" + "".join(f" {p}" for p in params)))
    if code != 250:
        text = reply_text(reply)
        raise SmtpError(
            f"MAIL FROM <{mail_from}> rejected: {code} {text}", stage="mail", code=code, text=text,
            max_size=size_limit(smtp),
        )

    outcomes: list[RecipientOutcome] = []
    with step("at RCPT TO to", "rcpt"):
        for address in recipients:
            if not _address_ok(address):
                outcomes.append(RecipientOutcome(address, False, 0, "invalid address syntax (not sent)"))
                continue
            code, reply = smtp.docmd("RCPT", _command_checked(f"TO:<{address}>"))
            outcomes.append(RecipientOutcome(address, code in ACCEPTED_RCPT, code, reply_text(reply)))
    if not any(outcome.accepted for outcome in outcomes):
        rejections = tuple(Rejection(o.address, o.code, o.text) for o in outcomes)
        with step("at RSET to", "rcpt"):
            smtp.rset()
        first = next((r for r in rejections if r.code), rejections[0])
        listing = "; ".join(f"<{r.address}>: {r.code or ''} {r.text}".replace("  ", " ") for r in rejections)
        raise SmtpError(
            f"every recipient was refused: {listing}",
            stage="rcpt",
            code=first.code,
            text=first.text,
            permanent=any(r.permanent or not r.code for r in rejections),
            rejections=rejections,
        )

    with step("at DATA to", "data"):
        try:
            code, data_reply = smtp.data(message)
            text = reply_text(data_reply)
        except smtplib.SMTPDataError as exc:  # DATA itself refused (no 354)
            code, text = exc.smtp_code, reply_text(exc.smtp_error)
    if code != 250:
        raise SmtpError(
            f"message refused at DATA: {code} {text}", stage="data", code=code, text=text, max_size=size_limit(smtp)
        )
    return SmtpResult(
        mail_from=mail_from,
        recipients=tuple(outcomes),
        code=code,
        text=text,
        encrypted=_is_encrypted(smtp),
        authenticated=authenticated,
    )


def account_credentials(*, account: Account) -> tuple[str, str]:
    """(password, OAuth access token) in plaintext; SmtpError when they cannot be read."""
    from accounts.secret_fields import account_secret_get
    from accounts.secrets import CryptoError

    try:
        return (
            account_secret_get(account=account, field="password"),
            account_secret_get(account=account, field="oauth_access_token"),
        )
    except CryptoError as exc:
        raise SmtpError(f"cannot read the stored credentials: {exc}", stage="config", permanent=False) from None


def smtp_send(
    *,
    account: Account,
    mail_from: str,
    recipients: list[str],
    message: bytes,
    mail_from_params: dict[str, str | None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> SmtpResult:
    """Submit `message` to the account's SMTP server for `recipients`.

    `message` is sent as given (line ends normalised to CRLF): callers remove
    Bcc first (backends.smtp.envelope.message_without_bcc). `mail_from` ""
    is the null reverse-path. `mail_from_params` are ESMTP parameters with
    decoded values (RFC 8621 §7 Envelope), xtext-encoded here.

    Returns an SmtpResult when at least one recipient was accepted and the
    server accepted the data; raises SmtpError otherwise.
    """
    password, token = account_credentials(account=account)
    host, port = account.smtp_host, int(account.smtp_port)
    smtp, authenticated = smtp_open(
        host=host,
        port=port,
        ssl_mode=int(account.smtp_ssl),
        username=account.username or account.email,
        password=password,
        oauth_access_token=token,
        timeout=timeout,
    )
    try:
        return smtp_transaction(
            smtp=smtp,
            host=host,
            port=port,
            mail_from=mail_from,
            recipients=recipients,
            message=message,
            mail_from_params=mail_from_params,
            authenticated=authenticated,
            timeout=timeout,
        )
    finally:
        _close_quietly(smtp)
