"""Message writes on the IMAP server: STORE, APPEND, COPY/MOVE, EXPUNGE.

Each function returns only once the server confirmed the command, with what
the cache needs to follow (new UIDs from APPENDUID/COPYUID, RFC 4315 §3).
Without MOVE (RFC 6851) a move is COPY + STORE \\Deleted + UID EXPUNGE; without
UIDPLUS the expunge is refused rather than expunging other messages marked
\\Deleted by someone else. Failures are BackendError (backends.imap.pool).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from backends.base import BackendError
from backends.imap.command_args import imap_flags
from backends.imap.connection import KIND
from backends.imap.pool import imap_session
from backends.imap.uid_sets import uid_sequence_parse

if TYPE_CHECKING:
    from accounts.models import Account

# UIDVALIDITY and UIDs are 32-bit numbers (at most 10 digits, RFC 3501 §9); the
# sets of COPYUID are read by backends.imap.uid_sets, bounded by the UIDs asked for.
_APPENDUID = re.compile(rb"\[APPENDUID ([0-9]{1,10}) ([0-9]{1,10})\]", re.IGNORECASE)
_COPYUID = re.compile(rb"\[?COPYUID ([0-9]{1,10}) ([0-9:,*]+) ([0-9:,*]+)\]?", re.IGNORECASE)


@dataclass(frozen=True)
class Appended:
    uidvalidity: int
    uid: int




def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, list | tuple):
        return b" ".join(_as_bytes(item) for item in value)
    return str(value).encode()


def _copyuid(client: Any, response: Any, uids: Sequence[int]) -> dict[int, int]:
    """source UID -> destination UID from the COPYUID response code, tagged or
    untagged (RFC 4315 §3), for the `uids` that were copied.

    The two sets pair up member by member; neither may name more UIDs than were
    copied, and a source UID that was not asked for voids the answer: a server
    that says otherwise gets {} (as without UIDPLUS) rather than trust."""
    texts = [_as_bytes(response)]
    untagged = client._imap.untagged_responses.pop("COPYUID", None)
    if untagged:
        texts.extend(b"COPYUID " + _as_bytes(item) for item in untagged)
    asked = set(uids)
    for text in texts:
        found = _COPYUID.search(text)
        if not found:
            continue
        try:
            sources = uid_sequence_parse(found.group(2), limit=len(asked))
            targets = uid_sequence_parse(found.group(3), limit=len(asked))
        except ValueError:  # UidSetTooLarge too
            return {}
        if len(sources) == len(targets) and asked.issuperset(sources):
            return dict(zip(sources, targets, strict=True))
    return {}


def messages_flags_change(
    *, account: Account, imap_name: str, uids: Sequence[int], add: Iterable[str] = (), remove: Iterable[str] = ()
) -> None:
    """UID STORE +FLAGS.SILENT / -FLAGS.SILENT (RFC 3501 §6.4.6) in one folder.

    IMAPClient writes flags into the command line as they are: each is checked
    to be a flag (command_args.imap_flags) before a connection is borrowed.
    """
    adding, removing = imap_flags(list(add)), imap_flags(list(remove))
    if not uids or (not adding and not removing):
        return
    with imap_session(account=account) as client:
        client.select_folder(imap_name)
        if adding:
            client.add_flags(list(uids), adding, silent=True)
        if removing:
            client.remove_flags(list(uids), removing, silent=True)


def message_append(
    *, account: Account, imap_name: str, raw: bytes, flags: Sequence[str], received_at: datetime | None
) -> Appended | None:
    """APPEND (RFC 3501 §6.3.11); the new UID from APPENDUID, None without UIDPLUS.

    The message goes as a literal; its flags are checked like STORE's.
    """
    checked = tuple(imap_flags(list(flags)))
    with imap_session(account=account) as client:
        response = client.append(imap_name, raw, flags=checked, msg_time=received_at)
    found = _APPENDUID.search(_as_bytes(response))
    if not found:
        return None
    return Appended(uidvalidity=int(found.group(1)), uid=int(found.group(2)))


def messages_copy(*, account: Account, imap_name: str, uids: Sequence[int], target: str) -> dict[int, int]:
    """UID COPY; returns source UID -> new UID (empty without UIDPLUS)."""
    with imap_session(account=account) as client:
        client.select_folder(imap_name)
        client._imap.untagged_responses.pop("COPYUID", None)
        response = client.copy(list(uids), target)
        return _copyuid(client, response, uids)


def messages_move(*, account: Account, imap_name: str, uids: Sequence[int], target: str) -> dict[int, int]:
    """UID MOVE (RFC 6851), or COPY + \\Deleted + UID EXPUNGE; returns source UID -> new UID."""
    with imap_session(account=account) as client:
        client.select_folder(imap_name)
        client._imap.untagged_responses.pop("COPYUID", None)
        if client.has_capability("MOVE"):
            response = client.move(list(uids), target)
            return _copyuid(client, response, uids)
        response = client.copy(list(uids), target)
        mapping = _copyuid(client, response, uids)
        _expunge(client, list(uids))
        return mapping


def messages_expunge(*, account: Account, imap_name: str, uids: Sequence[int]) -> None:
    """STORE \\Deleted then UID EXPUNGE (RFC 4315 §2.1) exactly these messages."""
    if not uids:
        return
    with imap_session(account=account) as client:
        client.select_folder(imap_name)
        _expunge(client, list(uids))


def _expunge(client: Any, uids: list[int]) -> None:
    if not client.has_capability("UIDPLUS"):
        raise BackendError(
            "the server lacks UIDPLUS, so removing single messages could expunge others", permanent=True, kind=KIND
        )
    client.add_flags(uids, ["\\Deleted"], silent=True)
    client.uid_expunge(uids)
