"""Server-side search for what the cache cannot answer (RFC 8621 §4.4.1 body,
text, header): UID SEARCH in each selectable folder (RFC 3501 §6.4.4), mapped
back to cached emails. Within one request the same search runs once.

The client's text reaches the IMAP server only through
backends.imap.command_args: as a quoted string when that is safe, else as a
literal, never as raw command text.
"""
from __future__ import annotations

from accounts.models import Account
from backends.imap.command_args import imap_search_uids, search_arguments
from backends.imap.pool import imap_session
from jmapcore.models.mail import Mailbox, MailboxMessage


def email_server_search(*, account: Account, criteria: list[str]) -> set[int]:
    """Primary keys of the cached emails the server finds for `criteria`.

    `criteria` is one IMAP search key and its string arguments, e.g.
    ["BODY", "invoice"] or ["HEADER", "X-Tag", "red"]; non-ASCII text is sent
    with CHARSET UTF-8. Text that IMAP cannot carry (NUL) is refused with
    ArgumentRefused before any connection is used. A BackendError propagates
    (the query then fails with serverFail rather than answering a partial
    result).
    """
    arguments, utf8 = search_arguments(criteria)
    folders = list(
        Mailbox.objects.filter(account=account, destroyed=False, is_selectable=True).values_list("pk", "imap_name")
    )
    uids_by_folder: dict[int, list[int]] = {}
    with imap_session(account=account) as client:
        for mailbox_pk, imap_name in folders:
            client.select_folder(imap_name, readonly=True)
            found = imap_search_uids(client, arguments=arguments, utf8=utf8)
            if found:
                uids_by_folder[mailbox_pk] = found
    matched: set[int] = set()
    for mailbox_pk, uids in uids_by_folder.items():
        for start in range(0, len(uids), 900):
            chunk = uids[start : start + 900]
            matched.update(
                MailboxMessage.objects.filter(mailbox_id=mailbox_pk, uid__in=chunk).values_list("email_id", flat=True)
            )
    return matched
