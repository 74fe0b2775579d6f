"""Email/get (RFC 8621 §4.2): list-view properties from the cache, everything
that needs the message itself (headers, header:*, body parts, bodyValues)
from the raw message, fetched from IMAP once per email and parsed."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from accounts.models import Account
from jmapcore.context import CallContext
from jmapcore.datatypes.prepared import PreparedValues
from jmapcore.datatypes.standard import objects_by_ids, rows_by_ids
from jmapcore.datatypes.values import utc_date_dump
from jmapcore.mail.message_properties import MESSAGE_PROPERTIES, message_property_values
from jmapcore.mail.message_source import email_message
from jmapcore.mime.headers import header_form_allowed, header_property_parse
from jmapcore.models.mail import Email
from jmapcore.protocol.arguments import read_bool, read_ids, read_strings, read_unsigned_int
from jmapcore.protocol.errors import MethodError
from jmapcore.state import type_state_get

CACHED = {
    "id",
    "blobId",
    "threadId",
    "mailboxIds",
    "keywords",
    "size",
    "receivedAt",
    "messageId",
    "inReplyTo",
    "references",
    "sender",
    "from",
    "to",
    "cc",
    "bcc",
    "replyTo",
    "subject",
    "sentAt",
    "hasAttachment",
    "preview",
}
BODY = MESSAGE_PROPERTIES
# The columns each cached property reads (cached_value), for `.only()`.
CACHED_COLUMNS = {
    "id": ("jmap_id",), "blobId": ("blob_id",), "threadId": ("thread_id",), "mailboxIds": ("mailbox_ids",),
    "keywords": ("keywords",), "size": ("size",), "receivedAt": ("received_at",),
    "messageId": ("message_id",), "inReplyTo": ("in_reply_to",), "references": ("references",),
    "sender": ("sender",), "from": ("from_addr",), "to": ("to",), "cc": ("cc",), "bcc": ("bcc",),
    "replyTo": ("reply_to",), "subject": ("subject",), "sentAt": ("sent_at", "sent_at_offset"),
    "hasAttachment": ("has_attachment",), "preview": ("preview",),
}  # fmt: skip
DEFAULT_PROPERTIES = [
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "messageId", "inReplyTo",
    "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt", "hasAttachment",
    "preview", "bodyValues", "textBody", "htmlBody", "attachments",
]
BODY_PART_PROPERTIES = {
    "partId", "blobId", "size", "headers", "name", "type", "charset", "disposition", "cid", "language",
    "location", "subParts",
}
DEFAULT_BODY_PROPERTIES = [
    "partId", "blobId", "size", "name", "type", "charset", "disposition", "cid", "language", "location",
]


def _date_with_offset(sent_at: dt.datetime | None, offset: int | None) -> str | None:
    """sentAt as RFC 3339 with the Date header's own offset (RFC 8621 §4.1.2.4)."""
    if sent_at is None:
        return None
    offset = offset or 0
    local = sent_at.astimezone(dt.timezone(dt.timedelta(minutes=offset)))
    if offset == 0:
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = "+" if offset > 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{hours:02d}:{minutes:02d}"


def _as_is(value: Any) -> Any:
    return value


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    # A fresh dict per response: nothing downstream can change the cached value.
    return dict(value)


# How each cached property is made from its CACHED_COLUMNS values, in order.
CACHED_DUMP: dict[str, Callable[..., Any]] = {
    **{name: _as_is for name in CACHED_COLUMNS},
    "mailboxIds": _copy,
    "keywords": _copy,
    "receivedAt": utc_date_dump,
    "sentAt": _date_with_offset,
}


def cached_value(email: Email, name: str) -> Any:
    """A list-view property straight from the cache row."""
    return CACHED_DUMP[name](*(getattr(email, column) for column in CACHED_COLUMNS[name]))


def _properties(args: dict[str, Any]) -> list[str]:
    properties = read_strings(args, "properties")
    if properties is None:
        return list(DEFAULT_PROPERTIES)
    for name in properties:
        if name in CACHED or name in BODY:
            continue
        parsed = header_property_parse(name) if name.startswith("header:") else None
        if parsed is None:
            raise MethodError("invalidArguments", f"properties: unknown {name}")
        field, form, _all = parsed
        if not header_form_allowed(field, form):
            raise MethodError("invalidArguments", f"properties: {name}: that form does not apply to {field}")
    return list(dict.fromkeys(properties))


def _body_properties(args: dict[str, Any]) -> list[str]:
    properties = read_strings(args, "bodyProperties")
    if properties is None:
        return list(DEFAULT_BODY_PROPERTIES)
    for name in properties:
        if name in BODY_PART_PROPERTIES:
            continue
        parsed = header_property_parse(name) if name.startswith("header:") else None
        if parsed is None:
            raise MethodError("invalidArguments", f"bodyProperties: unknown {name}")
    return list(dict.fromkeys(properties))


def email_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Email/get with properties, bodyProperties, fetchTextBodyValues,
    fetchHTMLBodyValues, fetchAllBodyValues and maxBodyValueBytes."""
    account = ctx.account(args.get("accountId"))
    ids = read_ids(args, "ids", references=True)
    properties = _properties(args)
    body_properties = _body_properties(args)
    fetch_text = read_bool(args, "fetchTextBodyValues", default=False)
    fetch_html = read_bool(args, "fetchHTMLBodyValues", default=False)
    fetch_all = read_bool(args, "fetchAllBodyValues", default=False)
    max_bytes = read_unsigned_int(args, "maxBodyValueBytes", default=0) or 0
    state = type_state_get(account=account, type_name="Email")
    needs_message = any(name not in CACHED for name in properties)
    if not needs_message and ids is not None:
        found, not_found = objects_by_ids(
            ctx, ids, fetch=lambda real: _list_view_items(account_id=account.pk, ids=real, properties=properties)
        )
        return {"accountId": account.accountid, "state": state, "list": found, "notFound": not_found}
    live = Email.objects.filter(account=account, destroyed=False)
    if not needs_message:
        # A list view: only the columns its properties read, not every address list.
        live = live.only("pk", "jmap_id", *(column for name in properties for column in CACHED_COLUMNS[name]))
    rows, not_found = rows_by_ids(ctx, live, ids, order_by=("-received_at", "-pk"))
    fetch = [which for which, on in (("all", fetch_all), ("text", fetch_text), ("html", fetch_html)) if on]
    result = []
    for email in rows:
        item: dict[str, Any] = {"id": email.jmap_id}
        for name in properties:
            if name in CACHED:
                item[name] = cached_value(email, name)
        if needs_message:
            item.update(
                _message_properties(
                    account=account,
                    email=email,
                    properties=properties,
                    body_properties=body_properties,
                    fetch=fetch,
                    max_bytes=max_bytes,
                )
            )
        result.append(item)
    return {"accountId": account.accountid, "state": state, "list": result, "notFound": not_found}


def _list_view_query(columns: tuple[str, ...]) -> PreparedValues:
    def build(account_id: int, ids: list[str]) -> QuerySet[Any]:
        return Email.objects.filter(account_id=account_id, destroyed=False, jmap_id__in=ids).values_list(
            "jmap_id", *columns
        )

    return PreparedValues(build, kinds=("int", "strs"))


# One prepared query per distinct column set a client asks for (clients ask
# for a few); past MAX_LIST_VIEW_QUERIES column sets, an ORM query each time.
MAX_LIST_VIEW_QUERIES = 32
_LIST_VIEW_QUERIES: dict[tuple[str, ...], PreparedValues] = {}


def _list_view_items(*, account_id: int, ids: list[str], properties: list[str]) -> dict[str, dict[str, Any]]:
    """{id: Email object} of the live emails among `ids` of the account, with
    `properties` (all of them CACHED): read as column tuples by one prepared
    query, no model instances (a list view asks for 50 of these per request)."""
    columns = tuple(dict.fromkeys(column for name in properties for column in CACHED_COLUMNS[name]))
    query = _LIST_VIEW_QUERIES.get(columns)
    if query is None:
        query = _list_view_query(columns)
        if len(_LIST_VIEW_QUERIES) < MAX_LIST_VIEW_QUERIES:
            _LIST_VIEW_QUERIES[columns] = query
    # (property, its dump, positions of its columns in a row); position 0 is jmap_id.
    position = {column: index for index, column in enumerate(columns, start=1)}
    plan = [
        (name, CACHED_DUMP[name], [position[column] for column in CACHED_COLUMNS[name]])
        for name in properties
        if name != "id"
    ]
    found: dict[str, dict[str, Any]] = {}
    for row in query(account_id, ids):
        item: dict[str, Any] = {"id": row[0]}
        for name, dump, positions in plan:
            item[name] = dump(*(row[index] for index in positions))
        found[row[0]] = item
    return found


def _message_properties(
    *,
    account: Account,
    email: Email,
    properties: list[str],
    body_properties: list[str],
    fetch: list[str],
    max_bytes: int,
) -> dict[str, Any]:
    """The properties that need the message: parsed once, from IMAP (or the disk cache)."""
    message, part_blob_id = email_message(account=account, email=email)
    return message_property_values(
        message=message,
        part_blob_id=part_blob_id,
        properties=properties,
        body_properties=body_properties,
        fetch=fetch,
        max_bytes=max_bytes,
    )
