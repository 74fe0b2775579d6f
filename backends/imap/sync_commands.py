"""The raw IMAP commands the sync engine needs and IMAPClient does not offer.

IMAPClient covers plain LIST/STATUS/SELECT/FETCH, but not LIST-EXTENDED return
options (RFC 5258, RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS), SELECT/EXAMINE
with CONDSTORE/QRESYNC parameters and their VANISHED responses (RFC 7162),
ESEARCH results (RFC 4731), nor UID FETCH over a sequence set such as `1:*`.
These helpers send those commands through IMAPClient's imaplib connection and
parse the answers with IMAPClient's response parser.

Every helper raises BackendError (transient) when the connection fails or the
server answers NO/BAD.
"""
from __future__ import annotations

import imaplib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imap_utf7 import decode as utf7_decode
from imapclient.imap_utf7 import encode as utf7_encode
from imapclient.response_parser import parse_fetch_response, parse_response

from backends.base import BackendError
from backends.imap.connection import KIND, server_text
from backends.imap.fetch_parse import fetch_parse
from backends.imap.uid_sets import MAX_EXPANDED_UIDS, UidSetTooLarge, uid_ranges_expand, uid_ranges_parse

STATUS_ITEMS_BASE = ("MESSAGES", "UIDNEXT", "UIDVALIDITY")


@dataclass(frozen=True)
class Capabilities:
    """The post-login capabilities the sync engine cares about."""

    names: frozenset[str]

    @classmethod
    def of(cls, client: IMAPClient) -> Capabilities:
        raw = client.capabilities()
        return cls(frozenset(item.decode("ascii", "replace").upper() for item in raw))

    def has(self, name: str) -> bool:
        return name.upper() in self.names

    @property
    def condstore(self) -> bool:  # RFC 7162 §3.1
        return self.has("CONDSTORE") or self.has("QRESYNC")

    @property
    def qresync(self) -> bool:  # RFC 7162 §3.2
        return self.has("QRESYNC")

    @property
    def objectid(self) -> bool:  # RFC 8474
        return self.has("OBJECTID")

    @property
    def preview(self) -> bool:  # RFC 8970
        return self.has("PREVIEW")

    @property
    def list_extended(self) -> bool:  # RFC 5258
        return self.has("LIST-EXTENDED")

    @property
    def list_status(self) -> bool:  # RFC 5819
        return self.has("LIST-STATUS") and self.list_extended

    @property
    def special_use(self) -> bool:  # RFC 6154
        return self.has("SPECIAL-USE")

    @property
    def esearch(self) -> bool:  # RFC 4731
        return self.has("ESEARCH")


@dataclass(frozen=True)
class FolderStatus:
    """STATUS (RFC 3501 §6.3.10, RFC 7162 §3.1.6, RFC 8474 §4) of one folder."""

    messages: int = 0
    uidnext: int = 0
    uidvalidity: int = 0
    highestmodseq: int = 0
    mailboxid: str = ""


@dataclass(frozen=True)
class FolderListing:
    """One LIST answer: decoded name, delimiter, lower-cased attributes."""

    name: str
    delimiter: str
    attributes: frozenset[str]
    status: FolderStatus | None = None
    subscribed: bool = False

    @property
    def selectable(self) -> bool:
        return not (self.attributes & {"\\noselect", "\\nonexistent"})


@dataclass
class SelectResult:
    """What SELECT/EXAMINE reported, plus QRESYNC's VANISHED/FETCH answers."""

    exists: int = 0
    uidvalidity: int = 0
    uidnext: int = 0
    highestmodseq: int = 0
    vanished: list[int] = field(default_factory=list)
    changed: dict[int, dict[bytes, Any]] = field(default_factory=dict)


@contextmanager
def imap_errors(what: str) -> Iterator[None]:
    """Translate imaplib/IMAPClient failures of one command into BackendError."""
    try:
        yield
    except BackendError:
        raise
    except (imaplib.IMAP4.error, IMAPClientError, OSError) as exc:
        raise BackendError(f"{what} failed: {server_text(exc)}", permanent=False, kind=KIND) from None


def quoted(text: str) -> str:
    """An IMAP quoted string (RFC 3501 §4.3) of a 7-bit value."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def folder_arg(name: str) -> str:
    """A folder name as a command argument: modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    return quoted(utf7_encode(name).decode("ascii"))


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _folder_name(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    raw = value if isinstance(value, bytes) else str(value).encode()
    return str(utf7_decode(raw))


def _entries(data: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """Parse untagged response lines one by one (a literal arrives as a tuple)."""
    for item in data:
        if item in (b"", None):
            continue
        try:
            parsed = parse_response([item])
        except Exception:  # noqa: S112 - one unparsable line must not hide the others
            continue
        yield tuple(parsed)


def _status_parse(items: tuple[Any, ...] | list[Any]) -> FolderStatus:
    values: dict[str, Any] = {}
    for index in range(0, len(items) - 1, 2):
        values[_text(items[index]).upper()] = items[index + 1]

    def number(name: str) -> int:
        try:
            return int(values.get(name) or 0)
        except (TypeError, ValueError):
            return 0

    mailboxid = values.get("MAILBOXID")
    if isinstance(mailboxid, tuple | list):
        mailboxid = mailboxid[0] if mailboxid else ""
    return FolderStatus(
        messages=number("MESSAGES"),
        uidnext=number("UIDNEXT"),
        uidvalidity=number("UIDVALIDITY"),
        highestmodseq=number("HIGHESTMODSEQ"),
        mailboxid=_text(mailboxid),
    )


def status_items(caps: Capabilities) -> list[str]:
    items = list(STATUS_ITEMS_BASE)
    if caps.condstore:
        items.append("HIGHESTMODSEQ")
    if caps.objectid:
        items.append("MAILBOXID")
    return items


def _list_parse(data: Iterable[Any]) -> list[FolderListing]:
    listings = []
    for entry in _entries(data):
        if len(entry) < 3 or not isinstance(entry[0], tuple | list):
            continue
        attributes = frozenset(_text(flag).lower() for flag in entry[0])
        listings.append(
            FolderListing(
                name=_folder_name(entry[2]),
                delimiter=_text(entry[1]),
                attributes=attributes,
                subscribed="\\subscribed" in attributes,
            )
        )
    return listings


def _untagged_pop(client: IMAPClient, name: str) -> list[Any]:
    return list(client._imap.untagged_responses.pop(name, []))


def _simple(client: IMAPClient, name: str, *args: str) -> tuple[str, list[Any]]:
    typ, data = client._imap._simple_command(name, *args)
    if typ != "OK":
        raise BackendError(f"{name} failed: {server_text(Exception(data))}", permanent=False, kind=KIND)
    return typ, data


def folders_list(*, client: IMAPClient, caps: Capabilities) -> list[FolderListing]:
    """Every folder with its attributes, subscription and (where one command can
    give it) STATUS.

    With LIST-EXTENDED: `LIST "" "*" RETURN (SUBSCRIBED CHILDREN [SPECIAL-USE]
    [STATUS (...)])` (RFC 5258 §3, RFC 6154 §2, RFC 5819 §2): one round trip.
    Otherwise plain LIST plus LSUB for subscriptions (RFC 3501 §6.3.9); statuses
    are then asked per folder by folders_status().
    """
    client._imap.untagged_responses.clear()
    with imap_errors("LIST"):
        if caps.list_extended:
            options = ["SUBSCRIBED", "CHILDREN"]
            if caps.special_use:
                options.append("SPECIAL-USE")
            if caps.list_status:
                options.append("STATUS (" + " ".join(status_items(caps)) + ")")
            _simple(client, "LIST", '""', '"*"', "RETURN", "(" + " ".join(options) + ")")
            listings = _list_parse(_untagged_pop(client, "LIST"))
            statuses: dict[str, FolderStatus] = {}
            for entry in _entries(_untagged_pop(client, "STATUS")):
                if len(entry) >= 2 and isinstance(entry[1], tuple | list):
                    statuses[_folder_name(entry[0])] = _status_parse(entry[1])
            return [
                FolderListing(
                    name=item.name, delimiter=item.delimiter, attributes=item.attributes,
                    status=statuses.get(item.name), subscribed=item.subscribed,
                )
                for item in listings
            ]
        _simple(client, "LIST", '""', '"*"')
        listings = _list_parse(_untagged_pop(client, "LIST"))
        _simple(client, "LSUB", '""', '"*"')
        subscribed = {item.name for item in _list_parse(_untagged_pop(client, "LSUB"))}
    return [
        FolderListing(
            name=item.name, delimiter=item.delimiter, attributes=item.attributes, status=None,
            subscribed=item.name in subscribed,
        )
        for item in listings
    ]


def folder_status(*, client: IMAPClient, caps: Capabilities, name: str) -> FolderStatus:
    """STATUS of one folder (RFC 3501 §6.3.10)."""
    client._imap.untagged_responses.pop("STATUS", None)
    with imap_errors(f"STATUS {name}"):
        _simple(client, "STATUS", folder_arg(name), "(" + " ".join(status_items(caps)) + ")")
        for entry in _entries(_untagged_pop(client, "STATUS")):
            if len(entry) >= 2 and isinstance(entry[1], tuple | list):
                return _status_parse(entry[1])
    return FolderStatus()


def _first_number(client: IMAPClient, name: str) -> int:
    values = client._imap.untagged_responses.get(name) or []
    for value in values:
        try:
            return int(_text(value).split()[0])
        except (ValueError, IndexError):
            continue
    return 0


def _first_number_of(value: Any) -> int:
    try:
        return int(_text(value).split()[0])
    except (ValueError, IndexError):
        return 0


def _ok_code_number(client: IMAPClient, code: str) -> int:
    # imaplib files "[UIDVALIDITY n]" both under "UIDVALIDITY" and in "OK" lines.
    number = _first_number(client, code)
    if number:
        return number
    for line in client._imap.untagged_responses.get("OK") or []:
        text = _text(line)
        marker = f"[{code} "
        if marker in text:
            try:
                return int(text.split(marker, 1)[1].split("]", 1)[0])
            except ValueError:
                continue
    return 0


def folder_examine(
    *, client: IMAPClient, caps: Capabilities, name: str, qresync: tuple[int, int] | None = None
) -> SelectResult:
    """EXAMINE `name` (read-only: the sync never changes the mailbox, RFC 3501 §6.3.2).

    With `qresync=(uidvalidity, modseq)` sends `(QRESYNC (uidvalidity modseq))`
    (RFC 7162 §3.2.5): the server answers with VANISHED (EARLIER) for UIDs
    expunged since `modseq` and FETCH (UID FLAGS MODSEQ) for changed messages.
    With CONDSTORE but no QRESYNC, `(CONDSTORE)` makes HIGHESTMODSEQ appear.
    """
    client._imap.untagged_responses.clear()
    args = [folder_arg(name)]
    if qresync is not None:
        args.append(f"(QRESYNC ({qresync[0]} {qresync[1]}))")
    elif caps.condstore:
        args.append("(CONDSTORE)")
    with imap_errors(f"EXAMINE {name}"):
        try:
            _simple(client, "EXAMINE", *args)
        except BackendError:
            client._imap.state = "AUTH"  # a failed SELECT/EXAMINE leaves no folder selected
            raise
        client._imap.state = "SELECTED"  # imaplib only tracks its own select()
        result = SelectResult(
            exists=_first_number(client, "EXISTS"),
            uidvalidity=_ok_code_number(client, "UIDVALIDITY"),
            uidnext=_ok_code_number(client, "UIDNEXT"),
            highestmodseq=_ok_code_number(client, "HIGHESTMODSEQ"),
        )
        # Expunged UIDs are below UIDNEXT: the set is clipped there, and all
        # VANISHED lines together expand to at most UIDNEXT - 1 numbers.
        highest = result.uidnext - 1 if result.uidnext > 0 else MAX_EXPANDED_UIDS
        vanished_text = []
        for line in _untagged_pop(client, "VANISHED"):
            text = _text(line)
            if text.upper().startswith("(EARLIER)"):
                text = text[len("(EARLIER)"):]
            vanished_text.append(text.strip())
        if vanished_text:
            result.vanished = _uids_expand(",".join(vanished_text), highest=highest, limit=highest, what="VANISHED")
        fetched = _untagged_pop(client, "FETCH")
        if fetched:
            result.changed = _fetch_parse(fetched)
    client._imap.untagged_responses.clear()
    # Bounds for UID SEARCH answers in this folder. imaplib's select() (what
    # IMAPClient.select_folder uses) replaces the untagged_responses dict, so
    # keeping that dict tells whether another folder was selected since.
    client._jmap_selected = (result, client._imap.untagged_responses)
    return result


def _uids_expand(text: str, *, highest: int, limit: int, what: str) -> list[int]:
    try:
        return uid_ranges_expand(uid_ranges_parse(text, highest=highest), limit=limit)
    except UidSetTooLarge as error:
        raise BackendError(f"{what}: {error}", permanent=False, kind=KIND) from None


def sequence_set_parse(text: str, *, highest: int = MAX_EXPANDED_UIDS, limit: int = MAX_EXPANDED_UIDS) -> list[int]:
    """The UIDs of a sequence set the server sent ("1:3,7"; RFC 3501 §9
    sequence-set), ascending and without repeats, clipped to 1..`highest`.

    Linear in the text (backends.imap.uid_sets); raises BackendError
    (transient) instead of expanding more than `limit` numbers."""
    return _uids_expand(text, highest=highest, limit=limit, what="sequence set")


def _search_bounds(client: IMAPClient) -> tuple[int, int]:
    """(highest UID, most UIDs) a UID SEARCH answer in the folder selected by
    folder_examine can name: below UIDNEXT, at most EXISTS of them — or of a
    newer EXISTS the server announced since (new mail). Without a known
    folder, only MAX_EXPANDED_UIDS applies."""
    remembered = getattr(client, "_jmap_selected", None)
    if (not isinstance(remembered, tuple) or remembered[1] is not client._imap.untagged_responses
            or client._imap.state != "SELECTED"):  # fmt: skip
        return MAX_EXPANDED_UIDS, MAX_EXPANDED_UIDS
    selected: SelectResult = remembered[0]
    announced = [_first_number_of(value) for value in client._imap.untagged_responses.get("EXISTS") or []]
    exists = max([selected.exists, *announced])
    # Mail delivered after EXAMINE gets UIDs from UIDNEXT on: one per new message.
    highest = selected.uidnext - 1 + max(0, exists - selected.exists) if selected.uidnext > 0 else MAX_EXPANDED_UIDS
    return highest, exists


def sequence_set_format(uids: Iterable[int]) -> str:
    """The shortest sequence set of `uids` ("1:3,7")."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        start = end = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == end + 1:
            index += 1
            end = ordered[index]
        parts.append(str(start) if start == end else f"{start}:{end}")
        index += 1
    return ",".join(parts)


def _fetch_parse(data: list[Any]) -> dict[int, dict[bytes, Any]]:
    # Keyed by sequence number so that responses without a UID (unsolicited
    # flag updates) can be told apart and dropped.
    # IMAPClient's parser stays the fallback for anything the fast one does not know.
    parsed = fetch_parse(data, fallback=parse_fetch_response)
    by_uid: dict[int, dict[bytes, Any]] = {}
    for values in parsed.values():
        uid = values.get(b"UID")
        if isinstance(uid, int):
            known = by_uid.get(uid)
            if known is None:
                by_uid[uid] = values  # the parser's own dict: no copy per message
            else:
                known.update(values)
    return by_uid


def uid_fetch(
    *, client: IMAPClient, uids: str, items: Iterable[str], modifiers: str = ""
) -> dict[int, dict[bytes, Any]]:
    """UID FETCH `uids` (a sequence set, may be "1:*") `items` [modifiers] (RFC 3501 §6.4.5).

    Returns {uid: {item: value}}; unsolicited FETCH responses without a UID are dropped.
    """
    args = ["FETCH", uids, "(" + " ".join(["UID", *items]) + ")"]
    if modifiers:
        args.append(f"({modifiers})")
    client._imap.untagged_responses.pop("FETCH", None)
    with imap_errors("UID FETCH"):
        tag = client._imap._command("UID", *args)
        typ, data = client._imap._command_complete("FETCH", tag)
        if typ != "OK":
            raise BackendError(f"UID FETCH failed: {server_text(Exception(data))}", permanent=False, kind=KIND)
        typ, data = client._imap._untagged_response(typ, data, "FETCH")
        if not data or data == [None]:
            return {}
        return _fetch_parse(data)


def uid_search(*, client: IMAPClient, caps: Capabilities, criteria: str) -> list[int]:
    """UID SEARCH `criteria`; with ESEARCH the answer is a compact sequence set
    (RFC 4731 §3.1: `UID SEARCH RETURN (ALL) ...`)."""
    client._imap.untagged_responses.pop("SEARCH", None)
    client._imap.untagged_responses.pop("ESEARCH", None)
    with imap_errors("UID SEARCH"):
        if caps.esearch:
            _simple(client, "UID", "SEARCH", "RETURN", "(ALL)", criteria)
            highest, most = _search_bounds(client)
            sets: list[str] = []
            for line in _untagged_pop(client, "ESEARCH"):
                words = _text(line).split()
                for index, word in enumerate(words[:-1]):
                    if word.upper() == "ALL":
                        sets.append(words[index + 1])
            return _uids_expand(",".join(sets), highest=highest, limit=most, what="ESEARCH ALL") if sets else []
        _simple(client, "UID", "SEARCH", criteria)
        highest, most = _search_bounds(client)
        found: list[int] = []
        for line in _untagged_pop(client, "SEARCH"):
            for word in _text(line).split():
                if word.isascii() and word.isdigit() and len(word) <= 10 and 0 < int(word) <= highest:
                    found.append(int(word))
        if len(found) > most:
            raise BackendError(f"SEARCH: the server listed {len(found)} UIDs in a folder of {most} messages",
                               permanent=False, kind=KIND)  # fmt: skip
        return found


def capabilities_enable(*, client: IMAPClient, caps: Capabilities) -> None:
    """ENABLE QRESYNC (RFC 7162 §3.2.3, RFC 5161) where offered; once per connection."""
    if not caps.qresync:
        return
    if getattr(client, "_jmap_qresync_enabled", False):
        return
    with imap_errors("ENABLE QRESYNC"):
        client.enable("QRESYNC")
    client._jmap_qresync_enabled = True
