"""Email/set update and destroy (RFC 8621 §4.6) on the IMAP server, then the cache.

Only `keywords` and `mailboxIds` of an email can change (everything else of
an email is immutable). Keywords become UID STORE on every copy of the
message; mailbox changes become MOVE (keeping the message, COPYUID gives its
new UID), COPY and EXPUNGE. The cache follows in one transaction once the
server has confirmed every command (DESIGN.md "Writes").
"""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from backends.imap import message_writes
from backends.imap.message_store import mailbox_counts_refresh
from backends.imap.threading import threads_prune
from jmapcore.mail.keywords import keyword_to_flag, keyword_valid, keywords_validate
from jmapcore.models.mail import Email, Mailbox, MailboxMessage
from jmapcore.protocol.errors import SetError, SetErrorException
from jmapcore.protocol.patch import MAX_PATHS, pointer_split
from jmapcore.state import state_change_atomic
from jmapcore.strictness import client_workarounds

# A create or destroy changes threads; a keyword or mailbox change does not
# change any thread's emailIds.
MAIL_TYPES = ["Email", "Mailbox", "Thread"]
UPDATE_TYPES = ["Email", "Mailbox"]


def _invalid(name: str, why: str) -> SetErrorException:
    return SetErrorException(SetError("invalidProperties", f"{name}: {why}", properties=[name]))


def _keyword_value_ok(value: object) -> bool:
    """RFC 8620 §5.3: a set member is patched with true (add) or null (remove).
    A widely used webmail sends false to remove; accepted as null unless
    JMAP_STRICT (jmapcore.strictness)."""
    return value is True or value is None or (value is False and client_workarounds())


def email_patch_read(
    *, email: Email, patch: object, resolve: Any
) -> tuple[dict[str, bool] | None, dict[str, bool] | None]:
    """The new keywords and mailboxIds a PatchObject asks for (None: unchanged).

    `resolve` turns "#creationId" mailbox references into ids.
    """
    if not isinstance(patch, dict):
        raise SetErrorException(SetError("invalidPatch", "a PatchObject must be an object"))
    # The same bound as every other PatchObject (jmapcore.protocol.patch): one
    # update may carry at most MAX_PATHS paths, whatever they patch.
    if len(patch) > MAX_PATHS:
        raise SetErrorException(SetError("invalidPatch", f"a PatchObject of more than {MAX_PATHS} paths"))
    keywords: dict[str, bool] | None = None
    mailboxes: dict[str, bool] | None = None
    # Every invalid property is named in one SetError (RFC 8620 §5.3); a
    # malformed patch path is invalidPatch when no property is invalid.
    problems: dict[str, str] = {}
    bad_patch: str | None = None
    for path, value in patch.items():
        parts = pointer_split(path)
        top = parts[0]
        if top == "keywords":
            keywords = dict(email.keywords) if keywords is None else keywords
            if len(parts) == 1:
                try:
                    keywords = keywords_validate(value)
                except ValueError as error:
                    problems["keywords"] = str(error)
            elif len(parts) == 2 and keyword_valid(parts[1]) and _keyword_value_ok(value):
                if value is True:
                    keywords[parts[1].lower()] = True
                else:
                    keywords.pop(parts[1].lower(), None)
            else:
                bad_patch = bad_patch or f"{path}: not a keyword set to true or null"
        elif top == "mailboxIds":
            mailboxes = dict(email.mailbox_ids) if mailboxes is None else mailboxes
            if len(parts) == 1:
                if not isinstance(value, dict) or not all(item is True for item in value.values()):
                    problems["mailboxIds"] = "must be a map of mailbox ids to true"
                else:
                    mailboxes = {resolve(key): True for key in value}
            elif len(parts) == 2 and value in (True, None):
                if value is True:
                    mailboxes[resolve(parts[1])] = True
                else:
                    mailboxes.pop(resolve(parts[1]), None)
            else:
                bad_patch = bad_patch or f"{path}: must be true or null"
        else:
            problems[top] = "cannot be changed"
    if problems:
        description = "; ".join(f"{name}: {why}" for name, why in sorted(problems.items()))
        raise SetErrorException(SetError("invalidProperties", description, properties=sorted(problems)))
    if bad_patch is not None:
        raise SetErrorException(SetError("invalidPatch", bad_patch))
    return keywords, mailboxes


def mailboxes_for_write(*, account: Account, mailbox_ids: dict[str, bool]) -> dict[str, Mailbox]:
    """The account's mailboxes named in a mailboxIds value, checked to hold emails
    (at least one; invalidProperties otherwise, RFC 8621 §4.1.1)."""
    ids = list(mailbox_ids)
    found = {
        mailbox.jmap_id: mailbox
        for mailbox in Mailbox.objects.filter(account=account, destroyed=False, jmap_id__in=ids)
    }
    missing = sorted(set(ids) - set(found))
    if missing:
        raise _invalid("mailboxIds", "no such mailbox: " + ", ".join(missing))
    if not found:
        raise _invalid("mailboxIds", "an email must be in at least one mailbox")
    for mailbox in found.values():
        if not mailbox.is_selectable:
            raise _invalid("mailboxIds", f"{mailbox.jmap_id} cannot hold emails")
    return found


def email_update(*, account: Account, email: Email, keywords: dict[str, bool] | None,
                 mailbox_ids: dict[str, bool] | None) -> None:
    """Apply new keywords and/or mailboxes on the server, then in the cache."""
    locations = list(MailboxMessage.objects.filter(email=email).select_related("mailbox"))
    if not locations:
        raise SetErrorException(SetError("notFound", "the message is no longer on the server"))
    if mailbox_ids is not None:
        targets = mailboxes_for_write(account=account, mailbox_ids=mailbox_ids)
        if account.is_read_only:
            raise SetErrorException(SetError("forbidden", "the account is read-only"))
    else:
        targets = {location.mailbox.jmap_id: location.mailbox for location in locations}

    # 1. Keywords on the server, on every copy.
    if keywords is not None and keywords != email.keywords:
        wanted = {keyword_to_flag(keyword) for keyword in keywords}
        had = {keyword_to_flag(keyword) for keyword in email.keywords}
        for mailbox_pk in {location.mailbox_id for location in locations}:
            here = [location for location in locations if location.mailbox_id == mailbox_pk]
            message_writes.messages_flags_change(
                account=account,
                imap_name=here[0].mailbox.imap_name,
                uids=[location.uid for location in here],
                add=sorted(wanted - had),
                remove=sorted(had - wanted),
            )
    # 2. Mailboxes on the server: move one copy per new mailbox where possible.
    current = {location.mailbox.jmap_id: location for location in locations}
    adding = [targets[mailbox_id] for mailbox_id in targets if mailbox_id not in current]
    removing = [current[mailbox_id] for mailbox_id in current if mailbox_id not in targets]
    moved: list[tuple[MailboxMessage, Mailbox, int | None]] = []
    copied: list[tuple[Mailbox, int | None]] = []
    while adding and removing:
        location, target = removing.pop(), adding.pop()
        mapping = message_writes.messages_move(
            account=account, imap_name=location.mailbox.imap_name, uids=[location.uid], target=target.imap_name
        )
        moved.append((location, target, mapping.get(location.uid)))
    source = next(iter(current.values()))
    for target in adding:
        mapping = message_writes.messages_copy(
            account=account, imap_name=source.mailbox.imap_name, uids=[source.uid], target=target.imap_name
        )
        copied.append((target, mapping.get(source.uid)))
    for location in removing:
        message_writes.messages_expunge(account=account, imap_name=location.mailbox.imap_name, uids=[location.uid])

    # 3. The cache, in one transaction.
    touched = {location.mailbox_id for location in locations} | {mailbox.pk for mailbox in targets.values()}
    with state_change_atomic(account=account, type_names=UPDATE_TYPES) as modseq:
        if keywords is not None:
            email.keywords = keywords
        unread = "$seen" not in email.keywords
        flags = sorted(keyword_to_flag(keyword) for keyword in email.keywords)
        for location, target, new_uid in moved:
            if new_uid is None:
                # No COPYUID: the next sync of the target folder brings the copy back.
                location.delete()
            else:
                MailboxMessage.objects.filter(pk=location.pk).update(mailbox=target, uid=new_uid)
        for target, new_uid in copied:
            if new_uid is not None:
                MailboxMessage.objects.get_or_create(
                    mailbox=target,
                    uid=new_uid,
                    defaults={
                        "account": account,
                        "email": email,
                        "received_at": email.received_at,
                        "thread_id": email.thread_id,
                        "flags": flags,
                        "is_unread": unread,
                    },
                )
        for location in removing:
            MailboxMessage.objects.filter(pk=location.pk).delete()
        MailboxMessage.objects.filter(email=email).update(flags=flags, is_unread=unread)
        email.mailbox_ids = {mailbox_id: True for mailbox_id in targets}
        email.updated_modseq = modseq
        email.save(update_fields=["keywords", "mailbox_ids", "updated_modseq", "updated_at"])
        mailbox_counts_refresh(mailboxes=Mailbox.objects.filter(pk__in=touched), modseq=modseq)


def email_destroy(*, account: Account, email: Email) -> None:
    """Expunge every copy of the message, then make the email a tombstone."""
    if account.is_read_only:
        raise SetErrorException(SetError("forbidden", "the account is read-only"))
    locations = list(MailboxMessage.objects.filter(email=email).select_related("mailbox"))
    by_folder: dict[int, list[MailboxMessage]] = {}
    for location in locations:
        by_folder.setdefault(location.mailbox_id, []).append(location)
    for here in by_folder.values():
        message_writes.messages_expunge(
            account=account, imap_name=here[0].mailbox.imap_name, uids=[location.uid for location in here]
        )
    with state_change_atomic(account=account, type_names=MAIL_TYPES) as modseq:
        MailboxMessage.objects.filter(email=email).delete()
        email.destroyed = True
        email.updated_modseq = modseq
        email.save(update_fields=["destroyed", "updated_modseq", "updated_at"])
        mailbox_counts_refresh(mailboxes=Mailbox.objects.filter(pk__in=set(by_folder)), modseq=modseq)
        threads_prune(account=account, thread_ids=[email.thread_id], modseq=modseq)
