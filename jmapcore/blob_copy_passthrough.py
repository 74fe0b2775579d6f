"""Blob/copy and Email/copy between a local (IMAP) account and a passthrough account (issue 12, item 3).

A "side" is one account of the caller's pool as a copy sees it: either a
local Account, whose blobs live in jmapcore.blobs, or a passthrough target,
whose blobs live on the upstream JMAP server (jmapcore.passthrough_blobs).
Copying between two sides reads from one and writes to the other through a
file, never the whole blob in memory: an upstream blob is downloaded into a
temporary file before it is stored locally, a local blob is uploaded to the
upstream from its file (RFC 8620 §6.3).

Copies between two accounts of one upstream login do not come here: the
forwarder sends the whole call upstream (backends/jmap/forward.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jmapcore import blobs
from jmapcore.passthrough_blobs import BlobPassthrough, UpstreamBlobMissing, passthrough_target

if TYPE_CHECKING:
    from accounts.models import Account
    from jmapcore.context import CallContext


@dataclass(frozen=True)
class BlobSide:
    """One account of a copy: `account` when local, `passthrough` (implementation, target) when upstream."""

    account_id: str
    account: Account | None
    passthrough: tuple[BlobPassthrough, Any] | None
    read_only: bool


def blob_side_find(ctx: CallContext, account_id: object) -> BlobSide | None:
    """The side of accountId `account_id` of the caller's pool, or None (not theirs / unknown).

    Passthrough targets are looked at first: the upstream's primary account
    has the passthrough Account's own accountid.
    """
    if not isinstance(account_id, str):
        return None
    forwarded = passthrough_target(accounts=ctx.accounts.values(), account_id=account_id)
    if forwarded is not None:
        return BlobSide(
            account_id=account_id,
            account=None,
            passthrough=forwarded,
            read_only=bool(getattr(forwarded[1], "is_read_only", False)),
        )
    account = ctx.accounts.get(account_id)
    if account is None:
        return None
    return BlobSide(account_id=account.accountid, account=account, passthrough=None, read_only=account.is_read_only)


def blob_side_copy(*, from_side: BlobSide, to_side: BlobSide, blob_id: str) -> str:
    """Copy blob `blob_id` of `from_side` into `to_side`; the blob id it has there.

    Raises blobs.BlobNotFound (the source has no such blob), blobs.BlobTooLarge
    (a local copy would pass maxSizeUpload) or passthrough_blobs.BlobProblem
    (the upstream failed). Nothing is left behind on failure: a local store
    is all or nothing, an upstream upload either answers a blob id or not.
    """
    if from_side.account is not None and to_side.account is not None:
        return blobs.blob_copy(from_account=from_side.account, to_account=to_side.account, blob_id=blob_id).blob_id
    limit = blobs.upload_limit()
    if from_side.passthrough is not None:
        implementation, target = from_side.passthrough
        try:
            fetched = implementation.blob_fetch(target=target, blob_id=blob_id, limit=_fetch_limit(to_side, limit))
        except UpstreamBlobMissing:
            raise blobs.BlobNotFound(blob_id) from None
        with fetched.file as handle:
            return _side_put(to_side, data=handle, type=fetched.type, size=fetched.size, limit=limit)
    assert from_side.account is not None  # one of the two is set (BlobSide)
    opened = blobs.blob_open(account=from_side.account, blob_id=blob_id)
    with opened.file as handle:
        return _side_put(to_side, data=handle, type=opened.type, size=opened.size, limit=limit)


def _fetch_limit(to_side: BlobSide, limit: int) -> int:
    # Into a local account the proxy's own maxSizeUpload applies; the upstream enforces its own.
    return limit if to_side.account is not None else 2**62


def _side_put(to_side: BlobSide, *, data: blobs.Readable, type: str, size: int, limit: int) -> str:
    if to_side.account is not None:
        stored = blobs.blob_store(account=to_side.account, data=data, type=type, limit=limit)
        return stored.blob_id
    assert to_side.passthrough is not None
    implementation, target = to_side.passthrough
    return implementation.blob_put(target=target, data=data, type=type, size=size)
