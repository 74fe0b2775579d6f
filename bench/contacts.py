"""Contacts figures at 5,000 cards (or --cards N), on Radicale and on Xandikos: initial
CardDAV sync, a sync that finds nothing new, ContactCard/query text search, ContactCard/get of 500.

Usage: .venv/bin/python bench/contacts.py [--cards 5000] [--runs 3] [--requests 20]
       [--servers radicale,xandikos]   (make bench-contacts)

Per server:
1. A private server on 127.0.0.1 started as the test suite starts it
   (tests/servers/radicale.py: plain HTTP, sync-collection; xandikos.py: HTTPS
   with a throwaway CA, multi-user). One user whose address book "contacts"
   gets --cards vCards (bench/_contacts_seed.py: the shapes Apple Contacts,
   Google, Nextcloud/DAVx5 and Thunderbird write, 1 % groups), untimed: on
   Xandikos in one git commit of its store (a PUT per card costs it a commit
   each, ever slower as the book grows); on Radicale in one PUT of the whole
   collection (its import path). Then one
   untimed PROPFIND Depth 1 of the home and of the book warms the servers'
   caches (Radicale parses every vCard once after an import).
2. In a child process with a fresh proxy database (bench/_contacts_sync.py):
   the initial sync of that address book by backends.carddav, --runs times
   (a new account each run, so each is a first sync), then syncs that find
   nothing new, with their DAV request and SQL query counts.
3. A real proxy process (runproxy, embedded: SQLite) on that database
   answers over HTTP on one keep-alive connection, after 3 warm-ups, --requests
   times each: ContactCard/query with a `text` filter (a surname the seed
   holds; calculateTotal), and ContactCard/get (all properties) of 500 ids.
Medians are printed, with min and max. Everything started here is stopped on
exit, Ctrl-C or error.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import _contacts_seed  # noqa: E402
from _proxy import start_proxy, wait_ready  # noqa: E402

from tests.servers.radicale import radicale_start  # noqa: E402
from tests.servers.xandikos import xandikos_start  # noqa: E402

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:contacts"]
LOGIN = "bench@example.test"
PASSWORD = "bench-contacts-secret"  # noqa: S105 - a throwaway password of a private test server
GET_COUNT = 500
SEED_CONNECTIONS = 4


def seed_git(*, repository: Path, made: list[tuple[str, str]]) -> tuple[float, int]:
    """Xandikos keeps a collection as a git repository and serves what its HEAD
    holds: the cards are written there and committed once. A PUT per card
    costs Xandikos a commit each, ever slower as the collection grows (about
    75 PUTs a minute at 3,000 cards on a loaded 2-core machine)."""
    from dulwich import porcelain

    start = time.perf_counter()
    paths = []
    for uid, text in made:
        path = repository / _contacts_seed.resource_name(uid)
        path.write_text(text)
        paths.append(str(path))
    porcelain.add(str(repository), paths=paths)
    identity = b"bench <bench@example.test>"
    porcelain.commit(str(repository), message=b"bench seed", author=identity, committer=identity)
    return time.perf_counter() - start, len(made)


def seed(*, kind: str, book_url: str, verify: ssl.SSLContext | bool, count: int,
         repository: Path | None = None) -> tuple[float, int]:
    """Put `count` generated vCards into `book_url`; (seconds, cards written).

    Radicale takes a whole address book in one PUT of the collection (its
    import path; one file per card on disk as for single PUTs), which is much
    faster than a PUT per card; Xandikos gets them in one git commit of its
    store (`repository`, see seed_git), or else a PUT per card."""
    made = _contacts_seed.cards(count)
    if kind == "radicale":
        start = time.perf_counter()
        body = "".join(text for _, text in made).encode()
        with httpx.Client(auth=(LOGIN, PASSWORD), timeout=1800) as client:
            answer = client.put(book_url, content=body, headers={"Content-Type": "text/vcard; charset=utf-8"})
        if answer.status_code not in (201, 204):
            raise RuntimeError(f"PUT {book_url}: {answer.status_code} {answer.text[:300]}")
        return time.perf_counter() - start, len(made)
    if kind == "xandikos" and repository is not None:
        return seed_git(repository=repository, made=made)
    chunks = [made[index::SEED_CONNECTIONS] for index in range(SEED_CONNECTIONS)]

    def put_all(chunk: list[tuple[str, str]]) -> int:
        written = 0
        with httpx.Client(auth=(LOGIN, PASSWORD), verify=verify, timeout=60) as client:
            for uid, text in chunk:
                answer = client.put(book_url + _contacts_seed.resource_name(uid), content=text.encode(),
                                    headers={"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"})
                if answer.status_code not in (201, 204):
                    raise RuntimeError(f"PUT {uid}: {answer.status_code} {answer.text[:300]}")
                written += 1
        return written

    start = time.perf_counter()
    with ThreadPoolExecutor(SEED_CONNECTIONS) as pool:
        written = sum(pool.map(put_all, chunks))
    return time.perf_counter() - start, written


WARM_PROPFIND = b"""<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
  <D:prop><D:getetag/><D:sync-token/><CS:getctag/><D:resourcetype/></D:prop>
</D:propfind>"""


def warm(*, home_url: str, book_url: str, verify: ssl.SSLContext | bool) -> float:
    """One untimed pass over the collection, as the server's own clients would
    have made long before: Radicale builds its per-item cache (it parses every
    vCard once after a bulk import) and both servers compute the collection's
    ETag/sync-token. Returns the seconds it took."""
    start = time.perf_counter()
    with httpx.Client(auth=(LOGIN, PASSWORD), verify=verify, timeout=1800) as client:
        for url in (home_url, book_url):
            answer = client.request("PROPFIND", url, content=WARM_PROPFIND,
                                    headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
            if answer.status_code != 207:
                raise RuntimeError(f"PROPFIND {url}: {answer.status_code} {answer.text[:300]}")
    return time.perf_counter() - start


def sync_child(*, url: str, datadir: Path, ca_file: str, runs: int) -> dict[str, Any]:
    env = dict(os.environ, JMAP_DATADIR=str(datadir), DJANGO_SETTINGS_MODULE="jmapsite.settings",
               JMAP_LOG_LEVEL="WARNING", JMAP_TLS_CA_FILE=ca_file)  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(BENCH / "_contacts_sync.py"), url, LOGIN, PASSWORD, "--runs", str(runs), "--noop", "3"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=True, timeout=3600,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class Jmap:
    """A JMAP client over one keep-alive connection."""

    def __init__(self, *, base_url: str, login: str, password: str, account_id: str) -> None:
        self.http = httpx.Client(auth=(login, password), timeout=120)
        session = self.http.get(base_url + "/.well-known/jmap", follow_redirects=True)
        session.raise_for_status()
        api = session.json()["apiUrl"]
        self.api_url = base_url + api if api.startswith("/") else api
        self.account_id = account_id

    def call(self, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], int]:
        body = {"using": USING, "methodCalls": [[name, {"accountId": self.account_id, **arguments}, "0"]]}
        answer = self.http.post(self.api_url, json=body)
        answer.raise_for_status()
        [[response_name, result, _]] = answer.json()["methodResponses"]
        if response_name != name:
            raise RuntimeError(f"{name}: {result}")
        return result, len(answer.content)


def timed(call: Any, *, requests: int) -> list[float]:
    for _ in range(3):
        call()
    seconds: list[float] = []
    for _ in range(requests):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


def http_figures(*, datadir: Path, ca_file: str, sync: dict[str, Any], requests: int) -> dict[str, Any]:
    proxy = start_proxy(datadir, JMAP_TLS_CA_FILE=ca_file, JMAP_SYNC_INTERVAL="3600", JMAP_LOG_LEVEL="WARNING")
    try:
        try:
            wait_ready(proxy)
        except RuntimeError:
            print(proxy.log.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        client = Jmap(base_url=proxy.jmap_url, login=sync["login"], password=sync["password"],
                      account_id=sync["accountid"])  # fmt: skip
        query = {"filter": {"text": _contacts_seed.SEARCH_WORD}, "calculateTotal": True, "limit": 100}
        found, _ = client.call("ContactCard/query", query)
        text_seconds = timed(lambda: client.call("ContactCard/query", query), requests=requests)
        ids = client.call("ContactCard/query", {"limit": GET_COUNT})[0]["ids"]
        got, size = client.call("ContactCard/get", {"ids": ids})
        get_seconds = timed(lambda: client.call("ContactCard/get", {"ids": ids}), requests=requests)
        return {"text_total": found.get("total"), "text": text_seconds, "get_count": len(got["list"]),
                "get_bytes": size, "get": get_seconds}  # fmt: skip
    finally:
        proxy.stop()


def spread(values: list[float], *, scale: float = 1.0, unit: str = "s", digits: int = 2) -> str:
    scaled = [value * scale for value in values]
    return (f"median {statistics.median(scaled):.{digits}f} {unit} "
            f"(min {min(scaled):.{digits}f}, max {max(scaled):.{digits}f}, n={len(scaled)})")  # fmt: skip


def one_server(kind: str, *, cards: int, runs: int, requests: int) -> None:
    directory = Path(tempfile.mkdtemp(prefix=f"jmap-bench-contacts-{kind}-"))
    server: Any = None
    datadir = Path(tempfile.mkdtemp(prefix=f"jmap-bench-contacts-data-{kind}-"))
    try:
        server = radicale_start(directory) if kind == "radicale" else xandikos_start(directory)
        user = server.user(LOGIN, PASSWORD)
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=server.ca_file) if server.ca_file else True
        # Xandikos's store: <data>/<the collection's URL path>, a git repository.
        repository = directory / "data" / unquote(urlsplit(user.addressbook_url).path).strip("/")
        seeded_s, written = seed(kind=kind, book_url=user.addressbook_url, verify=verify, count=cards,
                                 repository=repository if kind == "xandikos" else None)  # fmt: skip
        expected = sum(_contacts_seed.SEARCH_WORD in text for _, text in _contacts_seed.cards(cards))
        home = user.addressbook_url.rstrip("/").rsplit("/", 1)[0] + "/"
        warmed_s = warm(home_url=home, book_url=user.addressbook_url, verify=verify)
        print(f"\n== {kind} ({server.base_url}): {written} vCards stored in {seeded_s:.1f} s, "
              f"server caches warmed in {warmed_s:.1f} s (both untimed)")
        sync = sync_child(url=user.carddav_url, datadir=datadir, ca_file=server.ca_file, runs=runs)
        print(f"initial sync of {sync['cards']} cards in {sync['books']} address book(s): "
              f"{spread(sync['initial'])}; DAV requests per run {sync['initial_requests']}; "
              f"parse problems {sync['parse_problems']}")  # fmt: skip
        noop = sync["noop"]
        print(f"sync finding nothing new: {spread([item['seconds'] for item in noop], scale=1000, unit='ms', digits=1)}"
              f"; DAV requests {[item['requests'] for item in noop]}, SQL queries "
              f"{[item['queries'] for item in noop]}")  # fmt: skip
        figures = http_figures(datadir=datadir, ca_file=server.ca_file, sync=sync, requests=requests)
        print(f"ContactCard/query text={_contacts_seed.SEARCH_WORD!r} (total {figures['text_total']}, "
              f"{expected} cards hold the surname): {spread(figures['text'], scale=1000, unit='ms', digits=1)}")
        print(f"ContactCard/get of {figures['get_count']} (all properties, {figures['get_bytes'] / 1024:.0f} KiB): "
              f"{spread(figures['get'], scale=1000, unit='ms', digits=1)}")  # fmt: skip
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(datadir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--servers", default="radicale,xandikos")
    opts = parser.parse_args()
    print(f"contacts benchmark: {opts.cards} cards, {opts.runs} sync runs, {opts.requests} requests per figure; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    for kind in opts.servers.split(","):
        one_server(kind.strip(), cards=opts.cards, runs=opts.runs, requests=opts.requests)


if __name__ == "__main__":
    main()
