"""One FETCH answer straight to the row values the store writes (issue 9).

The fetch processes of a large sync (backends.imap.fetch_child) turn every
message into a PreparedMessage. The reference route does it in two steps —
`messages.message_from_fetch` builds a FetchedMessage with its ParsedHeaders
(address lists as lists of dicts, frozen dataclasses), then
`message_store.message_prepare` turns those into column values — and pays
for the intermediate objects on every message.

`message_prepare_fast` gives the very same PreparedMessage in one step:

- header fields are read once (message_parse.header_fields) and each value
  goes straight to its column form;
- an address field's column values (its JSON and its lower-cased text) are
  computed once per distinct raw value of the field and remembered
  (`PrepareMemo.addresses`): a sync's From, To and Cc values repeat message
  after message; the parse is the same function on the same text, so the
  answer is what the reference route gives;
- a Subject's value and base subject likewise (`PrepareMemo.subjects`).

It is total in the same way as the reference route: on any exception it
answers None and the caller takes the reference route, which records the
message's parse problem and keeps what can be read (issue 8).
tests/backends/imap/test_fetch_prepare.py compares both routes on real
Dovecot answers and on the hostile corpus.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from backends.imap import message_parse as mp
from backends.imap.message_store import PreparedMessage, RowAdapters, utc_offset_minutes, zone_plain
from backends.imap.threading import thread_keys

# isinstance() with a tuple of types: `tuple | list` would build a union at every call.
_SEQUENCE = (tuple, list)
# Distinct values remembered per memo (per fetch process and sync); a value
# longer than MEMO_VALUE_MAX characters is computed every time (a hostile
# header must not be kept).
MEMO_ENTRIES_MAX = 8192
MEMO_VALUE_MAX = 1024
_ADDRESS_FIELDS = ("sender", "from", "to", "cc", "bcc", "reply-to")


@dataclass
class PrepareMemo:
    """Column values of header values already seen by one fetch process."""

    addresses: dict[str, tuple[Any, str]] = field(default_factory=dict)  # raw value -> (JSON, text)
    subjects: dict[str, tuple[str, str]] = field(default_factory=dict)  # raw value -> (subject, base subject)


def changed_values(data: dict[bytes, Any]) -> tuple[list[str], int]:
    """FLAGS (without \\Recent) and MODSEQ of one FETCH answer (RFC 7162 §3.1.4)."""
    modseq = data.get(b"MODSEQ")
    number = int(modseq[0]) if isinstance(modseq, _SEQUENCE) and modseq else 0
    return mp.flags_text(data.get(b"FLAGS")), number


def header_bytes(data: dict[bytes, Any]) -> bytes | None:
    """The BODY[HEADER.FIELDS (...)] literal of one FETCH answer."""
    for key, value in data.items():
        if key.startswith(b"BODY[HEADER.FIELDS") and isinstance(value, bytes):
            return value
    return None


def object_id(value: Any) -> str:
    """EMAILID/THREADID (RFC 8474 §5.1) as text; "" when absent."""
    if isinstance(value, _SEQUENCE):
        value = value[0] if value else b""
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return str(value) if value else ""


def received_at_value(value: Any) -> dt.datetime:
    """INTERNALDATE as an aware datetime; now when the server sent none."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value
    return timezone.now().replace(microsecond=0)


def _remember(memo: dict[str, Any], key: str, value: Any) -> None:
    if len(memo) < MEMO_ENTRIES_MAX and len(key) <= MEMO_VALUE_MAX:
        memo[key] = value


def _address_columns(value: str | None, adapters: RowAdapters, memo: PrepareMemo) -> tuple[Any, str]:
    if value is None:
        return adapters.as_json(None), ""
    found = memo.addresses.get(value)
    if found is None:
        parsed = mp.addresses_parse(value)
        found = (adapters.as_json(parsed), mp.addresses_text(parsed))
        _remember(memo.addresses, value, found)
    return found


def _subject_values(value: str | None, memo: PrepareMemo) -> tuple[str, str]:
    if value is None:
        return "", mp.subject_base("")
    found = memo.subjects.get(value)
    if found is None:
        subject = mp.unfold(mp.words_decode(mp.unfold(value)))
        found = (subject, mp.subject_base(subject))
        _remember(memo.subjects, value, found)
    return found


def message_prepare_fast(
    *, uid: int, data: dict[bytes, Any], preview: str | None, adapters: RowAdapters, memo: PrepareMemo
) -> PreparedMessage | None:
    """What message_prepare(message_from_fetch(uid, data, preview)) gives for a
    message that parses; None when anything raised (the caller then takes that
    reference route, which records the problem)."""
    try:
        return _prepared(uid, data, preview, adapters, memo)
    except Exception:  # RecursionError, MemoryError of one value, a parser bug: the reference route's affair
        return None


def _prepared(
    uid: int, data: dict[bytes, Any], preview: str | None, adapters: RowAdapters, memo: PrepareMemo
) -> PreparedMessage:
    as_json, as_datetime = adapters.as_json, adapters.as_datetime
    flags, modseq = changed_values(data)
    received_at = zone_plain(received_at_value(data.get(b"INTERNALDATE")))
    assert received_at is not None
    size = data.get(b"RFC822.SIZE")
    size = int(size) if isinstance(size, int) else 0
    fields = mp.headers_fields(header_bytes(data))
    get = fields.get
    subject, base_subject = _subject_values(get("subject"), memo)
    sent_at = mp.date_parse(get("date"))
    message_ids = mp.message_ids_parse(get("message-id"), lenient=True)
    in_reply_to = mp.message_ids_parse(get("in-reply-to"))
    references = mp.message_ids_parse(get("references"))
    (sender_json, _), (from_json, from_text), (to_json, to_text), (cc_json, cc_text), (bcc_json, bcc_text), (
        reply_to_json, _) = [_address_columns(get(name), adapters, memo) for name in _ADDRESS_FIELDS]  # fmt: skip
    if preview is None:
        preview = mp.preview_value(data.get(b"PREVIEW"))
    email_id = object_id(data.get(b"EMAILID"))
    return PreparedMessage(
        uid, flags, modseq, received_at, size, email_id,
        message_ids[0][:255] if message_ids else None,
        thread_keys(message_ids, [*(in_reply_to or []), *(references or [])]),
        "",
        (
            email_id, object_id(data.get(b"THREADID")), size, as_datetime(received_at),
            as_datetime(zone_plain(sent_at)), utc_offset_minutes(sent_at), subject, base_subject, preview,
            mp.bodystructure_has_attachment(data.get(b"BODYSTRUCTURE")), as_json(message_ids),
            (message_ids or [""])[0][:255], as_json(in_reply_to), as_json(references), sender_json, from_json, to_json,
            cc_json, bcc_json, reply_to_json, from_text, to_text, cc_text, bcc_text,
        ),
    )  # fmt: skip
