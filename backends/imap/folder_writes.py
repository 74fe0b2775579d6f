"""Folder writes on the IMAP server (RFC 3501 §6.3): CREATE, RENAME, DELETE,
SUBSCRIBE/UNSUBSCRIBE. Each call goes to the server and returns only once the
server confirmed it; the caller updates the cache afterwards (DESIGN.md
"Writes"). Failures are BackendError (backends.imap.pool.imap_session)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from backends.base import BackendError
from backends.imap.connection import KIND, server_text
from backends.imap.pool import imap_session

if TYPE_CHECKING:
    from accounts.models import Account

# RFC 5530 response codes of a tagged NO that say something other than "this
# name will not do": the refusal is then the server's trouble, not the name's.
_NOT_ABOUT_THE_NAME = frozenset(
    {"NOPERM", "LIMIT", "OVERQUOTA", "UNAVAILABLE", "SERVERBUG", "INUSE", "CONTACTADMIN", "NONEXISTENT",
     "AUTHORIZATIONFAILED", "EXPIRED", "PRIVACYREQUIRED", "CLIENTBUG"}
)
_CODE = re.compile(r"\[([A-Za-z-]+)[\] ]")
_TIMING = re.compile(r" \(\d+\.\d+ \+ \d+\.\d+(?: \+ \d+\.\d+)? secs\)\.?$")


class FolderNameRefused(BackendError):
    """CREATE or RENAME refused because of the name (a character the server's
    storage does not allow, a name too long, one that exists): `reason` is the
    server's own text, for an invalidProperties SetError on `name`."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the server refused the name: {reason}", permanent=True, kind=KIND)
        self.reason = reason


def _name_refusal(exc: IMAPClientError) -> FolderNameRefused | None:
    """A FolderNameRefused for a tagged NO about the name; None otherwise."""
    if isinstance(exc, IMAPClientAbortError):
        return None
    text = server_text(exc)[:500]
    text = text.split(" failed: ", 1)[1] if " failed: " in text else text
    match = _CODE.match(text)
    if match is not None and match.group(1).upper() in _NOT_ABOUT_THE_NAME:
        return None
    if "command error" in server_text(exc)[:100]:  # a BAD: the command itself was malformed
        return None
    reason = _TIMING.sub("", text).strip()
    if match is not None:
        reason = reason[match.end() :].strip() or reason
    return FolderNameRefused(reason or "no reason given")


@dataclass(frozen=True)
class FolderCreated:
    uidvalidity: int
    uidnext: int
    object_id: str


def _status(client: Any, folder: str) -> FolderCreated:
    items = ["UIDVALIDITY", "UIDNEXT"]
    if client.has_capability("OBJECTID"):
        items.append("MAILBOXID")
    status = client.folder_status(folder, items)
    object_id = status.get(b"MAILBOXID", b"")
    if isinstance(object_id, tuple | list):
        object_id = object_id[0] if object_id else b""
    if isinstance(object_id, bytes):
        object_id = object_id.decode("ascii", "replace")
    return FolderCreated(
        uidvalidity=int(status.get(b"UIDVALIDITY", 0)),
        uidnext=int(status.get(b"UIDNEXT", 0)),
        object_id=str(object_id or ""),
    )


def folder_create(*, account: Account, imap_name: str, subscribe: bool) -> FolderCreated:
    """CREATE the folder (and SUBSCRIBE it when asked); returns its identifiers."""
    with imap_session(account=account) as client:
        try:
            client.create_folder(imap_name)
        except IMAPClientError as exc:
            refused = _name_refusal(exc)
            if refused is None:
                raise
            raise refused from None
        if subscribe:
            client.subscribe_folder(imap_name)
        return _status(client, imap_name)


def folder_rename(*, account: Account, old_name: str, new_name: str) -> None:
    """RENAME (RFC 3501 §6.3.5): the server renames the folder's children too."""
    with imap_session(account=account) as client:
        try:
            client.rename_folder(old_name, new_name)
        except IMAPClientError as exc:
            refused = _name_refusal(exc)
            if refused is None:
                raise
            raise refused from None


def folder_delete(*, account: Account, imap_name: str) -> None:
    """DELETE (RFC 3501 §6.3.4); the folder's messages go with it."""
    with imap_session(account=account) as client:
        client.delete_folder(imap_name)
        try:
            client.unsubscribe_folder(imap_name)
        except Exception:  # noqa: S110 - a folder that was not subscribed is fine
            pass


def folder_subscription_set(*, account: Account, imap_name: str, subscribed: bool) -> None:
    """SUBSCRIBE or UNSUBSCRIBE (RFC 3501 §6.3.6, §6.3.7)."""
    with imap_session(account=account) as client:
        if subscribed:
            client.subscribe_folder(imap_name)
        else:
            client.unsubscribe_folder(imap_name)
