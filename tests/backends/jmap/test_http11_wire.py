"""HTTP/1.1 on the wire for the upstream API transport (backends.jmap.http11_wire).

Pure functions over octets: mallory's upstream answers are fed to the reader
whole and one octet per receive (how a dripping upstream sends them), and
must read the same; malformed or oversize ones are refused with
http.client's exception types; reading is linear in the answer's size
(tests.linear_run: n and 16 n) on the shapes that could make it otherwise.
"""
from __future__ import annotations

import gzip
import http.client

import pytest

from backends.jmap.http11_wire import (
    MAX_FIELDS,
    MAX_LINE,
    Wire,
    body_read,
    head_read,
    host_header,
    request_bytes,
)
from tests.linear_run import sizes_run

LIMIT = 1 << 20


class TooLarge(Exception):
    pass


class Unasked(Exception):
    pass


def _feeder(data: bytes, piece: int) -> Wire:
    """A Wire over `data`, delivered `piece` octets per receive (0: all at once)."""
    pieces = [data] if piece == 0 else [data[i : i + piece] for i in range(0, len(data), piece)]
    pieces.reverse()
    return Wire(lambda most: pieces.pop() if pieces else b"")


def _read(data: bytes, *, piece: int = 0, limit: int = LIMIT) -> tuple[int, dict[str, str], bytes, bool]:
    wire = _feeder(data, piece)
    head = head_read(wire)
    body, reusable = body_read(wire, head, limit=limit, too_large=TooLarge, unasked=Unasked)
    return head.status, head.fields, body, reusable


PIECES = pytest.mark.parametrize("piece", [0, 1, 7])


@PIECES
def test_a_content_length_answer_is_read_and_keeps_the_connection(piece: int) -> None:
    answer = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"to":"alice"}'
    status, fields, body, reusable = _read(answer[:-1], piece=piece)
    assert (status, fields["content-type"], body, reusable) == (200, "application/json", b'{"to":"alice"', True)


@PIECES
def test_a_chunked_answer_with_extensions_and_trailers(piece: int) -> None:
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nalice\r\n0\r\nX-Trailer: dropped\r\n\r\n")  # fmt: skip
    assert _read(answer, piece=piece)[2:] == (b"hello alice", True)


@PIECES
def test_a_gzip_answer_is_inflated(piece: int) -> None:
    packed = gzip.compress(b'{"from":"bob"}' * 100)
    answer = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed) + packed
    assert _read(answer, piece=piece)[2] == b'{"from":"bob"}' * 100


@PIECES
def test_an_answer_until_close_is_read_whole_and_not_reused(piece: int) -> None:
    answer = b"HTTP/1.1 200 OK\r\n\r\nall of it"
    assert _read(answer, piece=piece)[2:] == (b"all of it", False)


def test_interim_answers_are_skipped_and_bodiless_statuses_read_nothing() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    assert _read(answer)[0::2] == (204, b"")


@pytest.mark.parametrize(
    ("head", "reusable"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\n", False),
        (b"HTTP/1.0 200 OK\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", True),
        (b"HTTP/1.1 200 OK\r\n", True),
        # Switched to a protocol nobody asked for: whatever follows is not HTTP/1.1.
        (b"HTTP/1.0 101 Switching Protocols\r\nConnection: keep-alive\r\n", False),
    ],
)
def test_who_closes_the_connection(head: bytes, reusable: bool) -> None:
    assert _read(head + b"Content-Length: 2\r\n\r\nok")[3] is reusable


def test_an_http10_answer_with_transfer_encoding_closes_the_connection() -> None:
    """RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing; close after it."""
    answer = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    assert _read(answer)[2:] == (b"ok", False)


def test_repeated_fields_are_joined_in_order() -> None:
    answer = b"HTTP/1.1 200 OK\r\nVary: a\r\nContent-Length: 2\r\nvary: b\r\nVARY: c\r\n\r\nok"
    assert _read(answer)[1] == {"vary": "a, b, c", "content-length": "2"}


@PIECES
def test_an_empty_gzip_body_is_empty(piece: int) -> None:
    assert _read(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n", piece=piece)[2] == b""


def test_a_content_length_of_thousands_of_digits_is_too_large_not_a_crash() -> None:
    """int() refuses strings past 4300 digits with a ValueError, which the transport would have
    reported as a stored credential that is not valid HTTP (a permanent error)."""
    with pytest.raises(TooLarge):
        _read(b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n")
    with pytest.raises(TooLarge):
        _read(b"HTTP/1.1 200 OK\r\nContent-Length: 1" + b"0" * 18 + b"\r\n\r\n", limit=LIMIT)
    # Leading zeros are allowed (1*DIGIT) and do not count as size.
    assert _read(b"HTTP/1.1 200 OK\r\nContent-Length: " + b"0" * 5000 + b"2\r\n\r\nok")[2] == b"ok"


def test_chunked_beside_a_content_length_is_read_chunked_and_not_reused() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    assert _read(answer)[2:] == (b"ok", False)


def test_octets_after_the_answer_make_the_connection_unusable() -> None:
    """mallory sends more than the answer (a second, unasked one): it must not be read as the next."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"
    assert _read(answer)[2:] == (b"ok", False)


def test_oversize_answers_are_refused_as_they_arrive() -> None:
    with pytest.raises(TooLarge):
        _read(b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", limit=1000)  # declared: nothing read
    with pytest.raises(TooLarge):
        _read(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 1001, limit=1000, piece=100)
    with pytest.raises(TooLarge):
        _read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"100\r\n" + b"x" * 256 + b"\r\n" * 2,
              limit=200)  # fmt: skip
    bomb = gzip.compress(b" " * 10_000_000)
    with pytest.raises(TooLarge):
        _read(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + bomb, limit=100_000, piece=4096)


def test_codings_not_asked_for_are_refused() -> None:
    with pytest.raises(Unasked):
        _read(b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx")
    with pytest.raises(Unasked):
        _read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"", http.client.RemoteDisconnected),
        (b"HTTP/1.1 200 OK\r\nContent-Le", http.client.IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", http.client.IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", http.client.IncompleteRead),
        (b"HTTP/2 200\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 20 OK\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 2000 OK\r\n\r\n", http.client.BadStatusLine),
        (b"ICY 200 OK\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\n: no name\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nX-A : spaced\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \xd9\xa3\r\n\r\nabc", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 17 + b"\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * (MAX_FIELDS + 1) + b"\r\n", http.client.HTTPException),
        (b"HTTP/1.1 100 Continue\r\n\r\n" * 12, http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * MAX_LINE + b"\r\n\r\n", http.client.LineTooLong),
        (b"HTTP/1.1 200 " + b"a" * (MAX_LINE + 10), http.client.LineTooLong),
        # Status codes outside the five classes (RFC 9110 §15): 000 would read as bodiless and reusable.
        (b"HTTP/1.1 000 OK\r\nContent-Length: 0\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 099 OK\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 600 OK\r\nContent-Length: 0\r\n\r\n", http.client.BadStatusLine),
        # CR and NUL inside a value or the status line (RFC 9110 §5.5): rejected, not carried along.
        (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\0\r\nContent-Length: 0\r\n\r\n",
         http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\rX-A: 1\r\nContent-Length: 0\r\n\r\n",
         http.client.HTTPException),
        (b"HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n", http.client.BadStatusLine),
        # Names that are not tokens: another parser may read them as Content-Length.
        (b"HTTP/1.1 200 OK\r\nContent-Length\x0b: 5\r\n\r\nhello", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nContent Length: 5\r\n\r\nhello", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nX-\xe4: 5\r\nContent-Length: 0\r\n\r\n", http.client.HTTPException),
        # gzip that does not inflate, or stops before its end (the framing said the body was whole).
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\nnot gzip!!",
         http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 20\r\n\r\n"
         + gzip.compress(b'{"methodResponses": []}' * 10)[:20], http.client.IncompleteRead),
    ],
)
def test_malformed_answers_are_refused(answer: bytes, error: type[Exception]) -> None:
    for piece in (0, 1000):
        with pytest.raises(error):
            _read(answer, piece=piece)


def test_requests_are_written_in_one_piece() -> None:
    sent = request_bytes(method="POST", target="/jmap/?a=1", host="alice.example:8443",
                         fields={"Authorization": "Basic YWxpY2U6cHc=", "Content-Type": "application/json"},
                         body=b"{}")  # fmt: skip
    assert sent == (b"POST /jmap/?a=1 HTTP/1.1\r\nHost: alice.example:8443\r\nAuthorization: Basic YWxpY2U6cHc=\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")  # fmt: skip


@pytest.mark.parametrize("target", ["/jmap/ HTTP/1.1\r\nX-Evil: 1", "/a b", "/a\x7f", "/ä", "http://alice/", ""])
def test_a_target_that_would_split_the_request_is_refused(target: str) -> None:
    with pytest.raises(http.client.InvalidURL):
        request_bytes(method="POST", target=target, host="alice.example", fields={}, body=b"{}")


@pytest.mark.parametrize("host", ["alice\0.example", "alice\x0b.example", "alice .example"])
def test_a_host_with_a_control_character_or_space_is_refused(host: str) -> None:
    """urlsplit keeps such characters in an apiUrl's host (only CR, LF and TAB are dropped)."""
    with pytest.raises(http.client.InvalidURL):
        host_header("https", host, 443)


@pytest.mark.parametrize("value", ["Bearer mallory\r\nX-Evil: 1", "Bearer \nx", "Bearer \0"])
def test_a_field_value_that_would_split_the_request_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="line break or NUL"):
        request_bytes(method="POST", target="/jmap/", host="alice.example", fields={"Authorization": value}, body=None)


@pytest.mark.parametrize(
    ("shape", "make"),
    [
        ("until-close-one-octet-per-receive", "(b'HTTP/1.1 200 OK\\r\\n\\r\\n' + b'x' * n, 1)"),
        ("many-one-octet-chunks",
         "(b'HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n' + b'1;e\\r\\nx\\r\\n' * n + b'0\\r\\n\\r\\n',"
         " 4096)"),
        ("content-length-in-small-pieces",
         "(b'HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n' % (10 * n) + b'y' * (10 * n), 3)"),
        ("gzip-in-small-pieces",
         "(b'HTTP/1.1 200 OK\\r\\nContent-Encoding: gzip\\r\\n\\r\\n' + __import__('gzip').compress(b'z' * 50 * n),"
         " 5)"),
    ],
    ids=lambda value: value if "(" not in value else "",
)
def test_reading_is_linear(shape: str, make: str) -> None:
    setup = (
        "from backends.jmap.http11_wire import Wire, body_read, head_read\n"
        f"def make(n):\n    return {make}\n"
        "def run(given):\n"
        "    data, piece = given\n"
        "    view = memoryview(data)\n"
        "    at = [0]\n"
        "    def receive(most):\n"
        "        start = at[0]\n"
        "        at[0] = start + min(most, piece)\n"
        "        return bytes(view[start:at[0]])\n"
        "    wire = Wire(receive)\n"
        "    head = head_read(wire)\n"
        "    body, _ = body_read(wire, head, limit=1 << 30, too_large=ValueError, unasked=ValueError)\n"
        "    return body\n"
    )
    summaries = sizes_run(setup, base=20_000, what=f"the HTTP/1.1 reader on {shape}")
    assert all(summary.startswith("bytes:") for summary in summaries)


def test_chunked_framing_counts_toward_the_limit() -> None:
    """mallory's upstream sends one octet of body per chunk behind a 1000-octet extension: the
    body stays tiny while the transfer would go on for the whole deadline; the framing is counted."""
    chunks = b"1;" + b"e" * 1000 + b"\r\nx\r\n"
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks * 200 + b"0\r\n\r\n"
    with pytest.raises(TooLarge):
        _read(answer, limit=100_000)
    trailers = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n" + b"X-T: " + b"t" * 2000
    with pytest.raises(TooLarge):
        _read(trailers + b"\r\n\r\n", limit=1000)
    assert _read(answer, limit=1 << 20)[2] == b"x" * 200
