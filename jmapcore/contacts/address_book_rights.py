"""myRights of an AddressBook (RFC 9610 §2 AddressBookRights) from the
CardDAV server's privileges (RFC 3744 §3, §5.4 current-user-privilege-set).

CardDAV has no JMAP rights of its own, so each right is read from the WebDAV
privilege that governs the same operation on the server:

- mayRead: DAV:read on the collection;
- mayWrite (create, change and destroy cards, move them in and out):
  DAV:write-content, DAV:bind and DAV:unbind on the collection;
- mayShare: false. Radicale and Xandikos offer no WebDAV sharing (neither
  draft-pot-webdav-resource-sharing nor CalendarServer sharing), so there is
  nothing a shareWith change could be written to;
- mayDelete: DAV:unbind on the parent (the address-book home), which is what
  a DELETE of the collection needs (RFC 3744 §3.10). When the privileges do
  not say anything about the parent (the entry ``"parent:unbind"``), the
  collection's own unbind stands in for it: the servers served here give
  whoever may empty a collection the right to remove it, and a DELETE the
  server refuses still ends as a SetError, never as a half-applied change.

DAV:all aggregates every privilege and DAV:write aggregates write-properties,
write-content, bind and unbind (RFC 3744 §3.12, §3.2). An empty privilege
list means the server did not report any: then the server decides on each
write, and the rights say what the account allows. A read-only proxy account
never has a write right.
"""
from __future__ import annotations

from collections.abc import Iterable

from accounts.models import Account
from jmapcore.models.contacts import AddressBook

__all__ = ["address_book_rights", "privileges_grant"]

# RFC 3744 §3.2: DAV:write contains these.
WRITE_PARTS = frozenset({"write-properties", "write-content", "bind", "unbind"})
PARENT_UNBIND = "parent:unbind"


def privileges_grant(privileges: Iterable[str], wanted: str) -> bool:
    """Whether `privileges` (names without namespace) include `wanted`,
    directly or through an aggregate (all, write)."""
    held = set(privileges)
    if not held or "all" in held or wanted in held:
        return True
    return wanted in WRITE_PARTS and "write" in held


def address_book_rights(*, book: AddressBook, account: Account) -> dict[str, bool]:
    """The AddressBookRights of `account`'s user on `book` (RFC 9610 §2)."""
    privileges = [str(name) for name in (book.dav_privileges or [])]
    writable = not account.is_read_only
    may_write = all(privileges_grant(privileges, name) for name in ("write-content", "bind", "unbind"))
    own = [name for name in privileges if not name.startswith("parent:")]
    if any(name.startswith("parent:") for name in privileges):
        may_delete = PARENT_UNBIND in privileges
    else:
        may_delete = privileges_grant(own, "unbind")
    return {
        "mayRead": privileges_grant(own, "read"),
        "mayWrite": writable and may_write,
        "mayShare": False,
        "mayDelete": writable and may_delete,
    }


def address_book_may_rename(*, book: AddressBook, account: Account) -> bool:
    """Whether a PROPPATCH of displayname/description can be allowed:
    DAV:write-properties on the collection (RFC 3744 §3.3)."""
    privileges = [name for name in (book.dav_privileges or []) if not name.startswith("parent:")]
    return not account.is_read_only and privileges_grant(privileges, "write-properties")
