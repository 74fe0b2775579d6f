"""Fixtures of the CardDAV backend tests: every test runs against both real
servers the suite starts (Radicale and Xandikos), and counts the requests the
proxy sends (backends.dav.client.DAV_REQUEST_OBSERVERS)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Account
from backends.dav.client import DAV_REQUEST_OBSERVERS
from tests.backends.carddav.dav_people import DavServer, carddav_account


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> DavServer:
    """Radicale, then Xandikos (with backend connections trusting its CA)."""
    server: DavServer = request.getfixturevalue(request.param)
    return server


@pytest.fixture
def alice(db: None, dav_server: DavServer) -> Account:
    """Alice's IMAP+CardDAV account with a fresh user (address book "contacts") on the server."""
    return carddav_account(server=dav_server, persona="alice")


class RequestLog:
    """(method, URL) of every request the proxy's DAV client sent while recording."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def __call__(self, method: str, url: str) -> None:
        self.requests.append((method, url))

    def clear(self) -> None:
        self.requests.clear()

    def __len__(self) -> int:
        return len(self.requests)


@pytest.fixture
def dav_requests() -> Iterator[RequestLog]:
    log = RequestLog()
    DAV_REQUEST_OBSERVERS.append(log)
    try:
        yield log
    finally:
        DAV_REQUEST_OBSERVERS.remove(log)


def vcard(uid: str, name: str, *, email: str = "", version: str = "3.0", extra: str = "") -> str:
    """A small vCard as another CardDAV client would PUT it."""
    lines = ["BEGIN:VCARD", f"VERSION:{version}", f"UID:{uid}", f"FN:{name}", f"N:{name};;;;"]
    if email:
        lines.append(f"EMAIL;TYPE=INTERNET:{email}")
    if extra:
        lines.extend(extra.strip().splitlines())
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def other_client(server: Any, account: Account) -> Any:
    """A plain httpx client of the account's DAV user: "another CardDAV client"."""
    import ssl

    import httpx

    user = account.dav_user  # type: ignore[attr-defined]
    verify = ssl.create_default_context(cafile=server.ca_file) if server.ca_file else True
    return httpx.Client(auth=(user.login, user.password), timeout=10, verify=verify)
