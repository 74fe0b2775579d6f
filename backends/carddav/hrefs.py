"""One form for every DAV URL the CardDAV code stores or compares.

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


def _path_normalise(path: str) -> str:
    return "/".join(quote(unquote(segment), safe=_SAFE) for segment in (path or "/").split("/"))


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


def url_parent(url: str) -> str:
    """The collection holding the resource or collection at `url`."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    parent = path[: path.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc, parent, "", ""))


def url_name(url: str) -> str:
    """The last path segment of `url` (still percent-encoded), without a trailing slash."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
