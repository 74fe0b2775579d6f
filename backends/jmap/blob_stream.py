"""Blobs of passthrough accounts, streamed to and from the upstream JMAP server (issue 12, item 3).

The implementation of jmapcore.passthrough_blobs.BlobPassthrough, registered by
backends/apps.py. The account's UpstreamClient (backends/jmap/client.py)
gives the Session's absolute uploadUrl/downloadUrl templates (RFC 8620 §2,
filled by url_templates), the auth headers and, for method calls, its pooled
httpx client. The blob bodies themselves go over a connection of their own
(backends/jmap/raw_http.py: large socket reads, sendfile for uploads, the
same url_policy, TLS and redirect rules): through httpx they cost the proxy
enough CPU per octet to hold blobs to 60-70 % of the upstream's own speed
(issue 12, item 7).

Memory: an upload is read as it arrives (jmapsite/body_pipe.py) CHUNK_SIZE
octets at a time, or sent from the file Django spooled it to, with a
Content-Length; a download is
handed to the ASGI server piece by piece as it arrives, at most READ_AHEAD
pieces ahead of the client. Neither ever holds a whole blob. Copies between
accounts go through a temporary file.

Errors: the upstream's answers become the HTTP problems a local upload or
download gives (`BlobProblem`): 404 stays 404, 413 is the `maxSizeUpload`
limit, 429 keeps Retry-After, credentials the upstream refuses (401/403
after an OAuth refresh) are 403 (a 401 would tell the client its *proxy*
credentials are wrong), other failures 502 and timeouts 504. No message
carries a secret: UpstreamError messages are operator-readable by contract.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import tempfile
import threading
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping
from typing import Any, Protocol

from accounts.crypto import CryptoError
from accounts.models import Account
from backends.jmap import raw_http
from backends.jmap.client import API_TIMEOUT, UpstreamClient, UpstreamError, upstream_client
from backends.jmap.raw_http import RawBodyUnreadable, RawHttpError, RawHttpRefused, RawResponse
from backends.jmap.targets import UpstreamTarget, upstream_targets
from backends.jmap.url_templates import url_template_fill
from jmapcore.blobs import BlobTooLarge, Readable, media_type_clean
from jmapcore.passthrough_blobs import (
    BlobProblem,
    FetchedBlob,
    FetchedEmail,
    UpstreamBlobMissing,
    UpstreamDownload,
)
from jmapcore.protocol.errors import SetError, SetErrorException

logger = logging.getLogger("jmap.passthrough.blobs")

# The largest download piece (one socket read) and upload piece: every piece costs a hand-off to
# the event loop and an ASGI message, so pieces are large.
CHUNK_SIZE = raw_http.CHUNK_SIZE
# Download pieces read from the upstream ahead of the client (_UpstreamBody): at most this many
# wait in memory per download, 4 MiB.
READ_AHEAD = 4
# Each connect, send or receive may take 30 s; the answer after an upload's last octet may take
# longer (the upstream stores and indexes the blob before it answers).
TRANSFER_TIMEOUT = API_TIMEOUT
UPLOAD_ANSWER_TIMEOUT = 300.0
# An upload response is a small JSON object (RFC 8620 §6.1); anything larger is not one.
MAX_UPLOAD_ANSWER = 64 * 1024
# Upstream response headers a download passes on to the client (RFC 8620 §6.2, RFC 9110 §14).
# Not Content-Disposition: the proxy serves the bytes from its own origin and always
# makes them an attachment (jmapcore.blob_views); an upstream's "inline" would be XSS.
DOWNLOAD_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Range",
    "Content-Encoding",
    "Accept-Ranges",
    "ETag",
    "Last-Modified",
    "Cache-Control",
)
# Client request headers a download passes on to the upstream.
CONDITIONAL_HEADERS = ("Range", "If-Range", "If-None-Match", "If-Modified-Since")
CORE_CAPABILITY = "urn:ietf:params:jmap:core"
MAIL_USING = [CORE_CAPABILITY, "urn:ietf:params:jmap:mail"]


# ---------------------------------------------------------------- error mapping


def _problem_from_status(status: int, *, what: str, retry_after: str | None = None) -> BlobProblem:
    if status == 404:
        return BlobProblem(404, f"the upstream server has no such {what}")
    if status == 413:
        return BlobProblem(413, "the upstream server refused the size of the upload", limit="maxSizeUpload")
    if status == 429:
        return BlobProblem(
            429, "the upstream server is busy (too many uploads)", limit="maxConcurrentUpload",
            retry_after=retry_after or "1",
        )
    if status in (401, 403):
        return BlobProblem(403, f"the upstream server refused this account's credentials (HTTP {status})")
    if status == 416:
        return BlobProblem(416, "range outside the blob")
    if status in (408, 504):
        return BlobProblem(504, f"the upstream server timed out (HTTP {status})")
    return BlobProblem(502, f"the upstream server answered HTTP {status}")


def _problem_from_error(error: UpstreamError, *, what: str) -> BlobProblem:
    if error.timed_out:
        return BlobProblem(504, "the upstream server did not answer in time")
    if error.status is not None:
        return _problem_from_status(error.status, what=what)
    return BlobProblem(502, f"the upstream server could not be reached: {error}")


def _problem_from_transport(error: RawHttpError) -> BlobProblem:
    if isinstance(error, RawBodyUnreadable):
        # The client's side: it stopped sending (or left) before its Content-Length was in.
        return BlobProblem(400, "the upload's body stopped arriving before its Content-Length")
    if error.timed_out:
        return BlobProblem(504, "the upstream server did not answer in time")
    if isinstance(error, RawHttpRefused):
        # url_policy's message names the host and the rule, never the URL's path or query.
        return BlobProblem(502, f"the upstream server could not be reached: {error}")
    # raw_http's messages name the host and the kind of failure, never the URL (it may carry a token).
    return BlobProblem(502, f"the upstream server could not be reached ({error})")


# ---------------------------------------------------------------- helpers


def _client(target: UpstreamTarget) -> UpstreamClient:
    return upstream_client(target.account)


def _header_value_ok(value: str) -> bool:
    """True if `value` can be sent as a header value: printable ASCII (RFC 9110 §5.5 field-vchar, SP, HTAB)."""
    return all(char == "\t" or " " <= char <= "~" for char in value)


def _auth(client: UpstreamClient) -> dict[str, str]:
    """The upstream Authorization header; a problem when the stored credential cannot be read or sent.

    A credential that is no HTTP header value (a token pasted with its
    trailing newline, a password with a curly quote) is refused here, by a
    message that never quotes it: sending it would raise UnicodeEncodeError (a 500)
    or an error whose text holds the whole header.
    """
    try:
        headers = client.auth_headers()
    except CryptoError as error:
        # Vault unreachable, key changed...: the operator's to fix, the client's to retry later.
        raise BlobProblem(503, f"the account's credentials cannot be read now ({type(error).__name__})") from None
    except UpstreamError as error:
        # The client refuses such a credential itself; its message never quotes it (client contract).
        raise BlobProblem(502, f"the account's credentials cannot be used: {error.message}") from None
    if not all(_header_value_ok(value) for value in headers.values()):
        raise BlobProblem(502, "the account's stored credential cannot be sent to the upstream server "
                               "(it is no valid HTTP header value: a line break or a non-ASCII character?)")
    return headers


def _chunks(data: Readable) -> Iterator[bytes]:
    while True:
        chunk = data.read(CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


def _rewind(data: Readable) -> bool:
    """Go back to the start of `data` for a retry; False if it cannot."""
    seek = getattr(data, "seek", None)
    if seek is None:
        return False
    try:
        seek(0)
    except (OSError, ValueError):
        return False
    return True


def _limited_json(response: RawResponse, *, limit: int) -> Any:
    """The JSON of a response read to at most `limit` octets; None if it is not JSON."""
    body = response.read_limited(limit)
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _method_response(response: dict[str, Any], name: str) -> dict[str, Any]:
    """The arguments of the single method response `name`; BlobProblem for an error response."""
    calls = response.get("methodResponses")
    if not isinstance(calls, list) or not calls:
        raise BlobProblem(502, "the upstream server sent no method response")
    first = calls[0]
    if not isinstance(first, list) or len(first) != 3 or not isinstance(first[1], dict):
        raise BlobProblem(502, "the upstream server sent a malformed method response")
    if first[0] == "error":
        kind = first[1].get("type", "serverFail")
        raise BlobProblem(502, f"the upstream server answered {name} with {kind}")
    return first[1]


def _api_call(target: UpstreamTarget, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One method call on the upstream account of `target`; its response arguments."""
    request = {"using": MAIL_USING, "methodCalls": [[name, {"accountId": target.upstream_id, **arguments}, "0"]]}
    try:
        response = _client(target).api_post(request)
    except UpstreamError as error:
        raise _problem_from_error(error, what="account") from None
    except CryptoError as error:
        raise BlobProblem(503, f"the account's credentials cannot be read now ({type(error).__name__})") from None
    return _method_response(response, name)


def _upstream_upload_limit(target: UpstreamTarget) -> int | None:
    """The upstream Session's maxSizeUpload (RFC 8620 §2, core capability), None when unknown."""
    try:
        core = _client(target).session().capabilities.get(CORE_CAPABILITY)
    except UpstreamError:
        return None
    value = core.get("maxSizeUpload") if isinstance(core, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _received_at(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _RawBody(Protocol):
    """A response whose body can be read in pieces (raw_http.RawResponse, httpx.Response)."""

    def iter_raw(self, chunk_size: int) -> Iterator[bytes]: ...


class _UpstreamBody:
    """An upstream response body as an async iterator, read ahead by a thread of its own.

    The response was opened by the synchronous view, so it is read with
    blocking calls, never all at once (Django would buffer a synchronous
    iterator whole under ASGI). One thread reads the whole body while the
    event loop sends what it already has to the client: reading from the
    upstream and writing to the client overlap. (A thread hand-off per chunk
    made them take turns, each side idle while the other worked, and cost
    an executor submission per chunk: downloads ran at ~45 % of direct.)

    Memory stays bounded: the reader waits while READ_AHEAD chunks are
    queued and not yet taken, so a slow client slows the upstream read.
    When the consumer stops early (client gone, range served) the reader
    stops at its next chunk; the response itself is closed by the closers
    of UpstreamDownload, as before.
    """

    def __init__(self, response: _RawBody) -> None:
        self._response = response

    def _pump(
        self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None],
        room: threading.Semaphore, stop: threading.Event,
    ) -> None:
        try:
            for chunk in self._response.iter_raw(CHUNK_SIZE):
                room.acquire()
                if stop.is_set():
                    return
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
        except Exception as error:  # the reader's own thread: whatever broke, the body ends here
            # The status line is already sent: all we can do is end the body early. (The
            # response may also have been closed under us because the client went away.)
            if not stop.is_set():
                logger.warning("upstream download broken off: %s", type(error).__name__)
        finally:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except RuntimeError:  # the loop is closed: nobody waits for the end any more
                pass

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        room = threading.Semaphore(READ_AHEAD)
        stop = threading.Event()
        reader = threading.Thread(
            target=self._pump, args=(asyncio.get_running_loop(), queue, room, stop),
            name="jmap-blob-download", daemon=True,
        )
        reader.start()
        try:
            while True:
                chunk = await queue.get()
                if chunk is None:
                    return
                room.release()
                yield chunk
        finally:
            # Wakes the reader if it waits for room; it sees `stop` and ends.
            stop.set()
            room.release()


# ---------------------------------------------------------------- the implementation


class UpstreamBlobs:
    """jmapcore.passthrough_blobs.BlobPassthrough for backends.jmap (module docstring)."""

    def target_find(self, *, accounts: Iterable[Account], account_id: str) -> UpstreamTarget | None:
        return upstream_targets(accounts).get(account_id)

    def same_upstream(self, first: UpstreamTarget, second: UpstreamTarget) -> bool:
        return bool(first.account.pk == second.account.pk)

    # -- upload (RFC 8620 §6.1)

    def _post_blob(self, *, target: UpstreamTarget, data: Readable, type: str, size: int | None) -> dict[str, Any]:
        client = _client(target)
        try:
            url = url_template_fill(client.session().upload_url, accountId=target.upstream_id)
        except UpstreamError as error:
            raise _problem_from_error(error, what="account") from None
        # The file Django spooled the body to (one of unknown length), when the caller can name it
        # (jmapcore.blob_views._SlotKeepingReader.spooled_file): sent with sendfile; else the body
        # is read piece by piece.
        spooled = getattr(data, "spooled_file", None)
        source: Any = (spooled() if callable(spooled) else None) or data
        keep_alive = getattr(data, "keep_alive", None)
        for attempt in range(2):
            headers = {**_auth(client), "Content-Type": type, "Accept": "application/json"}
            try:
                # With a length the body goes out as it is read, without chunked encoding.
                response = raw_http.raw_exchange(
                    method="POST", url=url, session_url=target.account.session_url, what="the uploadUrl",
                    headers=headers, timeout=TRANSFER_TIMEOUT, answer_timeout=UPLOAD_ANSWER_TIMEOUT,
                    body=source, size=size, progress=keep_alive if callable(keep_alive) else None,
                )
            except RawHttpError as error:
                raise _problem_from_transport(error) from None
            try:
                if response.status_code == 401 and attempt == 0 and target.account.auth_type == Account.AuthType.OAUTH:
                    # An expired access token: refresh once and send the body again if it can be re-read.
                    if client.credentials_refresh() and _rewind(source):
                        continue
                if response.status_code not in (200, 201):
                    raise _problem_from_status(
                        response.status_code, what="account", retry_after=response.headers.get("Retry-After")
                    )
                answer = _limited_json(response, limit=MAX_UPLOAD_ANSWER)
            except RawHttpError as error:
                raise _problem_from_transport(error) from None
            finally:
                response.close()
            if not isinstance(answer, dict) or not isinstance(answer.get("blobId"), str):
                raise BlobProblem(502, "the upstream server's upload answer is not a JMAP upload response")
            return answer
        raise BlobProblem(403, "the upstream server refused this account's credentials (HTTP 401)")

    def upload(self, *, target: UpstreamTarget, body: Readable, type: str, size: int | None) -> dict[str, Any]:
        limit = _upstream_upload_limit(target)
        if size is not None and limit is not None and size > limit:
            # Refused before a byte goes upstream, as the upstream would refuse it (RFC 8620 §2 maxSizeUpload).
            raise BlobProblem(
                413, f"the upstream server takes uploads of at most {limit} octets", limit="maxSizeUpload"
            )
        answer = self._post_blob(target=target, data=body, type=type, size=size)
        # Only the account id changes: the blob id (and anything else, e.g. Cyrus's "expires") is the
        # upstream's; blob ids are never rewritten (passthrough contracts).
        result: dict[str, Any] = {**answer, "accountId": target.proxy_id}
        if not isinstance(result.get("type"), str):
            result["type"] = type
        if not isinstance(result.get("size"), int) and size is not None:
            result["size"] = size
        return result

    def blob_put(self, *, target: UpstreamTarget, data: Readable, type: str, size: int | None) -> str:
        return str(self._post_blob(target=target, data=data, type=type, size=size)["blobId"])

    # -- download (RFC 8620 §6.2)

    def _download_send(
        self, *, target: UpstreamTarget, blob_id: str, name: str, type: str, headers: Mapping[str, str]
    ) -> RawResponse:
        client = _client(target)
        try:
            url = url_template_fill(
                client.session().download_url, accountId=target.upstream_id, blobId=blob_id, name=name, type=type
            )
        except UpstreamError as error:
            raise _problem_from_error(error, what="account") from None
        for attempt in range(2):
            # identity: the bytes pass through as the upstream sends them (Content-Length stays right).
            sent = {**_auth(client), "Accept-Encoding": "identity", **headers}
            try:
                response = raw_http.raw_exchange(
                    method="GET", url=url, session_url=target.account.session_url, what="the downloadUrl",
                    headers=sent, timeout=TRANSFER_TIMEOUT, answer_timeout=TRANSFER_TIMEOUT,
                )
            except RawHttpError as error:
                raise _problem_from_transport(error) from None
            if response.status_code == 401 and attempt == 0 and target.account.auth_type == Account.AuthType.OAUTH:
                response.close()
                if client.credentials_refresh():
                    continue
                raise _problem_from_status(401, what="blob")
            return response
        raise _problem_from_status(401, what="blob")  # pragma: no cover - the loop returns or raises

    def download_open(
        self, *, target: UpstreamTarget, blob_id: str, name: str, type: str, request_headers: Mapping[str, str]
    ) -> UpstreamDownload:
        # A client's header that cannot be sent (non-ASCII) is left out rather than failing the request.
        passed = {key: value for key, value in request_headers.items()
                  if key in CONDITIONAL_HEADERS and _header_value_ok(value)}
        response = self._download_send(target=target, blob_id=blob_id, name=name, type=type, headers=passed)
        if response.status_code not in (200, 206, 304):
            status = response.status_code
            retry_after = response.headers.get("Retry-After")
            content_range = response.headers.get("Content-Range")
            response.close()
            problem = _problem_from_status(status, what="blob", retry_after=retry_after)
            if status == 416 and content_range:
                problem.retry_after = None
                problem.detail = f"range outside the blob ({content_range})"
            raise problem
        headers = {key: response.headers[key] for key in DOWNLOAD_HEADERS if key in response.headers}
        return UpstreamDownload(
            status=response.status_code, headers=headers, body=_UpstreamBody(response).__aiter__(),
            closers=[response.close],
        )

    def blob_fetch(self, *, target: UpstreamTarget, blob_id: str, limit: int) -> FetchedBlob:
        response = self._download_send(
            target=target, blob_id=blob_id, name="blob", type="application/octet-stream", headers={}
        )
        try:
            if response.status_code == 404:
                raise UpstreamBlobMissing(blob_id)
            if response.status_code != 200:
                raise _problem_from_status(response.status_code, what="blob")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise BlobTooLarge(limit)
            spool = tempfile.TemporaryFile()  # closed by the caller (FetchedBlob contract)
            size = 0
            try:
                for chunk in response.iter_raw(CHUNK_SIZE):
                    size += len(chunk)
                    if size > limit:
                        raise BlobTooLarge(limit)
                    spool.write(chunk)
                spool.seek(0)
            except BaseException:
                spool.close()
                raise
        except RawHttpError as error:
            raise _problem_from_transport(error) from None
        finally:
            response.close()
        # The download URL names a type only where the template has {type}; the header is the upstream's.
        media_type = media_type_clean(response.headers.get("Content-Type"))
        return FetchedBlob(file=spool, size=size, type=media_type)

    # -- Email/copy helpers (RFC 8621 §4.7, §4.8)

    def email_fetch(self, *, target: UpstreamTarget, email_id: str, limit: int) -> FetchedEmail:
        found = _api_call(target, "Email/get", {"ids": [email_id], "properties": ["blobId", "receivedAt", "keywords"]})
        items = found.get("list")
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            raise UpstreamBlobMissing(email_id)
        item = items[0]
        blob_id = item.get("blobId")
        if not isinstance(blob_id, str):
            raise BlobProblem(502, "the upstream server gave the email no blobId")
        fetched = self.blob_fetch(target=target, blob_id=blob_id, limit=limit)
        with fetched.file as handle:
            raw = handle.read()
        keywords = item.get("keywords")
        clean_keywords = (
            {str(key): True for key, value in keywords.items() if value is True} if isinstance(keywords, dict) else {}
        )
        return FetchedEmail(raw=raw, received_at=_received_at(item.get("receivedAt")), keywords=clean_keywords)

    def email_import(
        self,
        *,
        target: UpstreamTarget,
        raw: bytes,
        mailbox_ids: dict[str, bool],
        keywords: dict[str, bool],
        received_at: dt.datetime | None,
    ) -> dict[str, Any]:
        with tempfile.TemporaryFile() as spool:
            spool.write(raw)
            spool.seek(0)
            blob_id = self.blob_put(target=target, data=spool, type="message/rfc822", size=len(raw))
        email: dict[str, Any] = {"blobId": blob_id, "mailboxIds": mailbox_ids, "keywords": keywords}
        if received_at is not None:
            email["receivedAt"] = _utc_text(received_at)
        answer = _api_call(target, "Email/import", {"emails": {"copy": email}})
        created = answer.get("created")
        if isinstance(created, dict) and isinstance(created.get("copy"), dict):
            made = created["copy"]
            return {key: made[key] for key in ("id", "blobId", "threadId", "size") if key in made}
        refused = answer.get("notCreated")
        error = refused.get("copy") if isinstance(refused, dict) else None
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            extra = {key: value for key, value in error.items() if key not in ("type", "description", "properties")}
            properties = error.get("properties")
            raise SetErrorException(
                SetError(
                    error["type"],
                    error.get("description") if isinstance(error.get("description"), str) else None,
                    properties=properties if isinstance(properties, list) else None,
                    extra=extra,
                )
            )
        raise BlobProblem(502, "the upstream server's Email/import answer names neither created nor notCreated")

    def email_destroy(self, *, target: UpstreamTarget, email_ids: list[str]) -> dict[str, Any]:
        answer = _api_call(target, "Email/set", {"destroy": email_ids})
        return {**answer, "accountId": target.proxy_id}

    def email_state(self, *, target: UpstreamTarget) -> str:
        answer = _api_call(target, "Email/get", {"ids": [], "properties": ["id"]})
        state = answer.get("state")
        if not isinstance(state, str):
            raise BlobProblem(502, "the upstream server's Email/get has no state")
        return state


UPSTREAM_BLOBS = UpstreamBlobs()
