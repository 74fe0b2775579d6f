"""The management token: configured, or generated at the first start.

The management port must never be open to whoever can reach it. On loopback
(the default bind address 127.0.0.1) the operator's own machine may use it
without credentials (accounts.mgmt_auth: JMAP_MGMT_ALLOW plus the Host check);
as soon as it listens beyond loopback -- the Docker image binds 0.0.0.0 so that
a published port reaches it -- a bearer token is required. When JMAP_MGMT_TOKEN
is not set, one is generated once into ``$JMAP_DATADIR/mgmt-token`` (mode 0600,
created exclusively, so processes starting together agree on one token) and
every later start reads it back. The token itself is never printed or logged;
the console says which file holds it (runproxy).

A token file, once there, is used whatever the bind address: it exists only
because the port was exposed once, and dropping it silently would reopen the
API without credentials.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
import time
from pathlib import Path

MGMT_TOKEN_FILENAME = "mgmt-token"  # noqa: S105 - a file name, not a secret


def mgmt_token_file(*, datadir: Path) -> Path:
    return datadir / MGMT_TOKEN_FILENAME


def mgmt_host_is_loopback(host: str) -> bool:
    """True when the management bind address reaches only this machine."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a name or a wildcard (0.0.0.0, ::): beyond loopback


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def _generate(path: Path) -> None:
    """Write a fresh token to `path` unless some process already did (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")


def mgmt_token_resolve(*, configured: str, datadir: Path, mgmt_host: str) -> str:
    """The token the management API requires, or "" for none.

    `configured` (JMAP_MGMT_TOKEN) wins; else the token file's content; else,
    when `mgmt_host` is not a loopback address, a token generated into the
    file now. "" only for a loopback bind without any token.
    """
    if configured:
        return configured
    path = mgmt_token_file(datadir=datadir)
    token = _read(path)
    if token or mgmt_host_is_loopback(mgmt_host):
        return token
    _generate(path)
    # Read back: a process that lost the O_EXCL race reads the winner's token
    # (it is written right after creation; wait briefly for a partial file).
    for _ in range(50):
        token = _read(path)
        if token:
            return token
        time.sleep(0.02)
    raise SystemExit(f"cannot read the management token from {path}")


def mgmt_token_notice(*, configured: str, datadir: Path) -> str | None:
    """The console line saying where the token is, when it comes from the file.

    Names the file, never the token.
    """
    path = mgmt_token_file(datadir=datadir)
    if configured or not _read(path):
        return None
    return (
        f"Management API and /metrics require the bearer token in {path} "
        "(generated at the first start; set JMAP_MGMT_TOKEN to choose your own)."
    )
