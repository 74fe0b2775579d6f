"""Header field parsed forms and ``header:`` properties (RFC 8621 §4.1.2, §4.1.3)."""
from __future__ import annotations

import re
from typing import Any

from jmapcore.mime.addresses import parse_addresses, parse_groups
from jmapcore.mime.dates import parse_rfc5322_date
from jmapcore.mime.encoded_words import decode_text
from jmapcore.mime.params import strip_comments

HEADER_FORMS = ("Raw", "Text", "Addresses", "GroupedAddresses", "MessageIds", "Date", "URLs")
_FORMS_BY_LOWER = {f.lower(): f for f in HEADER_FORMS}

# Header fields defined by RFC 5322 (including §4.5 obsolete fields) and RFC 2369.
_ADDRESS_FIELDS = frozenset({
    "from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender",
    "resent-reply-to", "resent-to", "resent-cc", "resent-bcc",
})
_MESSAGE_ID_FIELDS = frozenset({"message-id", "in-reply-to", "references", "resent-message-id"})
_DATE_FIELDS = frozenset({"date", "resent-date"})
_URL_FIELDS = frozenset({"list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive"})
_TEXT_FIELDS = frozenset({"subject", "comments", "keywords", "list-id"})
_DEFINED_FIELDS = (_ADDRESS_FIELDS | _MESSAGE_ID_FIELDS | _DATE_FIELDS | _URL_FIELDS
                   | {"subject", "comments", "keywords", "return-path", "received"})
_ALLOWED: dict[str, frozenset[str]] = {
    "Text": _TEXT_FIELDS,
    "Addresses": _ADDRESS_FIELDS,
    "GroupedAddresses": _ADDRESS_FIELDS,
    "MessageIds": _MESSAGE_ID_FIELDS,
    "Date": _DATE_FIELDS,
    "URLs": _URL_FIELDS,
}

# Parsed forms read at most this much of a field (the Raw form keeps all of
# it): a legitimate address list of 10,000 recipients fits, and a hostile
# field cannot make one property cost more than this much tokenizing.
PARSED_VALUE_MAX = 256 * 1024

_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
_MSG_ID = re.compile(r"<([^<>]*)>")
_URL = re.compile(r"\A\s*<([^<>]*)>\s*\Z")


def header_property_parse(spec: str) -> tuple[str, str, bool] | None:
    """``header:{name}[:as{form}][:all]`` -> (name, form, all), or None if malformed.

    RFC 8621 §4.1.3: the name is one or more printable ASCII characters except
    colon; the suffixes, if both present, come in that order; without ``:as`` the
    form is Raw. The form name is matched case-insensitively (a leniency: clients
    send e.g. ``asURLS``); the returned form is the canonical spelling.
    """
    if not isinstance(spec, str) or not spec.startswith("header:"):
        return None
    pieces = spec[len("header:"):].split(":")
    name = pieces[0]
    if not _FIELD_NAME.fullmatch(name):
        return None
    rest = pieces[1:]
    want_all = False
    if rest and rest[-1] == "all":
        want_all = True
        rest = rest[:-1]
    form = "Raw"
    if rest:
        if len(rest) > 1 or not rest[0][:2].lower() == "as":
            return None
        found = _FORMS_BY_LOWER.get(rest[0][2:].lower())
        if found is None:
            return None
        form = found
    return name, form, want_all


def header_form_allowed(name: str, form: str) -> bool:
    """Whether ``form`` may be fetched or set for header field ``name`` (RFC 8621
    §4.1.2): Raw always; a parsed form on its listed fields, and every parsed form
    on fields not defined by RFC 5322 or RFC 2369."""
    if form == "Raw":
        return True
    allowed = _ALLOWED.get(form)
    if allowed is None:
        return False
    lower = name.lower()
    return lower in allowed or lower not in _DEFINED_FIELDS


def unfold(raw_value: str) -> str:
    """RFC 5322 §2.2.3 unfolding: remove the CRLF of each fold, keep the WSP."""
    value = _UNFOLD.sub("", raw_value)
    return value.replace("\r", "").replace("\n", "")


def _text(raw_value: str) -> str:
    return decode_text(unfold(raw_value).lstrip(" "))


def _message_ids(raw_value: str) -> list[str] | None:
    value = strip_comments(unfold(raw_value))
    ids = ["".join(m.split()) for m in _MSG_ID.findall(value)]
    leftover = _MSG_ID.sub(" ", value)
    if not ids or leftover.strip(" \t,") or any(not i for i in ids):
        return None
    return ids


def message_ids_scan(value: str) -> list[str]:
    """Every ``<...>`` of a field (comments and text around them ignored), with
    folding white space removed and empty ones dropped: the lenient reading of a
    msg-id list (RFC 5322 §3.6.4) for the cached threading headers. Linear."""
    ids = ("".join(found.split()) for found in _MSG_ID.findall(strip_comments(value)))
    return [found for found in ids if found]


def _urls(raw_value: str) -> list[str] | None:
    value = strip_comments(unfold(raw_value))
    urls: list[str] = []
    for item in value.split(","):
        if not item.strip():
            continue
        match = _URL.match(item)
        if match is None:
            return None
        urls.append("".join(match.group(1).split()))
    return urls or None


def header_form_parse(form: str, raw_value: str) -> Any:
    """One header field value, given in Raw form (text after the colon, folds
    included), converted to ``form`` as RFC 8621 §4.1.2 defines. Returns
    JSON-ready data: str, list of EmailAddress / EmailAddressGroup dicts, list of
    str, or None where the RFC says the value is null. Never raises."""
    try:
        if form == "Raw":
            return raw_value
        raw_value = raw_value[:PARSED_VALUE_MAX]
        if form == "Text":
            return _text(raw_value)
        if form == "Addresses":
            return parse_addresses(unfold(raw_value))
        if form == "GroupedAddresses":
            return parse_groups(unfold(raw_value))
        if form == "MessageIds":
            return _message_ids(raw_value)
        if form == "Date":
            return parse_rfc5322_date(unfold(raw_value))
        if form == "URLs":
            return _urls(raw_value)
    except Exception:  # hostile header text must never escape as an exception
        return [] if form in ("Addresses", "GroupedAddresses") else None
    return None
