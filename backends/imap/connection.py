"""Opening and authenticating IMAP connections (RFC 3501, RFC 8314).

imap_connect() honours the account's SSL mode (accounts.models.SslMode):

- 0 and 1: plain TCP, no encryption;
- 2: TLS from the first byte (implicit TLS, RFC 8314 §3.2, usually port 993);
- 3: plain TCP upgraded with STARTTLS (RFC 3501 §6.2.1) before anything else is
  sent. The upgrade is mandatory: a server that does not offer STARTTLS is an
  error, never a silent fall back to plain text.

imap_login() authenticates with AUTHENTICATE PLAIN (RFC 4616) when the server
advertises AUTH=PLAIN, else with LOGIN; accounts holding only an OAuth access
token use AUTHENTICATE XOAUTH2.

Every failure is a backends.base.BackendError whose message names the cause in
terms an operator can act on ("connection refused to 127.0.0.1:1143", "TLS
handshake failed: ...", "IMAP login rejected for alice@...: [AUTHENTICATIONFAILED]
..."). `permanent` is False only when retrying later may help (timeouts,
refused or dropped connections). Passwords never appear in messages or logs.
"""
from __future__ import annotations

import ast
import imaplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from backends.base import BackendError
from backends.tls import tls_client_context

KIND = "imap"
DEFAULT_TIMEOUT = 10.0
PLAIN_MODES = frozenset({0, 1})
IMPLICIT_TLS = 2
STARTTLS = 3
SSL_MODES = frozenset({0, 1, 2, 3})


def _seconds(timeout: float) -> str:
    return f"{timeout:g}s"


def server_text(exc: BaseException) -> str:
    """The server's own words from an imaplib/IMAPClient error.

    imaplib formats responses as bytes reprs (``b'[AUTHENTICATIONFAILED] ...'``);
    this returns the decoded text without the repr quoting.
    """
    text = str(exc).strip()
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace").strip()
    return text


def tls_error_text(exc: ssl.SSLError) -> str:
    """A short description of why a TLS handshake failed."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason).replace("_", " ").lower()
    return str(exc)


def _connect_error(exc: OSError, *, host: str, port: int, timeout: float, stage: str) -> BackendError:
    """Translate a socket-level failure into a BackendError."""
    where = f"{host}:{port}"
    if isinstance(exc, ssl.SSLError):
        return BackendError(f"TLS handshake failed: {tls_error_text(exc)}", permanent=True, kind=KIND)
    if isinstance(exc, TimeoutError | socket.timeout):
        return BackendError(f"timed out after {_seconds(timeout)} {stage} {where}", permanent=False, kind=KIND)
    if isinstance(exc, ConnectionRefusedError):
        return BackendError(f"connection refused to {where}", permanent=False, kind=KIND)
    if isinstance(exc, socket.gaierror):
        return BackendError(f"cannot resolve host {host!r}: {exc.strerror}", permanent=True, kind=KIND)
    if isinstance(exc, ConnectionResetError | BrokenPipeError | EOFError):
        return BackendError(f"connection to {where} closed by the server {stage}", permanent=False, kind=KIND)
    return BackendError(f"cannot connect to {where}: {exc.strerror or exc}", permanent=False, kind=KIND)


@contextmanager
def _translated(*, host: str, port: int, timeout: float, stage: str) -> Iterator[None]:
    """Turn the exceptions of one connection stage into BackendError."""
    try:
        yield
    except BackendError:
        raise
    except OSError as exc:
        raise _connect_error(exc, host=host, port=port, timeout=timeout, stage=stage) from None
    except IMAPClientAbortError as exc:
        text = server_text(exc)
        if "timed out" in text or "timeout" in text:
            raise BackendError(
                f"timed out after {_seconds(timeout)} {stage} {host}:{port}", permanent=False, kind=KIND
            ) from None
        raise BackendError(
            f"connection to {host}:{port} dropped {stage}: {text}", permanent=False, kind=KIND
        ) from None
    except imaplib.IMAP4.error as exc:
        # Typically the greeting was not "* OK" / "* PREAUTH": not an IMAP server.
        raise BackendError(
            f"{host}:{port} did not answer as an IMAP server: {server_text(exc)}", permanent=True, kind=KIND
        ) from None


def imap_connect(*, host: str, port: int, ssl_mode: int, timeout: float = DEFAULT_TIMEOUT) -> IMAPClient:
    """An IMAPClient connected (not logged in) with the requested protection.

    With ssl_mode 3 the returned connection has completed STARTTLS, so its
    socket (client.socket()) is an ssl.SSLSocket just as with mode 2.
    Raises BackendError.
    """
    if ssl_mode not in SSL_MODES:
        raise BackendError(f"unknown SSL mode {ssl_mode!r} (use 0, 1, 2 or 3)", permanent=True, kind=KIND)
    if not host:
        raise BackendError("no IMAP host configured", permanent=True, kind=KIND)
    context = tls_client_context() if ssl_mode in (IMPLICIT_TLS, STARTTLS) else None
    stage = "during the TLS handshake with" if ssl_mode == IMPLICIT_TLS else "waiting for the greeting of"
    with _translated(host=host, port=port, timeout=timeout, stage=stage):
        client = IMAPClient(
            host, port=port, ssl=ssl_mode == IMPLICIT_TLS, ssl_context=context, timeout=timeout
        )
    if ssl_mode == STARTTLS:
        try:
            _starttls(client, context=context, host=host, port=port, timeout=timeout)  # type: ignore[arg-type]
        except BaseException:
            _close_quietly(client)
            raise
    return client


def _starttls(client: IMAPClient, *, context: ssl.SSLContext, host: str, port: int, timeout: float) -> None:
    with _translated(host=host, port=port, timeout=timeout, stage="during STARTTLS with"):
        capabilities = client.capabilities()
        if b"STARTTLS" not in capabilities:
            raise BackendError("STARTTLS not offered by server", permanent=True, kind=KIND)
        try:
            client.starttls(ssl_context=context)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise BackendError(f"STARTTLS refused by server: {server_text(exc)}", permanent=True, kind=KIND) from None
    if not isinstance(client.socket(), ssl.SSLSocket):  # defence in depth: never continue in clear text
        raise BackendError("STARTTLS did not establish TLS", permanent=True, kind=KIND)


def _is_encrypted(client: IMAPClient) -> bool:
    return isinstance(client.socket(), ssl.SSLSocket)


def imap_login(
    *,
    client: IMAPClient,
    username: str,
    password: str = "",
    oauth_access_token: str = "",
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Authenticate `client` as `username`.

    Uses XOAUTH2 when only an OAuth access token is given; otherwise
    AUTHENTICATE PLAIN when advertised (it carries any UTF-8 password, LOGIN's
    quoting does not), else LOGIN. Raises BackendError (permanent) when the
    server rejects the credentials.
    """
    host, port = str(client.host), int(client.port or 0)
    with _translated(host=host, port=port, timeout=timeout, stage="during login to"):
        capabilities = client.capabilities()
        if not password and not oauth_access_token:
            raise BackendError(f"no password stored for {username}", permanent=True, kind=KIND)
        if b"LOGINDISABLED" in capabilities and not _is_encrypted(client) and not oauth_access_token:
            raise BackendError(
                "server refuses logins on unencrypted connections (LOGINDISABLED); use imapSSL 2 or 3",
                permanent=True,
                kind=KIND,
            )
        try:
            if oauth_access_token and not password:
                client.oauth2_login(username, oauth_access_token)
            elif b"AUTH=PLAIN" in capabilities:
                client.plain_login(username, password)
            else:
                client.login(username, password)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise BackendError(
                f"IMAP login rejected for {username}: {server_text(exc)}", permanent=True, kind=KIND
            ) from None


def imap_open(
    *,
    host: str,
    port: int,
    ssl_mode: int,
    username: str,
    password: str = "",
    oauth_access_token: str = "",
    timeout: float = DEFAULT_TIMEOUT,
) -> IMAPClient:
    """imap_connect() then imap_login(); the connection is closed on failure."""
    client = imap_connect(host=host, port=port, ssl_mode=ssl_mode, timeout=timeout)
    try:
        imap_login(
            client=client, username=username, password=password, oauth_access_token=oauth_access_token,
            timeout=timeout,
        )
    except BaseException:
        _close_quietly(client)
        raise
    return client


def imap_close(client: IMAPClient) -> None:
    """LOGOUT (RFC 3501 §6.1.3) and close; never raises."""
    _close_quietly(client)


def _close_quietly(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:  # noqa: S110 - the connection is already gone; nothing to report
            pass
