"""Bringing an account's contacts cache up to date with its CardDAV server.

carddav_account_sync() (DESIGN.md "Sync"; issue 10 item 1):

1. The address books: the home sets found by discovery are kept in
   account.sync_progress["carddav"] ("principal", "homes", and "url" when
   discovery found the service from the host), so a later sync starts with one
   PROPFIND Depth 1 per home set, which lists every book with its sync-token
   and CTag. A home set that is gone (404/403) means discovery runs again.
2. A book whose sync-token (else CTag) equals the one stored at the last sync
   costs nothing more: a sync that finds nothing new is one request per home
   set, never more than one per address book.
3. A changed book: sync-collection (RFC 6578 §3.2) from the stored token where
   the server offers it (a token it no longer accepts, RFC 6578 §3.8
   valid-sync-token, means a full listing); else PROPFIND Depth 1 getetag and a
   comparison with the cached ETags. A truncated sync-collection (507 on the
   collection, RFC 6578 §3.6) is continued from the token it returned.
   Resources whose ETag equals the cached one are not fetched (a write by this
   proxy is already in the cache).
4. The cache, each step in state_change_atomic (so a push StateChange follows
   the commit): books created/updated first; then the changed cards of every
   book, fetched with addressbook-multiget (RFC 6352 §8.7) MULTIGET_BATCH at a
   time and committed batch by batch (a large first sync shows up as it goes,
   its count in sync_progress["carddav"]: "state", "cards", "total"), each
   matched by href, else, for a card another client moved, by UID among the
   cards whose href vanished in this sync (their id stays); then the removals
   become tombstones; then each book's new token is stored, last, so a sync
   that fails half way repeats the work instead of skipping it (the cards it
   committed are matched by href again, keeping their ids).
   Books no longer on the server become tombstones with their cards.
   A card row that a JMAP write changed after this sync listed its book is
   left alone: the write saw a newer state of the server than the listing.
   The account's sync lock is renewed between batches; a lost lock stops the
   sync (a transient BackendError) rather than racing the sync that took it.

Ids are never reused: a new card or book gets a fresh jmap_id_new id.
Broken vCards are cached with what could be read (backends.carddav.cards)
and listed in sync_progress["carddav"]["parseProblems"] (href and problems,
at most PARSE_PROBLEMS_KEPT) with ["parseProblemCount"].

carddav_book_sync() does steps 2-4 for one book (after a 412 on a write);
a book that answers 404 becomes a tombstone with its cards.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accounts.models import Account
from backends.carddav.cards import card_columns
from backends.carddav.davxml import CARDDAV, DAV, multiget_body, qname, sync_collection_body
from backends.carddav.discovery import BOOK_PROPS, BookInfo, book_info, books_list, carddav_locate
from backends.carddav.progress import carddav_progress, carddav_progress_update
from backends.dav.client import DavClient, etag_normalise
from backends.dav.errors import DavRefused, DavTooLarge, dav_permanent, dav_transient
from backends.dav.hrefs import url_collection, url_member, url_path
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.contacts import AddressBook, ContactCard
from jmapcore.state import state_change_atomic

log = logging.getLogger("jmap.sync.carddav")

MULTIGET_BATCH = 100
# Rows written per transaction while applying fetched cards.
APPLY_BATCH = 500
# A server that truncates sync-collection forever must not hold the sync.
SYNC_COLLECTION_ROUNDS = 100
PARSE_PROBLEMS_KEPT = 50

BOOK_TYPE = "AddressBook"
CARD_TYPE = "ContactCard"


@dataclass
class FetchedCard:
    href: str
    etag: str
    text: str


@dataclass
class BookWork:
    """What one book's sync found on the server, before the cache changes."""

    row: AddressBook
    info: BookInfo
    # The hrefs to fetch (new or changed ETag), in multiget order.
    wanted: list[str] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    # The cached hrefs of the book when the work was listed.
    cached: set[str] = field(default_factory=set)
    # The account's modseq just before the listing: a row changed after it was
    # written by someone else (a JMAP write) from a newer state of the server,
    # so this sync leaves it alone (the next one reconciles it).
    listed_at: int = 0
    sync_token: str = ""
    ctag: str = ""


# -- the server side ----------------------------------------------------------

def _cached_etags(book: AddressBook) -> dict[str, str]:
    if book.pk is None:
        return {}
    return dict(ContactCard.objects.filter(address_book=book, destroyed=False).values_list("dav_href", "dav_etag"))


def _sync_collection(client: DavClient, info: BookInfo, token: str) -> tuple[dict[str, str], set[str], str, bool]:
    """(href -> etag changed, hrefs removed, new token, full listing?) by RFC 6578."""
    changed: dict[str, str] = {}
    removed: set[str] = set()
    full = not token
    for _ in range(SYNC_COLLECTION_ROUNDS):
        try:
            answer = client.report(info.href, body=sync_collection_body(token=token, props=[(DAV, "getetag")]))
        except DavRefused as refused:
            # RFC 6578 §3.8: the server forgot the token; start over with a full listing.
            if token and (refused.precondition == "valid-sync-token" or refused.status in (403, 409)):
                log.info("sync-token of %s refused (%s); full resync", url_path(info.href), refused.status)
                token, full = "", True
                changed.clear()
                removed.clear()
                continue
            raise
        truncated = False
        for response in answer.responses:
            if url_collection(response.href) == info.href:
                truncated = truncated or response.status == 507
                continue
            if not url_member(response.href, info.href):
                continue
            if response.found:
                changed[response.href] = etag_normalise(response.text(qname(DAV, "getetag")))
                removed.discard(response.href)
            else:
                removed.add(response.href)
                changed.pop(response.href, None)
        if not answer.sync_token:
            raise dav_permanent(f"REPORT {url_path(info.href)}: sync-collection answer without a sync-token")
        token = answer.sync_token
        if not truncated:
            return changed, removed, token, full
    raise dav_permanent(f"REPORT {url_path(info.href)}: sync-collection still truncated after "
                        f"{SYNC_COLLECTION_ROUNDS} rounds")


def _etag_listing(client: DavClient, info: BookInfo) -> dict[str, str]:
    """Every member of the book with its ETag (PROPFIND Depth 1)."""
    listing = client.propfind(info.href, depth="1", props=[(DAV, "getetag"), (DAV, "resourcetype")])
    return {response.href: etag_normalise(response.text(qname(DAV, "getetag")))
            for response in listing.responses
            if response.found and url_member(response.href, info.href)
            and qname(DAV, "collection") not in response.children(qname(DAV, "resourcetype"))}


def cards_multiget(client: DavClient, *, book_href: str, hrefs: list[str]) -> tuple[list[FetchedCard], set[str]]:
    """The vCards at `hrefs` (addressbook-multiget in batches) and the hrefs the server no longer has.

    A batch whose answer passes the client's size cap (cards with large photos)
    is asked for again in halves; a single card larger than the cap is left out
    (logged) rather than stopping every later sync."""
    fetched: list[FetchedCard] = []
    missing: set[str] = set()
    pending = [hrefs[start:start + MULTIGET_BATCH] for start in range(0, len(hrefs), MULTIGET_BATCH)]
    while pending:
        batch = pending.pop(0)
        try:
            answer = client.report(book_href, body=multiget_body(paths=[url_path(href) for href in batch]))
        except DavTooLarge:
            if len(batch) == 1:
                log.warning("vCard %s is larger than %s bytes; not cached", batch[0], client.max_bytes)
                continue
            half = len(batch) // 2
            pending[:0] = [batch[:half], batch[half:]]
            continue
        seen: set[str] = set()
        for response in answer.responses:
            if not url_member(response.href, book_href):
                continue
            seen.add(response.href)
            data = response.props.get(qname(CARDDAV, "address-data"))
            if not response.found or data is None:
                missing.add(response.href)
                continue
            text = "".join(data.itertext())
            fetched.append(FetchedCard(href=response.href, etag=etag_normalise(response.text(qname(DAV, "getetag"))),
                                       text=text))
        # A server that skips an href it does not have (instead of a 404 response) still lost it.
        missing.update(href for href in batch if href not in seen)
    return fetched, missing


def book_work(client: DavClient, *, row: AddressBook, info: BookInfo, use_sync_collection: bool = True) -> BookWork:
    """What changed in one book since the last sync (step 3 of the module doc),
    without the cards themselves: works_apply fetches them batch by batch."""
    listed_at = Account.objects.filter(pk=row.account_id).values_list("modseq", flat=True).first() or 0
    work = BookWork(row=row, info=info, ctag=info.ctag, listed_at=listed_at)
    cached = _cached_etags(row)
    if info.sync_collection and use_sync_collection:
        changed, removed, work.sync_token, full = _sync_collection(client, info, row.dav_sync_token if row.pk else "")
        if full:
            removed |= set(cached) - set(changed)
    else:
        changed = _etag_listing(client, info)
        removed = set(cached) - set(changed)
        work.sync_token = ""
    work.wanted = sorted(href for href, etag in changed.items() if not etag or cached.get(href) != etag)
    work.cached = set(cached)
    work.removed = {href for href in removed if href in cached}
    return work


# -- the cache side ------------------------------------------------------------

def _book_values(info: BookInfo) -> dict[str, Any]:
    return {"name": info.name[:255], "description": info.description, "dav_privileges": info.privileges,
            "vcard_version": info.vcard_version}


def books_apply(*, account: Account, infos: list[BookInfo], rows: dict[str, AddressBook],
                gone: list[AddressBook]) -> None:
    """Create the new books, update changed ones, tombstone the gone ones with their cards."""
    new = [info for info in infos if info.href not in rows]
    changed = [info for info in infos if info.href in rows
               and any(getattr(rows[info.href], key) != value for key, value in _book_values(info).items())]
    if not new and not changed and not gone:
        return
    types = [BOOK_TYPE] + ([CARD_TYPE] if gone else [])
    with state_change_atomic(account=account, type_names=types) as modseq:
        has_default = AddressBook.objects.filter(account=account, destroyed=False, is_default=True).exists()
        for info in new:
            row = AddressBook(account=account, jmap_id=jmap_id_new("a"), created_modseq=modseq,
                              updated_modseq=modseq, dav_href=info.href, is_default=not has_default,
                              **_book_values(info))
            has_default = True
            row.save()
            rows[info.href] = row
        for info in changed:
            row = rows[info.href]
            for key, value in _book_values(info).items():
                setattr(row, key, value)
            row.updated_modseq = modseq
            row.save()
        for row in gone:
            _book_tombstone(row, modseq)


def _book_tombstone(row: AddressBook, modseq: int) -> None:
    ContactCard.objects.filter(address_book=row, destroyed=False).update(destroyed=True, updated_modseq=modseq)
    row.destroyed = True
    row.is_default = False
    row.updated_modseq = modseq
    row.save()


def _moved_candidates(account: Account, works: list[BookWork]) -> dict[str, ContactCard]:
    """Cards whose href vanished in this sync, by UID: another client may have moved them."""
    vanished = [href for work in works for href in work.removed]
    if not vanished:
        return {}
    listed_at = min(work.listed_at for work in works)
    found: dict[str, ContactCard] = {}
    for start in range(0, len(vanished), APPLY_BATCH):
        chunk = vanished[start:start + APPLY_BATCH]
        for row in ContactCard.objects.filter(account=account, destroyed=False, dav_href__in=chunk,
                                              updated_modseq__lte=listed_at):
            if row.uid:
                found.setdefault(row.uid, row)
    return found


def cards_apply(*, account: Account, book: AddressBook, fetched: list[FetchedCard],
                moved: dict[str, ContactCard], listed_at: int) -> None:
    """Write fetched cards of one book, APPLY_BATCH per transaction (step 4 of the module doc).

    A row changed after `listed_at` (BookWork.listed_at) is left as it is."""
    for start in range(0, len(fetched), APPLY_BATCH):
        batch = fetched[start:start + APPLY_BATCH]
        columns = {item.href: card_columns(text=item.text, href=item.href) for item in batch}
        with state_change_atomic(account=account, type_names=[CARD_TYPE]) as modseq:
            existing = {row.dav_href: row for row in ContactCard.objects.filter(
                address_book=book, destroyed=False, dav_href__in=[item.href for item in batch])}
            created: list[ContactCard] = []
            for item in batch:
                values = columns[item.href]
                row = existing.get(item.href)
                if row is not None and row.updated_modseq > listed_at:
                    continue
                is_new = False
                if row is None:
                    row = moved.pop(values.uid, None) if values.uid else None
                    # else another client moved it here (matched by UID): same card, same id.
                if row is None:
                    row = ContactCard(account=account, jmap_id=jmap_id_new("c"), created_modseq=modseq)
                    created.append(row)
                    is_new = True
                row.address_book = book
                row.dav_href = item.href
                row.dav_etag = item.etag
                row.vcard = item.text
                values.apply(row)
                row.updated_modseq = modseq
                row.destroyed = False
                if not is_new:
                    row.save()
            if created:
                ContactCard.objects.bulk_create(created)


def removals_apply(*, account: Account, work: BookWork) -> None:
    """Tombstone the cards whose resources vanished, and store the book's new token (last)."""
    book = work.row
    with state_change_atomic(account=account, type_names=[CARD_TYPE] if work.removed else []) as modseq:
        if work.removed:
            hrefs = sorted(work.removed)
            for start in range(0, len(hrefs), APPLY_BATCH):
                ContactCard.objects.filter(address_book=book, destroyed=False, updated_modseq__lte=work.listed_at,
                                           dav_href__in=hrefs[start:start + APPLY_BATCH]).update(
                    destroyed=True, updated_modseq=modseq)
        AddressBook.objects.filter(pk=book.pk).update(dav_sync_token=work.sync_token, dav_ctag=work.ctag)
        book.dav_sync_token, book.dav_ctag = work.sync_token, work.ctag


def _unchanged(row: AddressBook | None, info: BookInfo) -> bool:
    if row is None:
        return False
    if info.sync_token:
        return info.sync_token == row.dav_sync_token
    return bool(info.ctag) and info.ctag == row.dav_ctag


def parse_problems_record(*, account: Account) -> None:
    """sync_progress["carddav"] parseProblems/parseProblemCount from the cache's current cards."""
    broken = ContactCard.objects.filter(account=account, destroyed=False).exclude(parse_problems=[])
    count = broken.count()
    kept = [{"href": href, "problems": problems}
            for href, problems in broken.order_by("-updated_modseq").values_list("dav_href", "parse_problems")
            [:PARSE_PROBLEMS_KEPT]]
    for item in kept:
        log.warning("account %s: vCard %s served with what could be read: %s", account.accountid, item["href"],
                    "; ".join(str(problem) for problem in item["problems"])[:300])
    carddav_progress_update(account=account, values={"parseProblems": kept, "parseProblemCount": count})


# -- the services --------------------------------------------------------------

def _books_found(client: DavClient, account: Account) -> list[BookInfo]:
    """Step 1: the books, from the remembered home sets or by discovery."""
    progress = carddav_progress(account)
    homes = progress.get("homes")
    if isinstance(homes, list) and homes and progress.get("from") == account.carddav_url:
        try:
            return books_list(client=client, homes=[str(home) for home in homes])
        except DavRefused as refused:
            if refused.status not in (403, 404, 410):
                raise
            log.info("account %s: CardDAV home set gone (%s); discovering again", account.accountid, refused.status)
    url, principal, found = carddav_locate(client=client, account=account)
    values: dict[str, Any] = {"principal": principal, "homes": found, "from": account.carddav_url}
    if not account.carddav_url:
        values["url"] = url
    carddav_progress_update(account=account, values=values)
    return books_list(client=client, homes=found)


def _lock_keeper(lock: Any) -> Callable[[], object]:
    """Renews `lock` (accounts.sync.AccountSyncLock) and stops the sync if it was lost."""

    def keep_going() -> object:
        if lock is not None and not lock.extend():
            raise dav_transient("the account's sync lock was lost to another sync; stopped")
        return True

    return keep_going


def carddav_account_sync(*, account: Account, lock: Any = None, use_sync_collection: bool = True) -> None:
    """Sync every address book of `account` (see the module docstring).

    Raises BackendError (DavRefused for refusals) on server failures; what was
    committed before stays, and the next run continues from the stored tokens.
    `use_sync_collection=False` forces the CTag/ETag path (servers without RFC 6578).
    """
    keep_going = _lock_keeper(lock)
    with DavClient.for_account(account) as client:
        infos = _books_found(client, account)
        rows = {row.dav_href: row for row in AddressBook.objects.filter(account=account, destroyed=False)}
        seen = {info.href for info in infos}
        gone = [row for href, row in rows.items() if href not in seen]
        for row in gone:
            rows.pop(row.dav_href)
        works: list[BookWork] = []
        pending: list[BookInfo] = []
        for info in infos:
            if _unchanged(rows.get(info.href), info):
                continue
            pending.append(info)
        books_apply(account=account, infos=infos, rows=rows, gone=gone)
        for info in pending:
            works.append(book_work(client, row=rows[info.href], info=info, use_sync_collection=use_sync_collection))
            keep_going()
        works_apply(client=client, account=account, works=works, keep_going=keep_going)
    if works or gone:
        parse_problems_record(account=account)


def works_apply(*, client: DavClient, account: Account, works: list[BookWork],
                keep_going: Callable[[], object]) -> None:
    """Fetch (addressbook-multiget, MULTIGET_BATCH at a time) and cache the
    changed cards of every book, then the removals and new tokens. Cards are
    committed batch by batch, so a large first sync shows up as it goes; the
    count is in sync_progress["carddav"] ("cards", "total", "state")."""
    moved = _moved_candidates(account, works)
    total = sum(len(work.wanted) for work in works)
    done = 0
    if total > MULTIGET_BATCH:
        carddav_progress_update(account=account, values={"state": "running", "cards": 0, "total": total})
    for work in works:
        for start in range(0, len(work.wanted), MULTIGET_BATCH):
            fetched, missing = cards_multiget(client, book_href=work.info.href,
                                              hrefs=work.wanted[start:start + MULTIGET_BATCH])
            work.removed |= missing & work.cached
            cards_apply(account=account, book=work.row, fetched=fetched, moved=moved, listed_at=work.listed_at)
            done += len(fetched)
            if total > MULTIGET_BATCH:
                carddav_progress_update(account=account, values={"cards": done})
            keep_going()
    for work in works:
        # A card matched as moved now has its new href, so filtering by the old href and book misses it.
        removals_apply(account=account, work=work)
    if total > MULTIGET_BATCH:
        carddav_progress_update(account=account, values={"state": "done", "cards": done})


def carddav_book_sync(*, account: Account, book: AddressBook, use_sync_collection: bool = True) -> None:
    """Resync one book (after a 412 or before deciding on its contents).

    The book's properties come from a PROPFIND Depth 0 on it; a book the
    server no longer has (404/410) becomes a tombstone with its cards.
    """
    if book.account_id != account.pk:
        raise ValueError("the book belongs to another account")
    with DavClient.for_account(account) as client:
        answer = client.request("PROPFIND", book.dav_href, body=_book_propfind(),
                                headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"})
        if answer.status in (404, 410) or (answer.status == 207 and not _found_self(answer.body, book.dav_href)):
            with state_change_atomic(account=account, type_names=[BOOK_TYPE, CARD_TYPE]) as modseq:
                _book_tombstone(book, modseq)
            return
        if answer.status != 207:
            raise answer.refused(f"PROPFIND {url_path(book.dav_href)}")
        from backends.carddav.davxml import multistatus_parse

        listing = multistatus_parse(answer.body, base=book.dav_href, what=f"PROPFIND {url_path(book.dav_href)}")
        me = next(response for response in listing.responses if url_collection(response.href) == book.dav_href)
        info = book_info(me)
        info.href = book.dav_href
        books_apply(account=account, infos=[info], rows={book.dav_href: book}, gone=[])
        work = book_work(client, row=book, info=info, use_sync_collection=use_sync_collection)
        works_apply(client=client, account=account, works=[work], keep_going=lambda: True)
    parse_problems_record(account=account)


def _book_propfind() -> bytes:
    from backends.carddav.davxml import propfind_body

    return propfind_body(BOOK_PROPS)


def _found_self(body: bytes, href: str) -> bool:
    from backends.carddav.davxml import multistatus_parse

    listing = multistatus_parse(body, base=href, what="PROPFIND")
    return any(url_collection(response.href) == href and response.found for response in listing.responses)
