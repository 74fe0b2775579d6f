"""Email/query FilterCondition (RFC 8621 §4.4.1) as database predicates.

Everything the cache holds (mailboxes, dates, sizes, keywords, addresses,
subject, the commonest headers) is answered in SQL. `body`, `text` beyond the
cached fields, and `header` fields the cache does not hold are asked of the
IMAP server with UID SEARCH (jmapcore.mail.email_search) and come back as a
set of email primary keys.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Exists, OuterRef, Q

from accounts.models import Account
from jmapcore.datatypes.sql import MATCH_NONE
from jmapcore.datatypes.values import InvalidValue, boolean, jmap_id, string, unsigned_int, utc_date
from jmapcore.mail.keywords import keyword_read
from jmapcore.models.mail import Email, MailboxMessage

# Header fields whose value the cache holds, and the column that holds it.
CACHED_HEADER_COLUMNS = {
    "subject": "subject",
    "from": "from_text",
    "to": "to_text",
    "cc": "cc_text",
    "bcc": "bcc_text",
    "message-id": "message_id_first",
}
MAX_TEXT = 1024
MAX_FIELD_NAME = 998
_string = string(max_length=MAX_TEXT)


def _text(value: Any) -> str:
    """A text condition's value: at most MAX_TEXT characters, no NUL.

    NUL cannot be searched for: no IMAP string can carry it (RFC 3501
    CHAR8) and PostgreSQL text cannot hold it. CR and LF are fine: they
    reach the IMAP server inside a literal (jmapcore.mail.email_search).
    """
    text = _string(value)
    assert text is not None
    if "\x00" in text:
        raise InvalidValue("must not contain NUL (U+0000)")
    return text


# Runs a server-side search: (account, IMAP search criteria) -> email pks.
ServerSearch = Callable[[Account, list[str]], set[int]]


def _in_mailbox(account: Account, value: Any) -> Q:
    mailbox_id = jmap_id()(value)
    return Q(
        Exists(MailboxMessage.objects.filter(email=OuterRef("pk"), mailbox__jmap_id=mailbox_id, account=account))
    )


def _in_mailbox_other_than(account: Account, value: Any) -> Q:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidValue("must be a list of Ids")
    ids = [jmap_id()(item) for item in value]
    return Q(Exists(MailboxMessage.objects.filter(email=OuterRef("pk")).exclude(mailbox__jmap_id__in=ids)))


def _threads_with(account: Account, keyword: str) -> Any:
    return (
        Email.objects.filter(account=account, destroyed=False, keywords__has_key=keyword)
        .values("thread_id")
    )


def _threads_without(account: Account, keyword: str) -> Any:
    return (
        Email.objects.filter(account=account, destroyed=False)
        .exclude(keywords__has_key=keyword)
        .values("thread_id")
    )


def _address_text(column: str) -> Callable[[Account, Any], Q]:
    def build(account: Account, value: Any) -> Q:
        return Q(**{f"{column}__icontains": _text(value).lower()})

    return build


def condition_q(account: Account, name: str, value: Any, *, search: ServerSearch) -> Q:
    """One FilterCondition property as a Q. Raises InvalidValue for a bad value."""
    if name == "inMailbox":
        return _in_mailbox(account, value)
    if name == "inMailboxOtherThan":
        return _in_mailbox_other_than(account, value)
    if name == "before":
        return Q(received_at__lt=utc_date()(value))
    if name == "after":
        return Q(received_at__gte=utc_date()(value))
    if name == "minSize":
        return Q(size__gte=unsigned_int()(value))
    if name == "maxSize":
        return Q(size__lt=unsigned_int()(value))
    if name == "hasKeyword":
        return Q(keywords__has_key=keyword_read(value))
    if name == "notKeyword":
        return ~Q(keywords__has_key=keyword_read(value))
    if name == "someInThreadHaveKeyword":
        return Q(thread_id__in=_threads_with(account, keyword_read(value)))
    if name == "noneInThreadHaveKeyword":
        return ~Q(thread_id__in=_threads_with(account, keyword_read(value)))
    if name == "allInThreadHaveKeyword":
        return ~Q(thread_id__in=_threads_without(account, keyword_read(value)))
    if name == "hasAttachment":
        return Q(has_attachment=boolean()(value))
    if name in ("from", "to", "cc", "bcc"):
        return _address_text(f"{name}_text")(account, value)
    if name == "subject":
        return Q(subject__icontains=_text(value))
    if name == "body":
        return Q(pk__in=search(account, ["BODY", _text(value)]))
    if name == "text":
        text = _text(value)
        cached = (
            Q(subject__icontains=text)
            | Q(from_text__icontains=text.lower())
            | Q(to_text__icontains=text.lower())
            | Q(cc_text__icontains=text.lower())
            | Q(bcc_text__icontains=text.lower())
        )
        return cached | Q(pk__in=search(account, ["TEXT", text]))
    if name == "header":
        return _header_q(account, value, search=search)
    raise InvalidValue(f"unknown condition {name}")


def _header_q(account: Account, value: Any, *, search: ServerSearch) -> Q:
    """header: [name] (the field is present) or [name, text] (its value contains text)."""
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= 2
        or not all(isinstance(item, str) and item for item in value[:1])
        or (len(value) == 2 and not isinstance(value[1], str))
    ):
        raise InvalidValue("must be [name] or [name, value]")
    field = value[0]
    # RFC 5322 §2.1.1: no line, so no field name, is longer than 998 characters.
    if len(field) > MAX_FIELD_NAME or any(ord(char) <= 0x20 or ord(char) >= 0x7F or char == ":" for char in field):
        raise InvalidValue("not a header field name")
    text = _text(value[1]) if len(value) == 2 else ""
    column = CACHED_HEADER_COLUMNS.get(field.lower())
    if column is not None and text:
        return Q(**{f"{column}__icontains": text.lower() if column.endswith("_text") else text})
    if column == "subject" and not text:
        return ~Q(subject="")
    matched = search(account, ["HEADER", field, text])
    return Q(pk__in=matched) if matched else MATCH_NONE


FILTER_NAMES = frozenset(
    {
        "inMailbox",
        "inMailboxOtherThan",
        "before",
        "after",
        "minSize",
        "maxSize",
        "allInThreadHaveKeyword",
        "someInThreadHaveKeyword",
        "noneInThreadHaveKeyword",
        "hasKeyword",
        "notKeyword",
        "hasAttachment",
        "text",
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "body",
        "header",
    }
)
# Conditions on data that never changes for an email (RFC 8620 §5.6 upToId).
IMMUTABLE_FILTERS = frozenset(
    {"before", "after", "minSize", "maxSize", "hasAttachment", "text", "from", "to", "cc", "bcc", "subject", "body",
     "header"}
)
