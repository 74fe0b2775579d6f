"""Binary data: storing, opening, copying and expiring blobs (RFC 8620 §6, RFC 9404).

Storage
    The bytes of an upload are written once under settings.BLOB_DIR, named by
    their SHA-256 (``ab/cd/abcd…``), first into ``tmp/`` and then linked into
    place, so a reader never sees a half-written file. A file is shared by every
    UploadedBlob row with that digest, whatever the account; whether someone may
    read it is decided only by the row of their own account.

Blob ids
    Uploaded blobs get ``"B"`` + the unpadded base64url SHA-256 of their bytes.
    So the same bytes uploaded twice into one account give the same blobId
    (RFC 8620 §6.1 allows this); the second upload just renews the expiry.
    Ids of other shapes belong to blob *sources* that backends register with
    register_blob_source() (e.g. message and body-part blobs served from IMAP):
    their prefixes must not start with "B" and must not overlap each other.

Expiry
    An upload nothing refers to expires UNREFERENCED_TTL after its last upload
    (RFC 8620 §6.1: at least one hour). Whoever makes an object refer to a blob
    calls blob_keep(); blob_purge_expired() (run periodically) deletes expired
    rows and then every file no remaining row points at.

Concurrency
    Nothing here relies on process memory: rows live in the database and bytes
    on disk, so any number of processes may store, read and purge at once.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple, Protocol, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from jmapcore import limits
from jmapcore.models.blob import UploadedBlob

if TYPE_CHECKING:
    from accounts.models import Account

# How long an upload nobody refers to is kept (RFC 8620 §6.1 asks for at least 1h).
UNREFERENCED_TTL = timedelta(hours=24)
UPLOAD_ID_PREFIX = "B"
DEFAULT_TYPE = "application/octet-stream"
CHUNK_SIZE = 64 * 1024

# RFC 9110 §5.6.2 token and §5.6.4 quoted-string, for media types (§8.3.1).
_TCHARS = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\\x00-\x1f\x7f]|\\[\x20-\x7e])*"'
_PARAMETER = rf"[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|{_QUOTED})"
_MEDIA_TYPE_RE = re.compile(rf"{_TCHARS}/{_TCHARS}(?:{_PARAMETER})*[ \t]*;?")


class Readable(Protocol):
    """Anything with a binary read(size), such as a file or Django's request."""

    def read(self, size: int = -1, /) -> bytes: ...


class BlobError(Exception):
    """Base of the errors this module raises."""


class BlobNotFound(BlobError):
    """No blob with this id is visible to this account (RFC 8620 §6.2: 404)."""

    def __init__(self, blob_id: object) -> None:
        super().__init__(f"blob not found: {blob_id!r}")
        self.blob_id = blob_id


class BlobTooLarge(BlobError):
    """The data exceeds `limit` octets (maxSizeUpload / maxSizeBlobSet)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"blob larger than {limit} octets")
        self.limit = limit


class OpenedBlob(NamedTuple):
    """An open blob: a binary file positioned at 0, its size and media type."""

    file: IO[bytes]
    size: int
    type: str


# (account, blob id) -> OpenedBlob; raises BlobNotFound for ids it cannot serve.
BlobOpener = Callable[["Account", str], OpenedBlob]
BlobExists = Callable[["Account", str], bool]


@dataclass(frozen=True)
class BlobSource:
    prefix: str
    opener: BlobOpener
    exists: BlobExists | None = None


_SOURCES: dict[str, BlobSource] = {}


def register_blob_source(prefix: str, opener: BlobOpener, *, exists: BlobExists | None = None) -> None:
    """Let a backend serve blob ids starting with `prefix` (download, Blob/get, Blob/copy…).

    `opener(account, blob_id)` must check that the blob belongs to `account`
    and raise BlobNotFound otherwise. `exists` is an optional cheaper check
    for Blob/lookup; without it the blob is opened and closed.
    """
    if not prefix or not re.fullmatch(r"[A-Za-z0-9_-]+", prefix):
        raise ValueError(f"blob id prefix must be URL-safe base64 characters: {prefix!r}")
    if prefix.startswith(UPLOAD_ID_PREFIX):
        raise ValueError(f"blob id prefix {prefix!r} collides with uploaded blob ids ({UPLOAD_ID_PREFIX!r})")
    for other in _SOURCES:
        if other != prefix and (other.startswith(prefix) or prefix.startswith(other)):
            raise ValueError(f"blob id prefix {prefix!r} overlaps {other!r}")
    _SOURCES[prefix] = BlobSource(prefix=prefix, opener=opener, exists=exists)


def unregister_blob_source(prefix: str) -> None:
    _SOURCES.pop(prefix, None)


def _source_for(blob_id: str) -> BlobSource | None:
    for prefix, source in _SOURCES.items():
        if blob_id.startswith(prefix):
            return source
    return None


def media_type_clean(value: object) -> str:
    """`value` if it is a syntactically valid media type (RFC 6838/9110), else the default.

    Parameters are kept ("text/plain; charset=utf-8"); anything that could
    break a header (controls, line breaks) makes the value invalid.
    """
    if not isinstance(value, str):
        return DEFAULT_TYPE
    value = value.strip()
    if not value or len(value) > 255 or not _MEDIA_TYPE_RE.fullmatch(value):
        return DEFAULT_TYPE
    return value


def upload_limit() -> int:
    """maxSizeUpload, read at call time so that a changed LIMITS takes effect."""
    return limits.LIMITS.maxSizeUpload


# ---------------------------------------------------------------- files on disk


def _blob_root() -> Path:
    return Path(settings.BLOB_DIR)


def _tmp_dir() -> Path:
    path = _blob_root() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def blob_file_path(sha256: str) -> Path:
    """Where the bytes with this hex digest live (two levels of sharding)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a SHA-256 hex digest")
    return _blob_root() / sha256[:2] / sha256[2:4] / sha256


def _chunks(data: bytes | Readable | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
        return
    read = getattr(data, "read", None)
    if read is not None:
        while True:
            chunk = read(CHUNK_SIZE)
            if not chunk:
                return
            yield chunk
    else:
        yield from cast("Iterable[bytes]", data)


def _spool(data: bytes | Readable | Iterable[bytes], limit: int) -> tuple[Path, str, int]:
    """Write `data` to a temporary file, hashing it; (path, sha256 hex, size)."""
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(prefix="up-", dir=_tmp_dir())
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _chunks(data):
                size += len(chunk)
                if size > limit:
                    raise BlobTooLarge(limit)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(path, 0o640)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def _settle(tmp: Path, final: Path) -> None:
    """After commit: make sure the file is in place, then drop the temporary name.

    A purge running in another process between our link and our commit could
    not see our (uncommitted) row and may have removed the file; the temporary
    name still holds the bytes, so put them back.
    """
    try:
        if final.exists():
            tmp.unlink(missing_ok=True)
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
    except OSError:
        # Leave tmp for the sweep; the row's file is re-checked on every open.
        pass


def _publish(tmp: Path, sha256: str) -> None:
    final = blob_file_path(sha256)
    final.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.link(tmp, final)
    transaction.on_commit(partial(_settle, tmp, final))


def _upload_blob_id(sha256: str) -> str:
    raw = bytes.fromhex(sha256)
    return UPLOAD_ID_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _row_upsert(*, account: Account, sha256: str, size: int, type: str) -> UploadedBlob:
    """The account's row for these bytes: created, or renewed if it exists."""
    blob_id = _upload_blob_id(sha256)
    expires_at = timezone.now() + UNREFERENCED_TTL
    for _attempt in range(3):
        row, created = UploadedBlob.objects.get_or_create(
            account=account,
            blob_id=blob_id,
            defaults={"sha256": sha256, "size": size, "type": type, "expires_at": expires_at},
        )
        if created:
            return row
        # One statement, so a concurrent purge either deleted the row before
        # (0 rows: create it again) or sees the renewed expiry after.
        renewed = UploadedBlob.objects.filter(pk=row.pk).update(
            type=type,
            expires_at=Case(When(expires_at__isnull=True, then=Value(None)), default=Value(expires_at)),
        )
        if renewed:
            row.refresh_from_db()
            return row
    raise BlobError("could not record the upload")  # pragma: no cover - needs a purge on every attempt


# ---------------------------------------------------------------- services


def blob_store(
    *,
    account: Account,
    data: bytes | Readable | Iterable[bytes],
    type: str | None = None,
    limit: int | None = None,
) -> UploadedBlob:
    """Store `data` (bytes, a binary stream or an iterable of chunks) for `account`.

    Streams to disk, never holding more than one chunk in memory. Raises
    BlobTooLarge when more than `limit` octets arrive (default: maxSizeUpload,
    RFC 8620 §2) and leaves nothing behind. The new row expires after
    UNREFERENCED_TTL unless blob_keep() is called.
    """
    max_size = upload_limit() if limit is None else limit
    tmp, sha256, size = _spool(data, max_size)
    try:
        row = _row_upsert(account=account, sha256=sha256, size=size, type=media_type_clean(type))
        _publish(tmp, sha256)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return row


def blob_open(*, account: Account, blob_id: object) -> OpenedBlob:
    """Open blob `blob_id` of `account` for reading; BlobNotFound if this account can't see it.

    The caller closes `.file`. A blob id of another account is not found,
    even when the same bytes are stored for both.
    """
    if not isinstance(blob_id, str) or not blob_id:
        raise BlobNotFound(blob_id)
    source = _source_for(blob_id)
    if source is not None:
        return source.opener(account, blob_id)
    row = UploadedBlob.objects.filter(account=account, blob_id=blob_id).first()
    if row is None:
        raise BlobNotFound(blob_id)
    try:
        handle = open(blob_file_path(row.sha256), "rb")  # returned to the caller, who closes it
    except FileNotFoundError:
        raise BlobNotFound(blob_id)
    return OpenedBlob(handle, row.size, row.type)


def blob_exists(*, account: Account, blob_id: object) -> bool:
    """Whether `account` can read blob `blob_id`."""
    if not isinstance(blob_id, str) or not blob_id:
        return False
    source = _source_for(blob_id)
    if source is not None and source.exists is not None:
        return source.exists(account, blob_id)
    try:
        opened = blob_open(account=account, blob_id=blob_id)
    except BlobNotFound:
        return False
    opened.file.close()
    return True


class BlobRange(NamedTuple):
    """Part of a blob: the octets, the whole blob's size, and whether the range ran past the end."""

    data: bytes
    size: int
    truncated: bool


def blob_read(
    *, account: Account, blob_id: object, offset: int = 0, length: int | None = None, limit: int | None = None
) -> BlobRange:
    """Read octets [offset, offset+length) of a blob into memory (RFC 9404 §4.2 ranges).

    A range reaching past the end returns what exists with `truncated` set.
    Raises BlobTooLarge if more than `limit` octets (default maxSizeUpload)
    would be returned, BlobNotFound as blob_open.
    """
    max_size = upload_limit() if limit is None else limit
    opened = blob_open(account=account, blob_id=blob_id)
    with opened.file as handle:
        available = max(opened.size - offset, 0)
        wanted = available if length is None else length
        truncated = wanted > available
        count = min(wanted, available)
        if count > max_size:
            raise BlobTooLarge(max_size)
        if offset:
            handle.seek(offset)
        data = handle.read(count) if count else b""
    return BlobRange(data, opened.size, truncated)


def blob_copy(*, from_account: Account, to_account: Account, blob_id: object) -> UploadedBlob:
    """Make blob `blob_id` of `from_account` readable by `to_account` (RFC 8620 §6.3).

    Uploads share their file, so only a row is added; blobs of a registered
    source are read and stored. The copy is a fresh upload of `to_account`
    and expires like one.
    """
    if not isinstance(blob_id, str) or not blob_id:
        raise BlobNotFound(blob_id)
    if _source_for(blob_id) is None:
        row = UploadedBlob.objects.filter(account=from_account, blob_id=blob_id).first()
        if row is None or not blob_file_path(row.sha256).exists():
            raise BlobNotFound(blob_id)
        copy = _row_upsert(account=to_account, sha256=row.sha256, size=row.size, type=row.type)
        if not blob_file_path(row.sha256).exists():
            # The source expired and was purged between our two looks.
            raise BlobNotFound(blob_id)
        return copy
    opened = blob_open(account=from_account, blob_id=blob_id)
    with opened.file as handle:
        return blob_store(account=to_account, data=handle, type=opened.type, limit=max(opened.size, upload_limit()))


def blob_keep(*, account: Account, blob_id: str) -> None:
    """Mark an upload as referenced so that it no longer expires.

    Call it when an object starts to refer to the blob. Blob ids of a
    registered source are kept by their backend: nothing to do.
    Raises BlobNotFound for an id `account` cannot see.
    """
    if _source_for(blob_id) is not None:
        if not blob_exists(account=account, blob_id=blob_id):
            raise BlobNotFound(blob_id)
        return
    if not UploadedBlob.objects.filter(account=account, blob_id=blob_id).update(expires_at=None):
        raise BlobNotFound(blob_id)


def blob_release(*, account: Account, blob_id: str, now: datetime | None = None) -> None:
    """Undo blob_keep(): the upload expires UNREFERENCED_TTL from `now` unless kept again."""
    moment = now or timezone.now()
    UploadedBlob.objects.filter(account=account, blob_id=blob_id, expires_at__isnull=True).update(
        expires_at=moment + UNREFERENCED_TTL
    )


def _file_release(sha256: str) -> bool:
    """Delete the file of `sha256` if no row refers to it; True if deleted.

    The file is first renamed away, then the rows are looked at again: a
    store that created a row in between gets its file back.
    """
    if UploadedBlob.objects.filter(sha256=sha256).exists():
        return False
    final = blob_file_path(sha256)
    trash = _tmp_dir() / f"purge-{sha256}-{secrets.token_hex(4)}"
    try:
        os.replace(final, trash)
    except FileNotFoundError:
        return False
    if UploadedBlob.objects.filter(sha256=sha256).exists():
        os.replace(trash, final)
        return False
    trash.unlink(missing_ok=True)
    for parent in (final.parent, final.parent.parent):
        with contextlib.suppress(OSError):
            parent.rmdir()  # only succeeds when empty
    return True


def _tmp_sweep(*, older_than: datetime) -> None:
    """Remove temporary files of uploads that crashed or were never committed."""
    cutoff = older_than.timestamp()
    tmp = _tmp_dir()
    for entry in tmp.iterdir():
        with contextlib.suppress(OSError):
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()


def blob_purge_expired(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Delete uploads whose expiry has passed, and files no row refers to any more.

    Returns the number of rows deleted. A file shared with another row (of
    any account) stays. Safe to run in several processes at once.
    """
    moment = now or timezone.now()
    deleted_rows = 0
    while True:
        batch = list(UploadedBlob.objects.filter(expires_at__lte=moment).values_list("pk", "sha256")[:batch_size])
        if not batch:
            break
        # The expiry is checked again by the DELETE itself: an upload renewed
        # since the SELECT survives.
        count, _ = UploadedBlob.objects.filter(pk__in=[pk for pk, _sha in batch], expires_at__lte=moment).delete()
        deleted_rows += count
        for sha256 in {sha for _pk, sha in batch}:
            _file_release(sha256)
        if count == 0:
            break
    _tmp_sweep(older_than=moment - UNREFERENCED_TTL)
    return deleted_rows
