"""HTTP edges for binary data: the upload and download endpoints (RFC 8620 §6.1, §6.2).

Both authenticate like the API (accounts.auth), only reach accounts of the
caller's pool, and answer failures with RFC 7807 problem documents. The work
is done by jmapcore.blobs.
"""
from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any, NamedTuple
from urllib.parse import quote

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
    UnreadablePostError,
)
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.auth import AuthenticationFailed, authenticate_request, pool_accounts
from accounts.models import Account
from jmapcore import blobs, limits
from jmapcore.api import authentication_failed_response, problem_response
from jmapcore.concurrency import SLOT_TTL, Slot, slot_acquire, slot_release, slot_renew
from jmapcore.passthrough_blobs import BlobPassthrough, BlobProblem, UpstreamDownload, passthrough_target
from jmapcore.protocol.errors import RequestError
from jmapsite.metrics import HTTP_REQUESTS

logger = logging.getLogger("jmap.blobs")

# Blob ids never change content (RFC 8620 §6: blobs are immutable), so a client may cache forever.
CACHE_CONTROL = "private, immutable, max-age=31536000"
# ASCII digits only, at most 18 (below 2**63): a longer position cannot be a
# byte of any blob, and int() refuses numbers over 4,300 digits with ValueError.
_RANGE_RE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})")
# RFC 8187 attr-char, minus what quote() already leaves alone.
_ATTR_SAFE = "!#$&+^`|"
# A long upload renews its concurrency slot this often (the slot expires after SLOT_TTL).
SLOT_RENEW_SECONDS = SLOT_TTL / 3


def _problem(status: int, detail: str, *, type: str = "about:blank", title: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"type": type, "status": status, "detail": detail}
    if title:
        body["title"] = title
    return JsonResponse(body, status=status, content_type="application/problem+json")


def _method_not_allowed(allowed: str) -> JsonResponse:
    response = _problem(405, f"use {allowed}", title="Method Not Allowed")
    response["Allow"] = allowed
    return response


def _caller_account(request: HttpRequest, account_id: str) -> Account | _Passthrough | HttpResponse:
    """The account `account_id` of the authenticated caller's pool, or the error response.

    A passthrough accountId (issue 12: an upstream JMAP server's account)
    comes back as a _Passthrough, checked first because the upstream's
    primary account has the Account's own accountid.
    """
    try:
        pool = authenticate_request(request)
    except AuthenticationFailed as exc:
        return authentication_failed_response(exc)
    accounts = pool_accounts(pool)
    forwarded = passthrough_target(accounts=accounts.values(), account_id=account_id)
    if forwarded is not None:
        implementation, target = forwarded
        return _Passthrough(implementation, target, pool.pk)
    account = accounts.get(account_id)
    if account is None:
        # Same answer whether the account exists elsewhere or not at all.
        return _problem(404, "no such account", title="Not Found")
    return account


class _Passthrough(NamedTuple):
    implementation: BlobPassthrough
    target: Any
    pool_id: int


_TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    416: "Range Not Satisfiable",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _upstream_problem(problem: BlobProblem) -> HttpResponse:
    """The problem document a local upload/download gives for the same failure (413/429 limits alike)."""
    headers = {"Retry-After": problem.retry_after} if problem.retry_after else None
    if problem.limit is not None:
        return problem_response(
            RequestError("limit", problem.detail, status=problem.status, limit=problem.limit), headers=headers
        )
    response = _problem(problem.status, problem.detail, title=_TITLES.get(problem.status))
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class _SlotKeepingReader:
    """The request body as a stream; renews the upload slot while it is read."""

    def __init__(self, request: HttpRequest, slot: Slot) -> None:
        self._request = request
        self._slot = slot
        self._renewed_at = time.monotonic()

    def keep_alive(self) -> None:
        """Renew the upload slot if it is due; called as the body goes out (also when it is not read here)."""
        if time.monotonic() - self._renewed_at >= SLOT_RENEW_SECONDS:
            slot_renew(slot=self._slot)
            self._renewed_at = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        self.keep_alive()
        return self._request.read(size)

    def spooled_file(self) -> IO[bytes] | None:
        """The file the whole body lies in, at its start, when nothing has been read yet; else None.

        A body Django spooled to disk (a large one of unknown length: one
        with a Content-Length is read as it arrives, jmapsite/body_pipe.py)
        is that file, which a passthrough upload sends with sendfile
        (jmapcore.passthrough_blobs.BlobPassthrough.upload). A body Django
        keeps in memory, or one already partly read, is None: it is read
        with read().
        """
        if getattr(self._request, "_read_started", True):
            return None
        stream = getattr(self._request, "_stream", None)
        if isinstance(stream, tempfile.SpooledTemporaryFile):
            # Django's own spool: a file only once it has rolled over to disk.
            stream = stream._file if getattr(stream, "_rolled", False) else None
        try:
            if stream is None or not stat.S_ISREG(os.fstat(stream.fileno()).st_mode) or stream.tell() != 0:
                return None
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            return None
        return stream

    def seek(self, position: int) -> int:
        """Back to the start, for a forwarded upload sent again after an OAuth refresh.

        A body Django spooled (its `_stream`) can be read again; anything
        else raises OSError and the upload is not retried, among them a
        large upload, which is read as it arrives and not kept
        (jmapsite/body_pipe.py).
        """
        stream = getattr(self._request, "_stream", None)
        if position != 0 or stream is None or not getattr(stream, "seekable", lambda: False)():
            raise OSError("the request body cannot be read again")
        return int(stream.seek(0))


@csrf_exempt
def upload_view(request: HttpRequest, account_id: str) -> HttpResponse:
    """POST /upload/{accountId}/: store the body as a blob (RFC 8620 §6.1).

    201 with {accountId, blobId, type, size}; 413 limit/maxSizeUpload when the
    body is too large; 429 limit/maxConcurrentUpload when the pool already has
    that many uploads running (counted across all processes).
    """
    HTTP_REQUESTS.labels(endpoint="upload").inc()
    if request.method != "POST":
        return _method_not_allowed("POST")
    found = _caller_account(request, account_id)
    if isinstance(found, HttpResponse):
        return found
    if isinstance(found, _Passthrough):
        return _upload_passthrough(request, found)
    account = found

    limit = blobs.upload_limit()
    too_large = RequestError(
        "limit", f"uploads are limited to {limit} octets", status=413, limit="maxSizeUpload"
    )
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        # Refuse before reading anything the client is still sending.
        return problem_response(too_large)

    slot = slot_acquire(scope="upload", pool_id=account.pool_id, limit=limits.LIMITS.maxConcurrentUpload)
    if slot is None:
        busy = RequestError(
            "limit", "too many uploads in progress for this login", status=429, limit="maxConcurrentUpload"
        )
        return problem_response(busy, headers={"Retry-After": "1"})
    media_type = blobs.media_type_clean(request.META.get("CONTENT_TYPE"))
    try:
        blob = blobs.blob_store(account=account, data=_SlotKeepingReader(request, slot), type=media_type, limit=limit)
    except blobs.BlobTooLarge:
        return problem_response(too_large)
    except UnreadablePostError:
        # The client stopped sending, or left, before its Content-Length was in: its side, no server fault.
        return _problem(400, "the upload's body stopped arriving before its Content-Length", title="Bad Request")
    except OSError:
        # Disk full, permissions...: the client gets a problem document, the log the details.
        logger.exception("could not store an upload for account %s", account.accountid)
        return _problem(500, "the upload could not be stored", title="Internal Server Error")
    finally:
        slot_release(slot=slot)
    return JsonResponse(
        {"accountId": account.accountid, "blobId": blob.blob_id, "type": media_type, "size": blob.size},
        status=201,
    )


def _upload_passthrough(request: HttpRequest, forwarded: _Passthrough) -> HttpResponse:
    """Stream the upload to the upstream server's uploadUrl (issue 12, item 3; RFC 8620 §6.1).

    The upstream enforces its own maxSizeUpload (its 413 is ours); the
    proxy's maxConcurrentUpload slot is taken as for a local upload. The
    answer is the upstream's, with the proxy's accountId.
    """
    slot = slot_acquire(scope="upload", pool_id=forwarded.pool_id, limit=limits.LIMITS.maxConcurrentUpload)
    if slot is None:
        busy = RequestError(
            "limit", "too many uploads in progress for this login", status=429, limit="maxConcurrentUpload"
        )
        return problem_response(busy, headers={"Retry-After": "1"})
    declared = request.META.get("CONTENT_LENGTH") or ""
    try:
        answer = forwarded.implementation.upload(
            target=forwarded.target,
            body=_SlotKeepingReader(request, slot),
            type=blobs.media_type_clean(request.META.get("CONTENT_TYPE")),
            size=int(declared) if declared.isdigit() else None,
        )
    except BlobProblem as problem:
        return _upstream_problem(problem)
    finally:
        slot_release(slot=slot)
    return JsonResponse(answer, status=201)


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback filename and the exact name per RFC 6266 §4.3 / RFC 8187."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    # Quotes, backslashes and controls cannot appear safely in the quoted fallback.
    ascii_name = re.sub(r'[\x00-\x1f\x7f"\\]', "_", ascii_name).strip() or "download"
    encoded = quote(name, safe=_ATTR_SAFE)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def _byte_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(first, last) for a single satisfiable `Range: bytes=…` (RFC 9110 §14.1.2).

    None means "ignore the header and send everything" (malformed or several
    ranges); "unsatisfiable" means 416.
    """
    match = _RANGE_RE.fullmatch(header.strip())
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None
    if first >= size:
        return "unsatisfiable"
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)


def _file_slice(handle: IO[bytes], first: int, count: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        while count > 0:
            chunk = handle.read(min(blobs.CHUNK_SIZE, count))
            if not chunk:
                return
            count -= len(chunk)
            yield chunk
    finally:
        handle.close()


def download_view(request: HttpRequest, account_id: str, blob_id: str, name: str) -> HttpResponseBase:
    """GET /download/{accountId}/{blobId}/{name}?type=…: the blob's bytes (RFC 8620 §6.2).

    404 for a blob the caller's account cannot see, whoever else has it.
    Content-Type comes from `type` (invalid or missing: application/octet-stream),
    the file name from `name`. HEAD, single byte ranges and If-None-Match work.
    """
    HTTP_REQUESTS.labels(endpoint="download").inc()
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed("GET, HEAD")
    found = _caller_account(request, account_id)
    if isinstance(found, HttpResponse):
        return found
    if isinstance(found, _Passthrough):
        return _download_passthrough(request, found, blob_id, name)
    try:
        opened = blobs.blob_open(account=found, blob_id=blob_id)
    except blobs.BlobNotFound:
        return _problem(404, "no such blob", title="Not Found")

    etag = f'"{blob_id}"'
    headers = {
        "Content-Disposition": content_disposition(name),
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
        "ETag": etag,
    }
    media_type = blobs.media_type_clean(request.GET.get("type"))

    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        opened.file.close()
        not_modified = HttpResponse(status=304)
        for header in ("Cache-Control", "ETag"):
            not_modified[header] = headers[header]
        return not_modified

    wanted: tuple[int, int] | str | None = None
    range_header = request.headers.get("Range")
    if range_header and request.headers.get("If-Range", etag) == etag:
        wanted = _byte_range(range_header, opened.size)
    if wanted == "unsatisfiable":
        opened.file.close()
        unsatisfiable = _problem(416, "range outside the blob", title="Range Not Satisfiable")
        unsatisfiable["Content-Range"] = f"bytes */{opened.size}"
        return unsatisfiable

    response: HttpResponseBase
    if isinstance(wanted, tuple):
        first, last = wanted
        length = last - first + 1
        if request.method == "HEAD":
            opened.file.close()
            response = HttpResponse(status=206, content_type=media_type)
        else:
            response = StreamingHttpResponse(
                _file_slice(opened.file, first, length), status=206, content_type=media_type
            )
        response["Content-Range"] = f"bytes {first}-{last}/{opened.size}"
        response["Content-Length"] = str(length)
    elif request.method == "HEAD":
        opened.file.close()
        response = HttpResponse(content_type=media_type)
        response["Content-Length"] = str(opened.size)
    else:
        response = FileResponse(opened.file, content_type=media_type)
        response["Content-Length"] = str(opened.size)
    for header, value in headers.items():
        response[header] = value
    return response


class _UpstreamBytes:
    """The body of an upstream download as an async iterator, optionally cut to [skip, skip+count).

    Async, so that Django's ASGI handler sends each chunk as it arrives
    instead of collecting a synchronous iterator into a list first.
    `close()` (called by Django when the response ends, also when the
    client goes away) releases the upstream connection.
    """

    def __init__(self, download: UpstreamDownload, *, skip: int = 0, count: int | None = None) -> None:
        self._download = download
        self._skip = skip
        self._count = count

    async def __aiter__(self) -> AsyncIterator[bytes]:
        skip, count = self._skip, self._count
        async for chunk in self._download.body:
            if skip:
                if len(chunk) <= skip:
                    skip -= len(chunk)
                    continue
                chunk, skip = chunk[skip:], 0
            if count is not None:
                if len(chunk) >= count:
                    if count:
                        yield chunk[:count]
                    return
                count -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._download.close()


def _download_passthrough(request: HttpRequest, forwarded: _Passthrough, blob_id: str, name: str) -> HttpResponseBase:
    """Stream a blob from the upstream server's downloadUrl (issue 12, item 3; RFC 8620 §6.2).

    Status, Content-Length, ETag and ranges are the upstream's; the client's
    Range, If-Range and If-None-Match go upstream. An upstream that ignores
    Range (a 200 with a Content-Length) gets the range cut out here, so the
    client's 206 does not depend on it.

    The answer is served from the proxy's own origin (its dashboard, its
    login cookie) while its bytes are anyone's (a mailed attachment), so the
    headers that decide how a browser treats them are the proxy's, exactly
    as for a local download, whatever the upstream says: Content-Type is the
    client's `type` (RFC 8620 §6.2; invalid or missing:
    application/octet-stream), Content-Disposition is `attachment` with the
    client's `name` (RFC 6266), X-Content-Type-Options is nosniff and
    Cache-Control is private (an upstream's "public" would let a shared
    cache keep an authenticated answer). An upstream's "inline" text/html
    would otherwise be a page of the proxy's origin: stored XSS.
    """
    media_type = request.GET.get("type")
    passed = {header: request.headers[header] for header in ("Range", "If-Range", "If-None-Match")
              if header in request.headers}
    try:
        download = forwarded.implementation.download_open(
            target=forwarded.target,
            blob_id=blob_id,
            name=name,
            # The upstream's template needs a type (RFC 8620 §2); the default as for local blobs.
            type=blobs.media_type_clean(media_type),
            request_headers=passed,
        )
    except BlobProblem as problem:
        return _upstream_problem(problem)
    headers = dict(download.headers)
    status = download.status
    skip, count = 0, None
    total = headers.get("Content-Length", "")
    range_header = request.headers.get("Range")
    # Octets of the blob itself, counted: ranges can be served here (Cyrus 3.6 says Accept-Ranges: none).
    countable = status == 200 and total.isdigit() and "Content-Encoding" not in headers
    if countable:
        headers["Accept-Ranges"] = "bytes"
    if countable and range_header and "If-Range" not in request.headers:
        wanted = _byte_range(range_header, int(total))
        if wanted == "unsatisfiable":
            download.close()
            unsatisfiable = _problem(416, "range outside the blob", title="Range Not Satisfiable")
            unsatisfiable["Content-Range"] = f"bytes */{total}"
            return unsatisfiable
        if isinstance(wanted, tuple):
            first, last = wanted
            skip, count = first, last - first + 1
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{total}"
            headers["Content-Length"] = str(count)
    if request.method == "HEAD" or status == 304:
        download.close()
        response: HttpResponseBase = HttpResponse(status=status)
    else:
        response = StreamingHttpResponse(_UpstreamBytes(download, skip=skip, count=count), status=status)
    # The proxy's, never the upstream's (docstring): as download_view sets them for local blobs.
    headers["Content-Type"] = blobs.media_type_clean(media_type)
    headers["Content-Disposition"] = content_disposition(name)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cache-Control"] = CACHE_CONTROL
    for header, value in headers.items():
        if status == 304 and header in ("Content-Type", "Content-Length", "Content-Disposition"):
            continue
        response[header] = value
    return response
