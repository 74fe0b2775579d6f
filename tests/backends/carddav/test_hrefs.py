"""One URL form for every href (backends.dav.hrefs): Radicale's %40, Xandikos's @,
absolute URLs and paths all name the same resource the same way."""
from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.dav.client import etag_normalise
from backends.dav.hrefs import (
    href_absolute,
    url_credentials_allowed,
    url_inside,
    url_member,
    url_name,
    url_normalise,
    url_parent,
)

BASE = "https://dav.example.test:8443/alice@example.test/contacts/"


def test_radicale_and_xandikos_forms_agree() -> None:
    radicale = href_absolute(BASE, "/alice%40example.test/contacts/bob.vcf")
    xandikos = href_absolute(BASE, "/alice@example.test/contacts/bob.vcf")
    absolute = href_absolute(BASE, "https://DAV.example.test:8443/alice@example.test/contacts/bob.vcf")
    relative = href_absolute(BASE, "bob.vcf")
    assert radicale == xandikos == absolute == relative == BASE + "bob.vcf"


def test_spaces_and_unicode_are_percent_encoded_once() -> None:
    assert href_absolute(BASE, "/a/b c.vcf") == "https://dav.example.test:8443/a/b%20c.vcf"
    assert href_absolute(BASE, "/a/b%20c.vcf") == "https://dav.example.test:8443/a/b%20c.vcf"
    assert href_absolute(BASE, "/a/J%C3%B6rg.vcf") == href_absolute(BASE, "/a/Jörg.vcf")
    assert url_name(BASE + "x%2Fy.vcf") == "x%2Fy.vcf"


def test_parent_of_a_resource_and_a_collection() -> None:
    assert url_parent(BASE + "bob.vcf") == BASE
    assert url_parent(BASE) == "https://dav.example.test:8443/alice@example.test/"


@given(st.lists(st.text(min_size=1, max_size=12).filter(lambda s: s not in (".", "..")), min_size=1, max_size=4),
       st.booleans())
def test_normalising_twice_changes_nothing_and_keeps_every_name(segments: list[str], trailing: bool) -> None:
    """Any resource names, percent-encoded as a server would send them."""
    url = "http://h:1/" + "/".join(quote(segment, safe="") for segment in segments) + ("/" if trailing else "")
    normal = url_normalise(url)
    assert url_normalise(normal) == normal
    assert href_absolute("http://h:1/other/", normal) == normal
    assert href_absolute("http://h:1/other/", urlsplit(url).path) == normal
    names = urlsplit(normal).path.strip("/").split("/")
    assert [unquote(name) for name in names] == segments


def test_dot_segments_are_resolved() -> None:
    assert url_normalise("https://dav.example.test/alice/contacts/../../bob/x.vcf") == "https://dav.example.test/bob/x.vcf"
    assert url_normalise("https://dav.example.test/alice/./contacts/%2E%2E/") == "https://dav.example.test/alice/"
    assert url_normalise("https://dav.example.test/../../etc") == "https://dav.example.test/etc"


@pytest.mark.parametrize(
    ("href", "inside"),
    [
        ("https://dav.example.test/alice/book/", True),
        ("https://dav.example.test/alice/book/card.vcf", True),
        ("https://dav.example.test/alice/", True),
        ("https://dav.example.test/alice-x/book/", False),  # a sibling sharing the prefix
        ("https://dav.example.test/alice/../bob/book/", False),
        ("https://dav.example.test.evil.net/alice/book/", False),  # mallory's host, same prefix
        ("https://dav.example.test@evil.net/alice/book/", False),
        ("https://dav.example.test:8443/alice/book/", False),
        ("http://dav.example.test/alice/book/", False),
    ],
)
def test_inside_a_home_means_same_origin_and_below_it(href: str, inside: bool) -> None:
    assert url_inside(href, "https://dav.example.test/alice/") is inside


def test_inside_a_root_home_is_still_same_origin_only() -> None:
    assert url_inside("https://dav.example.test/any/book/", "https://dav.example.test/")
    assert not url_inside("https://dav.example.test.evil.net/book/", "https://dav.example.test/")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:5232/alice/", True),  # the start URL's own origin, plain http included
        ("https://p07-contacts.example.test/alice/", True),  # another host, over TLS
        ("http://127.0.0.1:20001/steal/", False),  # another host in the clear
        ("https://alice:pw@dav.example.test/", False),
        ("ftp://127.0.0.1:5232/alice/", False),
    ],
)
def test_where_credentials_may_go(url: str, allowed: bool) -> None:
    assert url_credentials_allowed(url, start="http://127.0.0.1:5232/") is allowed


@pytest.mark.parametrize(
    ("href", "member"),
    [
        ("https://dav.example.test/alice/book/card.vcf", True),
        ("https://dav.example.test/alice/book/", False),  # the book itself
        ("https://dav.example.test/alice/book/sub/", False),  # a sub-collection
        ("https://dav.example.test/alice/book/sub/card.vcf", False),  # below one: writes could not reach it
        ("https://dav.example.test/alice/other/card.vcf", False),
        ("https://evil.test/alice/book/card.vcf", False),
    ],
)
def test_members_are_the_resources_directly_in_a_collection(href: str, member: bool) -> None:
    assert url_member(href, "https://dav.example.test/alice/book/") is member


@pytest.mark.parametrize(("raw", "sent"), [('"abc"', '"abc"'), ("abc", '"abc"'), ('W/"x"', 'W/"x"'),
                                           ('"a\r\nX-Injected: 1"', ""), ("\x00", ""), ("", "")])
def test_an_etag_with_control_characters_is_no_etag(raw: str, sent: str) -> None:
    assert etag_normalise(raw) == sent
