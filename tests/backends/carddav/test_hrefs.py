"""One URL form for every href (backends.carddav.hrefs): Radicale's %40, Xandikos's @,
absolute URLs and paths all name the same resource the same way."""
from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from backends.carddav.hrefs import href_absolute, url_name, url_normalise, url_parent

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
