"""Review finding: a template value that is a dot-segment must not move the
request elsewhere on the upstream (backends.jmap.url_templates; pure).

mallory, a client of the proxy, downloads blob ".." named "..": filled as
RFC 6570 alone says, Cyrus's downloadUrl became /jmap/download/alice/../..,
which the HTTP client resolves to /jmap -- a request, with the account's
credentials, to a path the Session never offered.
"""
from __future__ import annotations

import httpx
import pytest

from backends.jmap.url_templates import url_template_fill

CYRUS_DOWNLOAD = "http://127.0.0.1:8008/jmap/download/{accountId}/{blobId}/{name}?accept={type}"


@pytest.mark.parametrize(("blob_id", "name"), [("..", ".."), (".", ".."), ("..", "x.txt")])
def test_dot_segments_stay_inside_the_download_path(blob_id: str, name: str) -> None:
    url = httpx.URL(url_template_fill(CYRUS_DOWNLOAD, accountId="alice", blobId=blob_id, name=name,
                                      type="text/plain"))  # fmt: skip
    assert url.path.startswith("/jmap/download/alice/"), url


def test_dots_inside_a_value_are_left_alone() -> None:
    filled = url_template_fill(CYRUS_DOWNLOAD, accountId="alice", blobId="G1.2", name="report...pdf", type="")
    assert filled == "http://127.0.0.1:8008/jmap/download/alice/G1.2/report...pdf?accept="
