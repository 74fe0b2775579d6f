"""A DAV server that names other hosts never gets the account's credentials
sent there: a current-user-principal on another host in the clear, an address
book listed outside the home set (also under a root home), and a PUT answered
with a Location elsewhere. The hostile server is a real HTTP server on
127.0.0.1 that answers what mallory would; a second one records whatever
reaches it."""
from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from backends.base import BackendError
from backends.caldav.discovery import caldav_locate
from backends.carddav.discovery import books_list, carddav_locate
from backends.carddav.writes import carddav_book_create, carddav_card_move, carddav_card_put
from backends.dav.client import DavClient
from backends.dav.errors import DavConflict
from jmapcore.models.contacts import AddressBook
from tests.personas import make_persona

Answer = Callable[[str, str], tuple[int, dict[str, str], str]]


@dataclass
class Peer:
    """One HTTP server on 127.0.0.1 answering with `answer(method, path)`."""

    answer: Answer
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    server: Any = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def _handler(peer: Peer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _any(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            peer.seen.append((self.command, self.path, self.headers.get("authorization")))
            status, headers, body = peer.answer(self.command, self.path)
            data = body.encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/xml", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_PROPFIND = do_REPORT = do_PUT = do_GET = do_MOVE = do_MKCOL = do_PROPPATCH = do_DELETE = _any

    return Handler


@pytest.fixture
def peers() -> Iterator[Callable[[Answer], Peer]]:
    started: list[Peer] = []

    def start(answer: Answer) -> Peer:
        peer = Peer(answer=answer)
        peer.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(peer))
        threading.Thread(target=peer.server.serve_forever, daemon=True).start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.server.shutdown()
        peer.server.server_close()


def _multistatus(*responses: tuple[str, str]) -> str:
    parts = "".join(
        f"<D:response><D:href>{href}</D:href><D:propstat><D:prop>{props}</D:prop>"
        "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
        for href, props in responses
    )
    return ('<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
            f"{parts}</D:multistatus>")


def _nothing(method: str, path: str) -> tuple[int, dict[str, str], str]:
    return 207, {}, _multistatus((path, "<D:resourcetype/>"))


@dataclass
class StartAt:
    carddav_url: str
    caldav_url: str
    imap_host: str = ""
    email: str = "alice@example.test"


@pytest.mark.parametrize("locate", [carddav_locate, caldav_locate], ids=["carddav", "caldav"])
def test_a_principal_on_another_host_in_the_clear_is_refused(
    peers: Callable[[Answer], Peer], locate: Callable[..., Any]
) -> None:
    elsewhere = peers(_nothing)
    principal = f"<D:current-user-principal><D:href>{elsewhere.origin}/steal/</D:href></D:current-user-principal>"
    mallory = peers(lambda method, path: (207, {}, _multistatus((path, principal))))
    account = StartAt(carddav_url=mallory.origin + "/dav/", caldav_url=mallory.origin + "/dav/")
    with DavClient(username="alice", password="alice-secret") as client, pytest.raises(BackendError) as raised:
        locate(client=client, account=account)
    assert "another host without TLS" in str(raised.value)
    assert elsewhere.seen == []
    assert mallory.seen and all(auth is not None for _, _, auth in mallory.seen)


@pytest.mark.parametrize("home_path", ["/", "/alice/"])
def test_books_outside_the_home_are_not_listed(peers: Callable[[Answer], Peer], home_path: str) -> None:
    book = "<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>"
    origin_holder: list[str] = []

    def listing(method: str, path: str) -> tuple[int, dict[str, str], str]:
        origin = origin_holder[0]
        return 207, {}, _multistatus(
            (path, "<D:resourcetype><D:collection/></D:resourcetype>"),
            (f"{origin}.evil.test/book/", book),  # a host that only starts like the home's
            ("http://127.0.0.1:9/book/", book),  # another port
            (f"{home_path}../other/book/", book),  # above the home
            (f"{home_path}mine/", book),
        )

    mallory = peers(listing)
    origin_holder.append(mallory.origin)
    with DavClient(username="alice", password="alice-secret") as client:
        books = books_list(client=client, homes=[mallory.origin + home_path])
    hrefs = [info.href for info in books]
    if home_path == "/":
        # "/../other/book/" is "/other/book/": still inside a root home, on mallory's own origin.
        assert sorted(hrefs) == [mallory.origin + "/mine/", mallory.origin + "/other/book/"]
    else:
        assert hrefs == [mallory.origin + "/alice/mine/"]


def test_a_location_elsewhere_is_not_followed(peers: Callable[[Answer], Peer], db: None) -> None:
    # The carddav conftest's alice is an account on a real DAV server; this one is on mallory's.
    alice = make_persona("alice")
    elsewhere = peers(_nothing)

    def put(method: str, path: str) -> tuple[int, dict[str, str], str]:
        if method == "PUT":
            return 201, {"Location": f"{elsewhere.origin}/x.vcf", "ETag": '"e1"'}, ""
        return _nothing(method, path)

    server = peers(put)
    book = AddressBook.objects.create(account=alice.account, jmap_id="abook", created_modseq=1, updated_modseq=1,
                                      name="Contacts", dav_href=server.origin + "/alice/contacts/")  # fmt: skip
    card = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:Bob\r\nEND:VCARD\r\n"
    result = carddav_card_put(account=alice.account, book=book, vcard_text=card)
    assert result.href.startswith(server.origin + "/alice/contacts/")
    assert elsewhere.seen == []


def _book_on(server: Peer, owner: Any) -> AddressBook:
    return AddressBook.objects.create(account=owner.account, jmap_id="a" + secrets.token_hex(4), created_modseq=1,
                                      updated_modseq=1, name="Contacts", dav_href=server.origin + "/alice/contacts/")


def test_a_move_without_move_or_etag_changes_nothing(peers: Callable[[Answer], Peer], db: None) -> None:
    """A server without MOVE (405) whose GET gives no ETag: the PUT+DELETE fallback
    could not make its DELETE conditional, so nothing is written at all."""
    def answer(method: str, path: str) -> tuple[int, dict[str, str], str]:
        if method == "MOVE":
            return 405, {}, ""
        if method == "GET":
            return 200, {"Content-Type": "text/vcard"}, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob\r\nEND:VCARD\r\n"
        return _nothing(method, path)

    server = peers(answer)
    alice = make_persona("alice")
    source, target = _book_on(server, alice), _book_on(server, alice)
    target.dav_href = server.origin + "/alice/work/"
    target.save()
    with pytest.raises(DavConflict):
        carddav_card_move(account=alice.account, href=source.dav_href + "bob.vcf", etag=None, book=target)
    assert [method for method, _, _ in server.seen if method in ("PUT", "DELETE")] == []


def test_a_book_whose_create_fails_half_way_is_removed_again(peers: Callable[[Answer], Peer], db: None) -> None:
    """MKCOL succeeds, the PROPPATCH of its description fails: the new collection
    is deleted again, so the refused create leaves nothing on the server."""
    def answer(method: str, path: str) -> tuple[int, dict[str, str], str]:
        if method == "MKCOL":
            return 201, {}, ""
        if method == "PROPPATCH":
            return 500, {}, ""
        if method == "DELETE":
            return 204, {}, ""
        return _nothing(method, path)

    server = peers(answer)
    alice = make_persona("alice")
    alice.account.carddav_url = server.origin + "/alice/"
    alice.account.sync_progress = {"carddav": {"homes": [server.origin + "/alice/"]}}
    alice.account.save()
    with pytest.raises(BackendError):
        carddav_book_create(account=alice.account, name="Work", description="the work book")
    made = [path for method, path, _ in server.seen if method == "MKCOL"]
    assert len(made) == 1 and ("DELETE", made[0]) in [(method, path) for method, path, _ in server.seen]
