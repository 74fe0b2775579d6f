"""Blob methods: Blob/copy (RFC 8620 §6.3) and the Blob management extension
(RFC 9404: capability §3, Blob/upload §4.1, Blob/get §4.2, Blob/lookup §4.3).

Creation ids: an id written "#name" stands for the blob created as "name"
earlier in the same request (RFC 8620 §5.3); Blob/upload records its creations
in ctx.created_ids so later calls, and later creations of the same call, can
refer to them.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from typing import Any

from accounts.models import Account
from jmapcore import blobs, limits
from jmapcore.blob_copy_passthrough import blob_side_copy, blob_side_find
from jmapcore.context import CallContext
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.passthrough_blobs import BlobProblem
from jmapcore.protocol.creation_ids import creation_id_resolve
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException, invalid_arguments
from jmapcore.registry import BLOB_REFERENCES, capability, method

BLOB_CAPABILITY = "urn:ietf:params:jmap:blob"
# RFC 9404 §3 asks servers to allow at least 64.
MAX_DATA_SOURCES = 64
# RFC 9404 §4.2 "digest:<algorithm>": names from the HTTP Digest Algorithm registry.
DIGEST_ALGORITHMS: dict[str, str] = {"sha": "sha1", "sha-256": "sha256"}
DATA_PROPERTIES = ("data", "data:asText", "data:asBase64")
DEFAULT_GET_PROPERTIES = ["data", "size"]


def _max_size_blob_set() -> int:
    return blobs.upload_limit()


def _blob_account_value(account: Account) -> dict[str, Any] | None:
    return {
        "maxSizeBlobSet": _max_size_blob_set(),
        "maxDataSources": MAX_DATA_SOURCES,
        "supportedTypeNames": sorted(BLOB_REFERENCES),
        "supportedDigestAlgorithms": list(DIGEST_ALGORITHMS),
    }


capability(BLOB_CAPABILITY, session_value=dict, account_value=_blob_account_value)


# ---------------------------------------------------------------- argument helpers


def _id_list(args: dict[str, Any], name: str, *, max_items: int) -> list[str]:
    value = args.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise invalid_arguments(f"{name} must be a list of ids")
    if len(value) > max_items:
        raise MethodError("requestTooLarge", f"at most {max_items} ids per call")
    return list(dict.fromkeys(value))


def _unsigned(args: dict[str, Any], name: str) -> int | None:
    value = args.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**53 - 1:
        raise invalid_arguments(f"{name} must be an UnsignedInt or null")
    return value


def _resolve(ctx: CallContext, blob_id: str) -> str | None:
    """A blob id, with "#creationId" replaced by the id created in this request (None if unknown)."""
    return creation_id_resolve(blob_id, created_ids=ctx.created_ids)


# ---------------------------------------------------------------- Blob/copy


@method("Blob/copy", capability=CORE_CAPABILITY)
def blob_copy_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8620 §6.3: make blobs of fromAccountId available in accountId.

    Both accounts must belong to the caller's pool: an unknown or foreign
    fromAccountId is fromAccountNotFound, an accountId accountNotFound.
    Either may be a passthrough account (issue 12): its blobs are read from
    or written to the upstream server (jmapcore.blob_copy_passthrough); a
    copy between two accounts of one upstream login never reaches here,
    it is forwarded whole.
    """
    from_id = args.get("fromAccountId")
    if not isinstance(from_id, str):
        raise invalid_arguments("fromAccountId must be a string")
    from_side = blob_side_find(ctx, from_id)
    if from_side is None:
        raise MethodError("fromAccountNotFound")
    if not isinstance(args.get("accountId"), str):
        raise invalid_arguments("accountId must be a string")
    to_side = blob_side_find(ctx, args.get("accountId"))
    if to_side is None:
        raise MethodError("accountNotFound")
    if to_side.read_only:
        raise MethodError("accountReadOnly")
    blob_ids = _id_list(args, "blobIds", max_items=limits.LIMITS.maxObjectsInSet)

    copied: dict[str, str] = {}
    not_copied: dict[str, Any] = {}
    for blob_id in blob_ids:
        real = _resolve(ctx, blob_id)
        try:
            if real is None:
                raise blobs.BlobNotFound(blob_id)
            copied[blob_id] = blob_side_copy(from_side=from_side, to_side=to_side, blob_id=real)
        except blobs.BlobNotFound:
            not_copied[blob_id] = SetError("notFound", f"no blob {blob_id} in {from_id}").to_json()
        except blobs.BlobTooLarge as exc:
            not_copied[blob_id] = SetError("tooLarge", f"blob {blob_id} is larger than {exc.limit} octets").to_json()
        except BlobProblem as problem:
            not_copied[blob_id] = SetError("serverFail", f"upstream: {problem.detail}").to_json()
    return {
        "fromAccountId": from_side.account_id,
        "accountId": to_side.account_id,
        "copied": copied or None,
        "notCopied": not_copied or None,
    }


# ---------------------------------------------------------------- Blob/upload


def _invalid(path: str, description: str) -> SetErrorException:
    return SetErrorException(SetError("invalidProperties", description, properties=[path]))


class _Part:
    """One checked DataSourceObject: inline octets, or a range of an existing blob."""

    def __init__(self, *, data: bytes | None = None, blob_id: str = "", offset: int = 0, length: int = 0) -> None:
        self.data = data
        self.blob_id = blob_id
        self.offset = offset
        self.length = len(data) if data is not None else length


def _check_source(ctx: CallContext, account: Account, index: int, source: object) -> _Part:
    path = f"data/{index}"
    if not isinstance(source, dict):
        raise _invalid(path, "a data source must be an object")
    kinds = [key for key in ("data:asText", "data:asBase64", "blobId") if key in source]
    if len(kinds) != 1:
        raise _invalid(path, "a data source has exactly one of data:asText, data:asBase64 or blobId")
    kind = kinds[0]
    allowed = {kind, "offset", "length"} if kind == "blobId" else {kind}
    for key in source:
        if key not in allowed:
            raise _invalid(f"{path}/{key}", f"unexpected property {key}")
    value = source[kind]
    if kind == "data:asText":
        if not isinstance(value, str):
            raise _invalid(f"{path}/{kind}", "must be a string")
        try:
            return _Part(data=value.encode("utf-8"))
        except UnicodeEncodeError:  # lone surrogates from JSON "\ud800"
            raise _invalid(f"{path}/{kind}", "not valid Unicode text")
    if kind == "data:asBase64":
        if not isinstance(value, str):
            raise _invalid(f"{path}/{kind}", "must be a string")
        try:
            return _Part(data=base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise _invalid(f"{path}/{kind}", "not valid base64")
    if not isinstance(value, str) or not value:
        raise _invalid(f"{path}/blobId", "must be an id")
    offset, length = source.get("offset"), source.get("length")
    for key, number in (("offset", offset), ("length", length)):
        if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 0):
            raise _invalid(f"{path}/{key}", "must be an UnsignedInt or null")
    real = _resolve(ctx, value)
    try:
        if real is None:
            raise blobs.BlobNotFound(value)
        opened = blobs.blob_open(account=account, blob_id=real)
    except blobs.BlobNotFound:
        raise SetErrorException(SetError("notFound", f"no blob {value}", extra={"notFound": [value]}))
    opened.file.close()
    start = offset or 0
    count = opened.size - start if length is None else length
    if start > opened.size or start + count > opened.size:
        raise _invalid(path, f"range goes past the end of blob {value} ({opened.size} octets)")
    return _Part(blob_id=real, offset=start, length=count)


def _part_chunks(account: Account, parts: list[_Part]) -> Iterator[bytes]:
    for part in parts:
        if part.data is not None:
            yield part.data
            continue
        if part.length == 0:
            continue
        opened = blobs.blob_open(account=account, blob_id=part.blob_id)
        with opened.file as handle:
            handle.seek(part.offset)
            remaining = part.length
            while remaining > 0:
                chunk = handle.read(min(blobs.CHUNK_SIZE, remaining))
                if not chunk:
                    raise blobs.BlobNotFound(part.blob_id)  # shrank under us: treat as gone
                remaining -= len(chunk)
                yield chunk


def _create_one(ctx: CallContext, account: Account, upload: object) -> dict[str, Any]:
    if not isinstance(upload, dict):
        raise SetErrorException(SetError("invalidProperties", "an upload must be an object", properties=[]))
    for key in upload:
        if key not in ("data", "type"):
            raise _invalid(key, f"unexpected property {key}")
    media_type = upload.get("type")
    if media_type is not None and (
        not isinstance(media_type, str) or blobs.media_type_clean(media_type) != media_type.strip()
    ):
        raise _invalid("type", "not a media type")
    sources = upload.get("data")
    if not isinstance(sources, list):
        raise _invalid("data", "data must be a list of data sources")
    if len(sources) > MAX_DATA_SOURCES:
        raise _invalid("data", f"at most {MAX_DATA_SOURCES} data sources (maxDataSources)")
    parts = [_check_source(ctx, account, index, source) for index, source in enumerate(sources)]
    limit = _max_size_blob_set()
    if sum(part.length for part in parts) > limit:
        raise SetErrorException(SetError("tooLarge", f"blobs are limited to {limit} octets (maxSizeBlobSet)"))
    clean_type = blobs.media_type_clean(media_type)
    try:
        row = blobs.blob_store(account=account, data=_part_chunks(account, parts), type=clean_type, limit=limit)
    except blobs.BlobNotFound as exc:
        raise SetErrorException(SetError("notFound", f"no blob {exc.blob_id}", extra={"notFound": [exc.blob_id]}))
    except blobs.BlobTooLarge:
        raise SetErrorException(SetError("tooLarge", f"blobs are limited to {limit} octets (maxSizeBlobSet)"))
    return {"id": row.blob_id, "type": clean_type, "size": row.size}


@method("Blob/upload", capability=BLOB_CAPABILITY)
def blob_upload_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9404 §4.1: create blobs from inline text, base64 and ranges of other blobs.

    Each creation succeeds or fails alone (invalidProperties, notFound with
    the missing ids, tooLarge over maxSizeBlobSet); successes land in
    ctx.created_ids for "#creationId" references.
    """
    account = ctx.account(args.get("accountId"))
    create = args.get("create")
    if not isinstance(create, dict):
        raise invalid_arguments("create must be an object of creation id to upload object")
    if len(create) > limits.LIMITS.maxObjectsInSet:
        raise MethodError("requestTooLarge", f"at most {limits.LIMITS.maxObjectsInSet} creations per call")
    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    for creation_id, upload in create.items():
        try:
            created[creation_id] = _create_one(ctx, account, upload)
            ctx.created_ids[creation_id] = created[creation_id]["id"]
        except SetErrorException as exc:
            not_created[creation_id] = exc.error.to_json()
    return {"accountId": account.accountid, "created": created or None, "notCreated": not_created or None}


# ---------------------------------------------------------------- Blob/get


def _get_properties(args: dict[str, Any]) -> list[str]:
    value = args.get("properties")
    if value is None:
        return list(DEFAULT_GET_PROPERTIES)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid_arguments("properties must be a list of strings")
    for name in value:
        if name in ("id", "size", *DATA_PROPERTIES):
            continue
        if name.startswith("digest:") and name[len("digest:"):] in DIGEST_ALGORITHMS:
            continue
        raise invalid_arguments(f"unknown or unsupported property {name}")
    return list(dict.fromkeys(value))


def _blob_item(blob_id: str, found: blobs.BlobRange, properties: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": blob_id}
    text: str | None = None
    wants_text = "data" in properties or "data:asText" in properties
    if wants_text:
        try:
            text = found.data.decode("utf-8")
        except UnicodeDecodeError:
            item["isEncodingProblem"] = True
    if "data:asText" in properties:
        item["data:asText"] = text
    if "data:asBase64" in properties or ("data" in properties and text is None):
        item["data:asBase64"] = base64.b64encode(found.data).decode("ascii")
    if "data" in properties and text is not None and "data:asText" not in properties:
        item["data:asText"] = text
    for name in properties:
        if name.startswith("digest:"):
            digest = hashlib.new(DIGEST_ALGORITHMS[name[len("digest:"):]], found.data).digest()
            item[name] = base64.b64encode(digest).decode("ascii")
    if "size" in properties:
        item["size"] = found.size
    if found.truncated:
        item["isTruncated"] = True
    return item


@method("Blob/get", capability=BLOB_CAPABILITY)
def blob_get_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9404 §4.2: blob contents as text or base64, digests and size.

    `offset`/`length` select a range of every blob; data and digests cover
    that range, `size` is the whole blob. A range past the end returns what
    there is with isTruncated; text that is not UTF-8 sets isEncodingProblem
    (data:asText is then null, and "data" falls back to base64).
    """
    account = ctx.account(args.get("accountId"))
    if args.get("ids") is None:
        raise invalid_arguments("ids is required: blobs cannot be listed")
    ids = _id_list(args, "ids", max_items=limits.LIMITS.maxObjectsInGet)
    properties = _get_properties(args)
    offset = _unsigned(args, "offset") or 0
    length = _unsigned(args, "length")
    needs_octets = any(name in DATA_PROPERTIES or name.startswith("digest:") for name in properties)
    limit = _max_size_blob_set()

    items: list[dict[str, Any]] = []
    not_found: list[str] = []
    for blob_id in ids:
        real = _resolve(ctx, blob_id)
        try:
            if real is None:
                raise blobs.BlobNotFound(blob_id)
            if needs_octets:
                found = blobs.blob_read(account=account, blob_id=real, offset=offset, length=length, limit=limit)
            else:
                opened = blobs.blob_open(account=account, blob_id=real)
                opened.file.close()
                found = blobs.BlobRange(b"", opened.size, False)
        except blobs.BlobNotFound:
            not_found.append(blob_id)
            continue
        except blobs.BlobTooLarge:
            raise MethodError(
                "requestTooLarge", f"blob {blob_id} is larger than {limit} octets: ask for a range (offset/length)"
            )
        items.append(_blob_item(real, found, properties))
    return {"accountId": account.accountid, "list": items, "notFound": not_found}


# ---------------------------------------------------------------- Blob/lookup


@method("Blob/lookup", capability=BLOB_CAPABILITY)
def blob_lookup_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9404 §4.3: which objects of the given types refer to each blob.

    A type name that is not registered in jmapcore.registry.BLOB_REFERENCES,
    or whose capability the request does not use, is unknownDataType.
    """
    account = ctx.account(args.get("accountId"))
    type_names = args.get("typeNames")
    if not isinstance(type_names, list) or not all(isinstance(name, str) for name in type_names):
        raise invalid_arguments("typeNames must be a list of type names")
    type_names = list(dict.fromkeys(type_names))
    for name in type_names:
        registered = BLOB_REFERENCES.get(name)
        if registered is None or registered[0] not in ctx.using:
            raise MethodError("unknownDataType", f"cannot look up blobs in {name}")
    ids = _id_list(args, "ids", max_items=limits.LIMITS.maxObjectsInGet)

    resolved = {blob_id: _resolve(ctx, blob_id) for blob_id in ids}
    real_ids = [real for real in resolved.values() if real is not None]
    matches: dict[str, dict[str, list[str]]] = {}
    for name in type_names:
        finder = BLOB_REFERENCES[name][1]
        matches[name] = finder(account, real_ids) if real_ids else {}

    items: list[dict[str, Any]] = []
    not_found: list[str] = []
    for blob_id, real in resolved.items():
        if real is None:
            not_found.append(blob_id)
            continue
        matched = {name: list(matches[name].get(real, [])) for name in type_names}
        if not any(matched.values()) and not blobs.blob_exists(account=account, blob_id=real):
            not_found.append(blob_id)
            continue
        items.append({"id": real, "matchedIds": matched})
    return {"accountId": account.accountid, "list": items, "notFound": not_found}
