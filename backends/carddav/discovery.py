"""Finding an account's address books (RFC 6764, RFC 5397, RFC 6352 §7).

carddav_discover() starts from the account's carddav_url or, when that is
empty, from https://<imap host>/.well-known/carddav (RFC 6764 §5) and:

1. PROPFIND Depth 0 on the start URL for current-user-principal (RFC 5397)
   and addressbook-home-set (RFC 6352 §7.1.1), following a redirect of the
   well-known URL on the same host only (credentials never go elsewhere); a
   start URL without a principal is retried at its origin's /.well-known/carddav;
2. the principal's addressbook-home-set when the start URL did not name it;
   (a home set on another host than the principal is accepted over https only,
   since the credentials go there);
3. PROPFIND Depth 1 on every home set: every child whose resourcetype holds
   CARDDAV:addressbook is an address book with its displayname,
   addressbook-description, current-user-privilege-set (RFC 3744 §5.4,
   aggregates expanded per §3.12 so that read-only is visible at once),
   supported-address-data (→ the vCard version to write; RFC 6352 §6.2.2: 3.0
   when the server says nothing), getctag and sync-token, and whether
   sync-collection (RFC 6578) is among its supported reports. Hrefs outside
   the home set are ignored (and sync ignores card hrefs outside their book),
   so a server cannot point the client, with its credentials, elsewhere.

Servers differ in the element inside supported-address-data: Radicale writes
CARDDAV:address-data-type (RFC 6352 §6.2.2), Xandikos CARDDAV:content-type;
both carry the `version` attribute, which is all that is read.

Step 3 alone is what a later sync repeats (the principal and home sets are
kept in account.sync_progress["carddav"]): one request for all the books of a
home, and their sync-tokens/CTags tell which books changed at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from accounts.models import Account
from backends.carddav.davxml import CALSERVER, CARDDAV, DAV, DavResponse, Multistatus, qname
from backends.dav.client import DavClient
from backends.dav.errors import DavRefused, dav_permanent
from backends.dav.hrefs import (
    href_absolute,
    url_collection,
    url_credentials_allowed,
    url_inside,
    url_name,
    url_normalise,
    url_same_origin,
)

WELL_KNOWN = "/.well-known/carddav"
MAX_REDIRECTS = 3

_PRINCIPAL_PROPS = [(DAV, "current-user-principal"), (CARDDAV, "addressbook-home-set"), (DAV, "resourcetype")]
BOOK_PROPS = [
    (DAV, "resourcetype"), (DAV, "displayname"), (CARDDAV, "addressbook-description"),
    (DAV, "current-user-privilege-set"), (CARDDAV, "supported-address-data"), (CALSERVER, "getctag"),
    (DAV, "sync-token"), (DAV, "supported-report-set"),
]

# RFC 3744 §3.12 and §3.1: what an aggregate privilege contains.
_AGGREGATES = {
    "all": ("read", "write", "write-properties", "write-content", "bind", "unbind", "unlock", "read-acl",
            "read-current-user-privilege-set", "write-acl"),
    "write": ("write-properties", "write-content", "bind", "unbind"),
}


@dataclass
class BookInfo:
    """One address book as the server describes it."""

    href: str
    name: str
    description: str = ""
    privileges: list[str] = field(default_factory=list)
    vcard_version: str = "3.0"
    ctag: str = ""
    sync_token: str = ""
    sync_collection: bool = False


@dataclass
class Discovery:
    principal: str
    homes: list[str]
    books: list[BookInfo]
    # The URL discovery started from after redirects (kept when carddav_url is empty).
    url: str = ""


def privileges_expand(names: list[str]) -> list[str]:
    found = set(names)
    for name in names:
        found.update(_AGGREGATES.get(name, ()))
    return sorted(found)


def _book_version(response: DavResponse) -> str:
    element = response.props.get(qname(CARDDAV, "supported-address-data"))
    children = [child for child in element if isinstance(child.tag, str)] if element is not None else []
    versions = {child.get("version", "") for child in children}
    versions.discard("")
    if versions and "3.0" not in versions and "4.0" in versions:
        return "4.0"
    return "3.0"


def book_info(response: DavResponse) -> BookInfo:
    privileges = [tag.rsplit("}", 1)[-1]
                  for element in response.props.get(qname(DAV, "current-user-privilege-set"), [])
                  for tag in [child.tag for child in element if isinstance(child.tag, str)]]
    reports = response.props.get(qname(DAV, "supported-report-set"))
    sync_collection = reports is not None and any(True for _ in reports.iter(qname(DAV, "sync-collection")))
    name = response.text(qname(DAV, "displayname"))
    if not name:
        from urllib.parse import unquote

        name = unquote(url_name(response.href))
    return BookInfo(
        href=url_collection(response.href),
        name=name,
        description=response.text(qname(CARDDAV, "addressbook-description")),
        privileges=privileges_expand(privileges),
        vcard_version=_book_version(response),
        ctag=response.text(qname(CALSERVER, "getctag")),
        sync_token=response.text(qname(DAV, "sync-token")),
        sync_collection=sync_collection,
    )


def is_address_book(response: DavResponse) -> bool:
    return qname(CARDDAV, "addressbook") in response.children(qname(DAV, "resourcetype"))


def discovery_start_url(account: Account) -> str:
    """Where discovery starts: the configured URL, else the well-known URL on the account's host."""
    if account.carddav_url:
        return url_normalise(account.carddav_url)
    host = account.imap_host or account.email.rpartition("@")[2]
    return f"https://{host}{WELL_KNOWN}" if host else ""


def _propfind_following(client: DavClient, url: str) -> tuple[str, Multistatus | None]:
    """PROPFIND Depth 0 for the principal properties, following same-origin redirects."""
    for _ in range(MAX_REDIRECTS + 1):
        answer = client.request("PROPFIND", url, body=_principal_body(),
                                headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"})
        if answer.status in (301, 302, 303, 307, 308) and answer.headers.get("location"):
            target = href_absolute(url, answer.headers["location"])
            if not url_same_origin(target, url):
                raise dav_permanent(f"{urlsplit(url).path}: redirected to another host ({urlsplit(target).netloc}), "
                                    "not followed; set carddavURL")
            url = target
            continue
        if answer.status == 207:
            from backends.carddav.davxml import multistatus_parse

            return url, multistatus_parse(answer.body, base=url, what=f"PROPFIND {urlsplit(url).path}")
        if answer.status in (401, 403) or answer.status >= 500:
            raise answer.refused(f"PROPFIND {urlsplit(url).path}")
        return url, None
    raise dav_permanent(f"{urlsplit(url).path}: too many redirects")


def _principal_body() -> bytes:
    from backends.carddav.davxml import propfind_body

    return propfind_body(_PRINCIPAL_PROPS)


def _self(multistatus: Multistatus, url: str) -> DavResponse | None:
    wanted = url_collection(url)
    for response in multistatus.responses:
        if url_collection(response.href) == wanted and response.found:
            return response
    return multistatus.responses[0] if len(multistatus.responses) == 1 and multistatus.responses[0].found else None


def carddav_locate(*, client: DavClient, account: Account) -> tuple[str, str, list[str]]:
    """(start URL after redirects, principal URL, home-set URLs) of `account` (steps 1-2)."""
    start = discovery_start_url(account)
    if not start:
        raise dav_permanent("no CardDAV URL and no host to discover one on")
    url, found = _propfind_following(client, start)
    me = _self(found, url) if found is not None else None
    if (me is None or qname(DAV, "current-user-principal") not in me.props) and not url.endswith(WELL_KNOWN):
        parts = urlsplit(url)
        known, again = _propfind_following(client, f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}")
        candidate = _self(again, known) if again is not None else None
        if candidate is not None and (qname(DAV, "current-user-principal") in candidate.props
                                      or qname(CARDDAV, "addressbook-home-set") in candidate.props):
            url, me = known, candidate
    if me is None:
        raise dav_permanent(f"no CardDAV service found at {urlsplit(start).netloc}{urlsplit(start).path}")
    if is_address_book(me):
        # The URL names one address book: that book is all the account has.
        return url, url, [url]
    homes = me.hrefs(qname(CARDDAV, "addressbook-home-set"), base=url)
    principal = (me.hrefs(qname(DAV, "current-user-principal"), base=url) or [url])[0]
    if not url_credentials_allowed(principal, start=url):
        raise dav_permanent(f"the current-user-principal is on another host without TLS ({urlsplit(principal).netloc})")
    if not homes:
        answer = client.propfind(principal, depth="0", props=_PRINCIPAL_PROPS)
        owner = _self(answer, principal)
        homes = owner.hrefs(qname(CARDDAV, "addressbook-home-set"), base=principal) if owner is not None else []
    if not homes:
        raise dav_permanent(f"{urlsplit(principal).path}: the principal names no addressbook-home-set")
    # A home on another host (some providers partition users across hosts) gets the
    # account's credentials too, so only over TLS.
    for home in homes:
        if not url_credentials_allowed(home, start=url):
            raise dav_permanent(f"the addressbook-home-set is on another host without TLS ({urlsplit(home).netloc})")
    return url, principal, [url_collection(home) for home in homes]


def books_list(*, client: DavClient, homes: list[str]) -> list[BookInfo]:
    """Every address book in `homes` (step 3), one PROPFIND per home.

    A home that is itself an address book (a carddav_url naming one book) is
    listed with Depth 0. A 404 home raises DavRefused, so the caller rediscovers.
    """
    books: dict[str, BookInfo] = {}
    for home in homes:
        listing = client.propfind(home, depth="1", props=BOOK_PROPS)
        for response in listing.responses:
            # Only the home itself and what is inside it: an href elsewhere would
            # make the client send the account's credentials there.
            if not url_inside(response.href, home):
                continue
            if response.found and is_address_book(response):
                info = book_info(response)
                books.setdefault(info.href, info)
        if not any(response.found for response in listing.responses):
            raise DavRefused(f"PROPFIND {urlsplit(home).path}: empty answer", status=404)
    return sorted(books.values(), key=lambda book: book.href)


def carddav_discover(*, client: DavClient, account: Account) -> Discovery:
    url, principal, homes = carddav_locate(client=client, account=account)
    return Discovery(principal=principal, homes=homes, books=books_list(client=client, homes=homes), url=url)
