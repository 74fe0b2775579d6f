"""Cache side of destroying a mailbox with its emails (RFC 8621 §2.5
onDestroyRemoveEmails): runs inside the destroying transaction."""
from __future__ import annotations

from accounts.models import Account
from backends.imap.threading import threads_prune
from jmapcore.models.mail import Email, Mailbox, MailboxMessage


def mailbox_emails_detach(*, account: Account, mailbox: Mailbox, modseq: int) -> None:
    """Drop the mailbox's messages from the cache at `modseq`.

    An email whose only mailbox this was becomes a tombstone; one that is in
    other mailboxes too loses this mailbox from mailboxIds. A thread left
    without live emails becomes a tombstone; other touched threads change.
    """
    email_pks = list(MailboxMessage.objects.filter(mailbox=mailbox).values_list("email_id", flat=True))
    MailboxMessage.objects.filter(mailbox=mailbox).delete()
    thread_ids: set[str] = set()
    for email in Email.objects.filter(pk__in=email_pks, destroyed=False):
        thread_ids.add(email.thread_id)
        email.mailbox_ids = {key: True for key in email.mailbox_ids if key != mailbox.jmap_id}
        email.updated_modseq = modseq
        still_somewhere = MailboxMessage.objects.filter(email=email).exists()
        email.destroyed = not still_somewhere
        email.save(update_fields=["mailbox_ids", "updated_modseq", "destroyed", "updated_at"])
    threads_prune(account=account, thread_ids=thread_ids, modseq=modseq)
