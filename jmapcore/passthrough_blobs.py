"""Blobs of passthrough accounts: the one hook jmapcore calls to reach an upstream JMAP server.

jmapcore must not import backends.jmap (DESIGN.md "Layers"), yet the upload
and download endpoints, Blob/copy and Email/copy must reach the upstream
server behind a passthrough accountId (issue 12, item 3). backends.jmap
implements `BlobPassthrough` (backends/jmap/blob_stream.py) and its AppConfig
registers it with `passthrough_blobs_register()`; jmapcore asks
`passthrough_blobs()` and treats every account as local when nothing is
registered.

Every method takes the caller's accounts (already scoped to their pool) and
a proxy accountId, so a foreign id is never reached: `target_find` answers
None for it, as for a local account.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from accounts.models import Account
    from jmapcore.blobs import Readable


class BlobProblem(Exception):
    """An upstream failure as the HTTP problem the blob endpoints answer (RFC 7807, RFC 8620 §3.6.1).

    `status` is what the proxy answers, not necessarily what the upstream
    said (an upstream 500 is the proxy's 502). `limit` names the RFC 8620
    limit for a 413/429 `urn:ietf:params:jmap:error:limit` problem.
    """

    def __init__(self, status: int, detail: str, *, limit: str | None = None, retry_after: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.limit = limit
        self.retry_after = retry_after


class UpstreamBlobMissing(Exception):
    """The upstream has no such blob (or email) for this account: notFound / 404."""


@dataclass
class UpstreamDownload:
    """An upstream download under way: status and headers known, body not yet read.

    `body` yields the bytes as they come (never the whole blob at once);
    `close()` releases the upstream connection and must be called whether
    or not the body was read to the end.
    """

    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes]
    closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for closer in self.closers:
            closer()
        self.closers.clear()


@dataclass(frozen=True)
class FetchedBlob:
    """An upstream blob copied into a local temporary file (positioned at 0); the caller closes `file`."""

    file: IO[bytes]
    size: int
    type: str


@dataclass(frozen=True)
class FetchedEmail:
    """An upstream email's raw message and the properties a copy keeps."""

    raw: bytes
    received_at: dt.datetime | None
    keywords: dict[str, bool]


class BlobPassthrough(Protocol):
    """What backends.jmap offers jmapcore for blobs (one implementation, registered at start-up)."""

    def target_find(self, *, accounts: Iterable[Account], account_id: str) -> Any | None:
        """The passthrough target of proxy id `account_id` among `accounts`, or None when it is not one."""

    def same_upstream(self, first: Any, second: Any) -> bool:
        """Whether two targets are accounts of one upstream login (one request can reach both)."""

    def upload(self, *, target: Any, body: Readable, type: str, size: int | None) -> dict[str, Any]:
        """Stream `body` to the upstream uploadUrl (RFC 8620 §6.1); the upload response, accountId rewritten.

        Raises BlobProblem.
        """

    def download_open(
        self, *, target: Any, blob_id: str, name: str, type: str, request_headers: Mapping[str, str]
    ) -> UpstreamDownload:
        """Start the upstream download (RFC 8620 §6.2), passing Range/If-Range/If-None-Match on.

        Raises BlobProblem (404 for a blob the upstream does not have).
        """

    def blob_fetch(self, *, target: Any, blob_id: str, limit: int) -> FetchedBlob:
        """Copy an upstream blob into a local temporary file.

        Raises UpstreamBlobMissing, BlobTooLarge (more than `limit` octets) or BlobProblem.
        """

    def blob_put(self, *, target: Any, data: Readable, type: str, size: int | None) -> str:
        """Upload `data` to the upstream account; the upstream blob id. Raises BlobProblem."""

    def email_fetch(self, *, target: Any, email_id: str, limit: int) -> FetchedEmail:
        """An upstream email's raw message. Raises UpstreamBlobMissing or BlobProblem."""

    def email_import(
        self,
        *,
        target: Any,
        raw: bytes,
        mailbox_ids: dict[str, bool],
        keywords: dict[str, bool],
        received_at: dt.datetime | None,
    ) -> dict[str, Any]:
        """Upload `raw` and Email/import it upstream (RFC 8621 §4.8); the created Email's id, blobId, threadId, size.

        A refusal of the upstream raises jmapcore.protocol.errors.SetErrorException
        with its SetError; other failures BlobProblem.
        """

    def email_destroy(self, *, target: Any, email_ids: list[str]) -> dict[str, Any]:
        """Email/set destroy upstream (the implicit call of onSuccessDestroyOriginal, RFC 8621 §4.7).

        The response's arguments with accountId rewritten to the proxy id.
        """

    def email_state(self, *, target: Any) -> str:
        """The upstream account's Email state (for ifFromInState / ifInState / old and new states)."""


_REGISTERED: list[BlobPassthrough] = []


def passthrough_blobs_register(implementation: BlobPassthrough) -> None:
    """Install the implementation (backends.jmap at start-up); a second call replaces the first."""
    _REGISTERED[:] = [implementation]


def passthrough_blobs() -> BlobPassthrough | None:
    """The registered implementation, or None (no passthrough support loaded)."""
    return _REGISTERED[0] if _REGISTERED else None


def passthrough_target(*, accounts: Iterable[Account], account_id: object) -> tuple[BlobPassthrough, Any] | None:
    """(implementation, target) when `account_id` is a passthrough account of `accounts`, else None."""
    implementation = passthrough_blobs()
    if implementation is None or not isinstance(account_id, str):
        return None
    target = implementation.target_find(accounts=accounts, account_id=account_id)
    if target is None:
        return None
    return implementation, target
