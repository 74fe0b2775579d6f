"""Folder writes on the IMAP server (RFC 3501 §6.3): CREATE, RENAME, DELETE,
SUBSCRIBE/UNSUBSCRIBE. Each call goes to the server and returns only once the
server confirmed it; the caller updates the cache afterwards (DESIGN.md
"Writes"). Failures are BackendError (backends.imap.pool.imap_session)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backends.imap.pool import imap_session

if TYPE_CHECKING:
    from accounts.models import Account


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
        client.create_folder(imap_name)
        if subscribe:
            client.subscribe_folder(imap_name)
        return _status(client, imap_name)


def folder_rename(*, account: Account, old_name: str, new_name: str) -> None:
    """RENAME (RFC 3501 §6.3.5): the server renames the folder's children too."""
    with imap_session(account=account) as client:
        client.rename_folder(old_name, new_name)


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
