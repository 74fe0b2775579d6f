"""One form for every DAV URL the CardDAV and CalDAV code stores or compares.

Servers write hrefs differently (RFC 4918 §8.3 allows absolute URLs and
absolute paths): Radicale answers with absolute paths whose "@" is
percent-encoded (/alice%40example.test/contacts/), Xandikos with absolute paths
that leave "@" as is (/alice@example.test/contacts/contacts/) and, for
resources it could not find, with absolute URLs (https://host:port/...). Both
encode a space in a resource name as %20, and either may be asked for a name
that another client wrote unencoded.

href_absolute() resolves an href against the URL of the request that returned
it and normalises the path: every segment is percent-decoded once and encoded
again with one fixed set of safe characters (RFC 3986 §3.3 pchar: unreserved,
sub-delims, ":" and "@"), scheme and host are lower-cased. So the same resource
always has the same string, whichever server or client wrote its href, and
that string is a valid URL to send requests to.
"""
from __future__ import annotations

from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

_SAFE = "!$&'()*+,;=:@-._~"


def _dot_segments_remove(segments: list[str]) -> list[str]:
    """RFC 3986 §5.2.4 on a split path: "." dropped, ".." removes the segment
    before it (never above the root), so "/a/b/../c" is "/a/c" and a prefix
    check on the result means what it says."""
    kept: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and len(kept) > 1:
                kept.pop()
            if last:
                kept.append("")  # "/a/b/.." names the collection "/a/"
            continue
        kept.append(segment)
    return kept


def _path_normalise(path: str) -> str:
    segments = _dot_segments_remove([unquote(segment) for segment in (path or "/").split("/")])
    return "/".join(quote(segment, safe=_SAFE) for segment in segments)


def url_normalise(url: str) -> str:
    """`url` in the normal form described in the module docstring."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), _path_normalise(parts.path), parts.query, ""))


def href_absolute(base: str, href: str) -> str:
    """`href` (absolute URL, absolute path or relative) as a normalised absolute URL.

    Absolute URLs and paths are taken as they are rather than through urljoin,
    which drops an empty ";" parameter (RFC 1808 params) from the last segment."""
    href = href.strip()
    if urlsplit(href).scheme:
        return url_normalise(href)
    if href.startswith("/") and not href.startswith("//"):
        parts = urlsplit(base)
        return url_normalise(f"{parts.scheme}://{parts.netloc}{href}")
    return url_normalise(urljoin(base, href))


def url_path(url: str) -> str:
    """The path of `url` (what an addressbook-multiget lists)."""
    return urlsplit(url).path or "/"


def url_collection(url: str) -> str:
    """`url` with exactly one trailing slash (collections are compared that way)."""
    return url.rstrip("/") + "/"


def url_same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme.lower(), pa.netloc.lower()) == (pb.scheme.lower(), pb.netloc.lower())


def url_inside(url: str, collection: str) -> bool:
    """True when `url` is `collection` itself or below it: same origin, and its
    normalised path starts with the collection's path including the slash, so
    "https://dav.example.com.evil.net/" or "https://dav.example.com@evil/" is
    never inside "https://dav.example.com/", nor "/alice-x/" inside "/alice/"."""
    if not url_same_origin(url, collection):
        return False
    inner = urlsplit(url_normalise(url)).path
    outer = url_collection(urlsplit(url_normalise(collection)).path)
    return url_collection(inner).startswith(outer)


def url_credentials_allowed(url: str, *, start: str) -> bool:
    """May the account's credentials go to `url`, found while discovering from
    `start`? Only on the start URL's own origin, or on another host over TLS
    (providers that partition users across hosts answer with those; never to a
    plain-http host, where they would cross the network in the clear). Userinfo
    in a URL is refused: it would change where httpx sends them."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or parts.scheme not in ("http", "https"):
        return False
    return url_same_origin(url, start) or parts.scheme == "https"


def url_parent(url: str) -> str:
    """The collection holding the resource or collection at `url`."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    parent = path[: path.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc, parent, "", ""))


def url_name(url: str) -> str:
    """The last path segment of `url` (still percent-encoded), without a trailing slash."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def url_member(href: str, collection: str) -> bool:
    """True when `href` names a resource directly in `collection` (not the
    collection itself, not a sub-collection nor anything below one): the only
    resources sync keeps and writes may touch."""
    return not href.endswith("/") and url_same_origin(href, collection) and (
        url_parent(href) == url_collection(collection)
    )
