"""Email/parse (RFC 8621 §4.9): uploaded or stored messages as Email objects."""
from __future__ import annotations

from typing import Any

from jmapcore.blobs import BlobError
from jmapcore.context import CallContext
from jmapcore.limits import LIMITS
from jmapcore.mail.email_get import BODY_PART_PROPERTIES, DEFAULT_BODY_PROPERTIES
from jmapcore.mail.message_properties import message_property_values
from jmapcore.mail.message_source import message_bytes, part_blob_id
from jmapcore.mime.headers import header_form_allowed, header_property_parse
from jmapcore.mime.parse import ParsedMessage, message_parse
from jmapcore.protocol.arguments import read_bool, read_ids, read_strings, read_unsigned_int
from jmapcore.protocol.errors import MethodError

# Properties that only an email stored in a mailbox has: null here (§4.9).
STORAGE_ONLY = ("id", "mailboxIds", "keywords", "receivedAt", "threadId")
PARSE_PROPERTIES = {
    "blobId", "size", "messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo",
    "subject", "sentAt", "hasAttachment", "preview", "headers", "bodyStructure", "textBody", "htmlBody",
    "attachments", "bodyValues", *STORAGE_ONLY,
}
DEFAULT_PARSE_PROPERTIES = [
    "messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt",
    "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments",
]


def _check(names: list[str], allowed: set[str], what: str) -> None:
    for name in names:
        if name in allowed:
            continue
        parsed = header_property_parse(name) if name.startswith("header:") else None
        if parsed is None or not header_form_allowed(parsed[0], parsed[1]):
            raise MethodError("invalidArguments", f"{what}: unknown {name}")


def parsed_email_json(
    *,
    message: ParsedMessage,
    blob_id: str,
    properties: list[str],
    body_properties: list[str],
    fetch: list[str],
    max_bytes: int,
) -> dict[str, Any]:
    """One parsed message as an Email object limited to `properties`."""
    metadata = message.metadata()
    result: dict[str, Any] = message_property_values(
        message=message,
        part_blob_id=lambda part_id: part_blob_id(blob_id, part_id),
        properties=properties,
        body_properties=body_properties,
        fetch=fetch,
        max_bytes=max_bytes,
    )
    for name in properties:
        if name in result:
            continue
        if name in STORAGE_ONLY:
            result[name] = None
        elif name == "blobId":
            result[name] = blob_id
        elif name == "size":
            result[name] = message.size
        elif name == "hasAttachment":
            result[name] = message.has_attachment
        elif name == "preview":
            result[name] = message.preview
        else:
            result[name] = metadata.get(name)
    return {name: result[name] for name in properties}


def email_parse(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    account = ctx.account(args.get("accountId"))
    blob_ids = read_ids(args, "blobIds") or []
    if len(blob_ids) > LIMITS.maxObjectsInGet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInGet} blobs per Email/parse")
    properties = read_strings(args, "properties") or list(DEFAULT_PARSE_PROPERTIES)
    body_properties = read_strings(args, "bodyProperties") or list(DEFAULT_BODY_PROPERTIES)
    _check(properties, PARSE_PROPERTIES, "properties")
    _check(body_properties, BODY_PART_PROPERTIES, "bodyProperties")
    fetch = [
        which
        for which, flag in (
            ("all", read_bool(args, "fetchAllBodyValues", default=False)),
            ("text", read_bool(args, "fetchTextBodyValues", default=False)),
            ("html", read_bool(args, "fetchHTMLBodyValues", default=False)),
        )
        if flag
    ]
    max_bytes = read_unsigned_int(args, "maxBodyValueBytes", default=0) or 0
    parsed: dict[str, Any] = {}
    not_parsable: list[str] = []
    not_found: list[str] = []
    for blob_id in dict.fromkeys(blob_ids):
        try:
            raw = message_bytes(account=account, blob_id=blob_id)
        except BlobError:
            not_found.append(blob_id)
            continue
        message = message_parse(raw)
        if not message.headers:
            not_parsable.append(blob_id)
            continue
        parsed[blob_id] = parsed_email_json(
            message=message,
            blob_id=blob_id,
            properties=properties,
            body_properties=body_properties,
            fetch=fetch,
            max_bytes=max_bytes,
        )
    return {
        "accountId": account.accountid,
        "parsed": parsed or None,
        "notParsable": not_parsable or None,
        "notFound": not_found or None,
    }
