"""RFC 6570 level-1 filling of upstream URL templates (backends.jmap.url_templates)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backends.jmap.url_templates import url_template_fill, url_template_variables

CYRUS_DOWNLOAD = "http://127.0.0.1:8000/jmap/download/{accountId}/{blobId}/{name}?accept={type}"


def test_cyrus_download_url_gets_its_type() -> None:
    filled = url_template_fill(CYRUS_DOWNLOAD, accountId="alice", blobId="G1f2", name="a b/c.txt", type="text/plain")
    assert filled == "http://127.0.0.1:8000/jmap/download/alice/G1f2/a%20b%2Fc.txt?accept=text%2Fplain"


def test_a_template_without_type_simply_gets_none() -> None:
    template = "https://jmap.example/download/{accountId}/{blobId}/{name}"
    filled = url_template_fill(template, accountId="alice", blobId="B", name="x", type="image/png")
    assert filled == "https://jmap.example/download/alice/B/x"


def test_a_missing_value_expands_to_nothing() -> None:
    assert url_template_fill("/es/?types={types}&ping={ping}", types="*") == "/es/?types=%2A&ping="


def test_variables_in_order() -> None:
    assert url_template_variables(CYRUS_DOWNLOAD) == ["accountId", "blobId", "name", "type"]


@given(st.text())
def test_a_value_never_adds_structure(value: str) -> None:
    filled = url_template_fill("/d/{name}?t={type}", name=value, type=value)
    encoded = filled[len("/d/"):].split("?t=")
    # Every reserved character of the value is encoded: exactly one "?", no new "/" or "&".
    assert len(encoded) == 2 and encoded[0] == encoded[1]
    assert "/" not in encoded[0] and "?" not in encoded[0] and "&" not in encoded[0] and "{" not in encoded[0]
