"""Media given by blobId in ContactCard/set (RFC 9610 §3).

RFC 9610 lets a client give a Media object (RFC 9553 §2.6.4, a photo, logo or
sound) a ``blobId`` of uploaded data instead of a ``uri``. A vCard can only
carry the bytes inline, so the blob becomes a ``data:`` URI (RFC 2397) before
the converter writes PHOTO/LOGO/SOUND; its media type is the Media's
``mediaType``, else the type the upload was given.
"""
from __future__ import annotations

import base64
from typing import Any

from accounts.models import Account
from jmapcore.blobs import BlobNotFound, BlobTooLarge, blob_open, blob_read, media_type_clean

# A contact photo inline in a vCard; larger ones make cards no server keeps.
MAX_MEDIA_BLOB = 512 * 1024


def card_media_blobs_inline(*, account: Account, card: dict[str, Any], problems: dict[str, str]) -> None:
    """Replace every Media ``blobId`` of `card` (in place) by a data: URI of the
    blob's bytes; a blob the account cannot read, or one past MAX_MEDIA_BLOB,
    records a problem on "media"."""
    media = card.get("media")
    if not isinstance(media, dict):
        return
    for key, entry in media.items():
        if not isinstance(entry, dict) or "blobId" not in entry:
            continue
        blob_id = entry.get("blobId")
        try:
            found = blob_read(account=account, blob_id=blob_id, limit=MAX_MEDIA_BLOB)
        except BlobNotFound:
            problems["media"] = f"{str(key)[:64]}: no blob {str(blob_id)[:64]} in this account"
            continue
        except BlobTooLarge:
            problems["media"] = f"{str(key)[:64]}: the blob is larger than {MAX_MEDIA_BLOB} octets"
            continue
        given_type = entry.get("mediaType")
        if isinstance(given_type, str) and given_type.strip():
            media_type = media_type_clean(given_type)
        else:
            media_type = _blob_type(account=account, blob_id=str(blob_id))
        media_type = media_type.replace(" ", "")  # "a/b; x=y" -> "a/b;x=y" inside the URI
        encoded = base64.b64encode(found.data).decode("ascii")
        entry.pop("blobId")
        entry["uri"] = f"data:{media_type};base64,{encoded}"
        entry.setdefault("mediaType", media_type)


def _blob_type(*, account: Account, blob_id: str) -> str:
    opened = blob_open(account=account, blob_id=blob_id)
    opened.file.close()
    return media_type_clean(opened.type)
