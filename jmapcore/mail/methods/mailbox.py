"""Mailbox/get, /changes, /query, /queryChanges, /set (RFC 8621 §2) over IMAP folders.

Writes go to the server first (backends.imap.folder_writes), then the cache
(DESIGN.md "Writes"). Names are the last hierarchy level; the full IMAP name
is the parent's plus the server's delimiter plus the name.
"""
from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import Account
from backends.imap import folder_writes
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, MethodCall, Property
from jmapcore.datatypes.orm import JmapObject
from jmapcore.datatypes.sql import filter_equals, filter_text, sort_field, sort_text
from jmapcore.datatypes.standard import register_standard_methods, standard_query
from jmapcore.datatypes.values import InvalidValue, Validator, boolean, jmap_id, string, unsigned_int
from jmapcore.mail.capability import MAIL_CAPABILITY, MAX_MAILBOX_NAME
from jmapcore.mail.mailbox_destroy import mailbox_emails_detach
from jmapcore.mail.mailbox_tree import mailbox_tree_order
from jmapcore.models.mail import Mailbox, MailboxMessage
from jmapcore.protocol.arguments import read_bool
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.protocol.state import state_decode
from jmapcore.registry import method
from jmapcore.state import state_change_atomic

COUNT_PROPERTIES = ["totalEmails", "unreadEmails", "totalThreads", "unreadThreads"]
ROLES = frozenset(
    {"all", "archive", "drafts", "flagged", "important", "inbox", "junk", "sent", "subscribed", "trash"}
)


def _parent_validate(value: Any) -> str:
    """parentId: null (top level) is stored as ''."""
    checked = jmap_id(nullable=True)(value)
    return checked or ""


def _parent_dump(value: str) -> str | None:
    return value or None


def _role_validate(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or value not in ROLES:
        raise InvalidValue("must be null or a role from the IANA registry")
    return value


def _name_validate() -> Validator:
    base = string(max_length=MAX_MAILBOX_NAME, empty=False)

    def check(value: Any) -> str:
        text: str = base(value)
        if len(text.encode()) > MAX_MAILBOX_NAME:
            raise InvalidValue(f"must be at most {MAX_MAILBOX_NAME} octets")
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
            raise InvalidValue("must not contain control characters")
        return text

    return check


def _parent_filter(value: Any) -> Q:
    return Q(parent_id=_parent_validate(value))


def _role_filter(value: Any) -> Q:
    return Q(role=_role_validate(value))


def _has_any_role(value: Any) -> Q:
    wanted = boolean()(value)
    return ~Q(role="") if wanted else Q(role="")


class MailboxType(DataType):
    name = "Mailbox"
    capability = MAIL_CAPABILITY
    model = Mailbox
    id_prefix = "m"
    properties = (
        Property("id", server_set=True),
        Property("name", validate=_name_validate(), required=True),
        Property(
            "parentId", validate=_parent_validate, dump=_parent_dump, field="parent_id", default=None, reference="id"
        ),
        Property("role", validate=_role_validate, dump=lambda value: value or None, default=None),
        Property("sortOrder", validate=unsigned_int(), field="sort_order", default=0),
        Property("totalEmails", field="total_emails", server_set=True),
        Property("unreadEmails", field="unread_emails", server_set=True),
        Property("totalThreads", field="total_threads", server_set=True),
        Property("unreadThreads", field="unread_threads", server_set=True),
        Property("myRights", server_set=True),
        Property("isSubscribed", validate=boolean(), field="is_subscribed", default=True),
    )
    filters = {
        "parentId": _parent_filter,
        "name": filter_text("name"),
        "role": _role_filter,
        "hasAnyRole": _has_any_role,
        "isSubscribed": filter_equals("is_subscribed", boolean()),
    }
    sorts = {"sortOrder": sort_field("sort_order"), "name": sort_text("name")}
    max_query_limit = 10000

    # -- reading ---------------------------------------------------------------

    def property_value(self, row: JmapObject, prop: Property) -> Any:
        if prop.name == "myRights":
            assert isinstance(row, Mailbox)
            return mailbox_rights(row)
        return super().property_value(row, prop)

    def response_extra(self, method_suffix: str, call: MethodCall, response: dict[str, Any]) -> None:
        """RFC 8621 §2.2: when every updated mailbox changed only in its counts,
        say so in updatedProperties so the client refetches just those."""
        if method_suffix != "changes":
            return
        response["updatedProperties"] = None
        updated = response["updated"]
        if not updated:
            return
        since = state_decode(response["oldState"]).modseq
        changed_props = Mailbox.objects.filter(
            account=call.account, jmap_id__in=updated, props_modseq__gt=since
        ).exists()
        if not changed_props:
            response["updatedProperties"] = COUNT_PROPERTIES

    # -- validation ------------------------------------------------------------

    def _parent(self, account: Account, parent_id: str) -> Mailbox | None:
        if not parent_id:
            return None
        parent = Mailbox.objects.filter(account=account, jmap_id=parent_id, destroyed=False).first()
        if parent is None:
            raise SetErrorException(
                SetError("invalidProperties", "parentId: no such mailbox", properties=["parentId"])
            )
        return parent

    def _name_check(self, account: Account, *, name: str, parent_id: str, delimiter: str, exclude: str = "") -> None:
        if delimiter and delimiter in name:
            raise SetErrorException(
                SetError(
                    "invalidProperties",
                    f"name: must not contain the server's hierarchy separator {delimiter!r}",
                    properties=["name"],
                )
            )
        siblings = Mailbox.objects.filter(account=account, parent_id=parent_id, name=name, destroyed=False)
        if siblings.exclude(jmap_id=exclude).exists():
            raise SetErrorException(
                SetError("invalidProperties", "name: a sibling mailbox has this name", properties=["name"])
            )

    def validate_create(self, call: MethodCall, values: dict[str, Any]) -> None:
        """Every invalid property is named in one SetError (RFC 8620 §5.3)."""
        problems: list[SetError] = []
        if values.get("role"):
            problems.append(
                SetError("invalidProperties", "role: roles are set by the IMAP server here", properties=["role"])
            )
        parent: Mailbox | None = None
        try:
            parent = self._parent(call.account, values.get("parentId", ""))
        except SetErrorException as error:
            problems.append(error.error)
        try:
            self._name_check(
                call.account,
                name=values["name"],
                parent_id=values.get("parentId", ""),
                delimiter=account_delimiter(call.account),
            )
        except SetErrorException as error:
            problems.append(error.error)
        _problems_raise(problems)
        if parent is None and call.account.is_read_only:
            raise SetErrorException(SetError("forbidden", "may not create top-level mailboxes"))
        if parent is not None and not mailbox_rights(parent)["mayCreateChild"]:
            raise SetErrorException(SetError("forbidden", "the parent does not allow child mailboxes"))

    def validate_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> None:
        """Every invalid property is named in one SetError (RFC 8620 §5.3)."""
        assert isinstance(row, Mailbox)
        problems: list[SetError] = []
        if "role" in changes:
            problems.append(
                SetError("invalidProperties", "role: roles are set by the IMAP server here", properties=["role"])
            )
        if "name" in changes or "parentId" in changes:
            if not mailbox_rights(row)["mayRename"]:
                raise SetErrorException(SetError("forbidden", "this mailbox cannot be renamed or moved"))
            parent_id = changes.get("parentId", row.parent_id)
            try:
                ancestor = self._parent(call.account, parent_id)
                while ancestor is not None:
                    if ancestor.jmap_id == row.jmap_id:
                        raise SetErrorException(
                            SetError(
                                "invalidProperties",
                                "parentId: a mailbox cannot be moved below itself",
                                properties=["parentId"],
                            )
                        )
                    ancestor = self._parent(call.account, ancestor.parent_id)
            except SetErrorException as error:
                problems.append(error.error)
            try:
                self._name_check(
                    call.account,
                    name=changes.get("name", row.name),
                    parent_id=parent_id,
                    delimiter=row.imap_delimiter,
                    exclude=row.jmap_id,
                )
            except SetErrorException as error:
                problems.append(error.error)
        _problems_raise(problems)

    def validate_destroy(self, call: MethodCall, row: JmapObject) -> None:
        assert isinstance(row, Mailbox)
        if not mailbox_rights(row)["mayDelete"]:
            raise SetErrorException(SetError("forbidden", "this mailbox cannot be destroyed"))
        if Mailbox.objects.filter(account=call.account, parent_id=row.jmap_id, destroyed=False).exists():
            raise SetErrorException(SetError("mailboxHasChild", "destroy or move its child mailboxes first"))
        remove_emails = call.args.get("onDestroyRemoveEmails", False)
        if remove_emails is not True and MailboxMessage.objects.filter(mailbox=row).exists():
            raise SetErrorException(
                SetError("mailboxHasEmail", "the mailbox is not empty (see onDestroyRemoveEmails)")
            )

    # -- backend -----------------------------------------------------------------

    def backend_create(self, call: MethodCall, values: dict[str, Any]) -> dict[str, Any]:
        delimiter = account_delimiter(call.account)
        parent = self._parent(call.account, values.get("parentId", ""))
        imap_name = f"{parent.imap_name}{delimiter}{values['name']}" if parent else values["name"]
        try:
            created = folder_writes.folder_create(
                account=call.account, imap_name=imap_name, subscribe=values.get("isSubscribed", True)
            )
        except folder_writes.FolderNameRefused as refused:
            raise _name_refused(refused) from None
        return {
            "imap_name": imap_name,
            "imap_delimiter": delimiter,
            "imap_object_id": created.object_id,
            "uidvalidity": created.uidvalidity,
            "uidnext": created.uidnext,
        }

    def backend_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> dict[str, Any]:
        assert isinstance(row, Mailbox)
        extra: dict[str, Any] = {}
        if "name" in changes or "parentId" in changes:
            parent = self._parent(call.account, changes.get("parentId", row.parent_id))
            name = changes.get("name", row.name)
            new_imap = f"{parent.imap_name}{row.imap_delimiter}{name}" if parent else name
            if new_imap != row.imap_name:
                try:
                    folder_writes.folder_rename(account=call.account, old_name=row.imap_name, new_name=new_imap)
                except folder_writes.FolderNameRefused as refused:
                    raise _name_refused(refused) from None
                extra["imap_name"] = new_imap
        if "isSubscribed" in changes:
            folder_writes.folder_subscription_set(
                account=call.account,
                imap_name=extra.get("imap_name", row.imap_name),
                subscribed=changes["isSubscribed"],
            )
        return extra

    def backend_destroy(self, call: MethodCall, row: JmapObject) -> None:
        assert isinstance(row, Mailbox)
        folder_writes.folder_delete(account=call.account, imap_name=row.imap_name)

    # -- cache -------------------------------------------------------------------

    def object_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> JmapObject:
        assert isinstance(row, Mailbox)
        old_imap = row.imap_name
        updated = super().object_update(call, row, changes)
        assert isinstance(updated, Mailbox)
        if updated.imap_name != old_imap:
            mailbox_descendants_rename(account=call.account, old_prefix=old_imap, mailbox=updated)
        return updated

    def cache_written(self, call: MethodCall, row: JmapObject, modseq: int) -> None:
        assert isinstance(row, Mailbox)
        if not row.destroyed:
            Mailbox.objects.filter(pk=row.pk).update(props_modseq=modseq)
            row.props_modseq = modseq

    def object_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """The folder goes on the server first; then its emails leave the cache
        (destroyed when this was their only mailbox) in the same transaction
        as the mailbox's tombstone."""
        assert isinstance(row, Mailbox)
        self.backend_destroy(call, row)
        has_messages = MailboxMessage.objects.filter(mailbox=row).exists()
        names = ["Mailbox", "Email", "Thread"] if has_messages else ["Mailbox"]
        with state_change_atomic(account=call.account, type_names=names) as modseq:
            if has_messages:
                mailbox_emails_detach(account=call.account, mailbox=row, modseq=modseq)
            row.destroyed = True
            row.updated_modseq = modseq
            row.props_modseq = modseq
            row.save(update_fields=["destroyed", "updated_modseq", "props_modseq", "updated_at"])


def _problems_raise(problems: list[SetError]) -> None:
    """One invalidProperties SetError naming the properties of all `problems`."""
    if problems:
        raise SetErrorException(
            SetError(
                "invalidProperties",
                "; ".join(problem.description or "" for problem in problems),
                properties=sorted({name for problem in problems for name in problem.properties or ()}),
            )
        )


def _name_refused(refused: folder_writes.FolderNameRefused) -> SetErrorException:
    """The IMAP server refused the folder name (a Maildir++ Dovecot refuses
    ".", names past its length limit, ...): the client chose a name this
    server cannot store, which is invalidProperties on `name` with the
    server's reason (RFC 8620 §5.3), not serverFail."""
    return SetErrorException(
        SetError("invalidProperties", f"name: the IMAP server refused it: {refused.reason}", properties=["name"])
    )


def account_delimiter(account: Account) -> str:
    """The server's hierarchy separator, as LIST reported it for INBOX (or any folder)."""
    rows = Mailbox.objects.filter(account=account, destroyed=False).exclude(imap_delimiter="")
    found = rows.filter(role="inbox").values_list("imap_delimiter", flat=True).first()
    found = found or rows.values_list("imap_delimiter", flat=True).first()
    return found or "/"


def mailbox_rights(mailbox: Mailbox) -> dict[str, bool]:
    """myRights (RFC 8621 §2): a read-only account may only read; INBOX can
    be neither renamed nor deleted (RFC 3501 §6.3.4, §6.3.5)."""
    account: Account = mailbox.account
    writable = not account.is_read_only
    selectable = mailbox.is_selectable
    is_inbox = mailbox.role == "inbox" or mailbox.imap_name.upper() == "INBOX"
    return {
        "mayReadItems": selectable,
        "mayAddItems": writable and selectable,
        "mayRemoveItems": writable and selectable,
        "maySetSeen": writable and selectable,
        "maySetKeywords": writable and selectable,
        "mayCreateChild": writable,
        "mayRename": writable and not is_inbox,
        "mayDelete": writable and not is_inbox,
        "maySubmit": writable and selectable,
    }


def mailbox_descendants_rename(*, account: Account, old_prefix: str, mailbox: Mailbox) -> None:
    """After RENAME the server renamed the children too: follow in the cache."""
    delimiter = mailbox.imap_delimiter or "/"
    children = Mailbox.objects.filter(
        account=account, destroyed=False, imap_name__startswith=old_prefix + delimiter
    )
    for child in children:
        child.imap_name = mailbox.imap_name + child.imap_name[len(old_prefix) :]
        child.save(update_fields=["imap_name"])


MAILBOX_TYPE = MailboxType()
register_standard_methods(MAILBOX_TYPE, methods=("get", "changes", "set", "queryChanges"))


@method("Mailbox/query", capability=MAIL_CAPABILITY)
def mailbox_query(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §2.3: sortAsTree puts parents before their children, siblings
    in the requested order; filterAsTree keeps a mailbox only when every
    ancestor matches too. Without them this is the standard /query."""
    sort_as_tree = read_bool(args, "sortAsTree", default=False)
    filter_as_tree = read_bool(args, "filterAsTree", default=False)
    plain = {key: value for key, value in args.items() if key not in ("sortAsTree", "filterAsTree")}
    if not sort_as_tree and not filter_as_tree:
        return standard_query(MAILBOX_TYPE, ctx, plain)
    window_keys = ("position", "anchor", "anchorOffset", "limit")
    window: dict[str, Any] = {key: plain.pop(key) for key in window_keys if key in plain}
    every = {**plain, "limit": MAILBOX_TYPE.max_query_limit}
    matching = standard_query(MAILBOX_TYPE, ctx, every)
    ordered_all = standard_query(MAILBOX_TYPE, ctx, {**every, "filter": None})["ids"]
    account = ctx.account(args.get("accountId"))
    parents = dict(
        Mailbox.objects.filter(account=account, destroyed=False).values_list("jmap_id", "parent_id")
    )
    ids = mailbox_tree_order(
        matching=matching["ids"],
        ordered_all=ordered_all if sort_as_tree else matching["ids"],
        parents=parents,
        sort_as_tree=sort_as_tree,
        filter_as_tree=filter_as_tree,
    )
    return _window(ctx, matching, ids, window, calculate_total=bool(args.get("calculateTotal")))


def _window(
    ctx: CallContext, response: dict[str, Any], ids: list[str], window: dict[str, Any], *, calculate_total: bool
) -> dict[str, Any]:
    from jmapcore.protocol.query import anchor_index, limit_effective, window_start

    position = window.get("position", 0)
    limit_raw = window.get("limit")
    if not isinstance(position, int) or isinstance(position, bool):
        raise MethodError("invalidArguments", "position must be an Int")
    if limit_raw is not None and (not isinstance(limit_raw, int) or isinstance(limit_raw, bool) or limit_raw < 0):
        raise MethodError("invalidArguments", "limit must be an UnsignedInt")
    limit, _capped = limit_effective(limit_raw, MAILBOX_TYPE.max_query_limit)
    index = None
    if window.get("anchor") is not None:
        index = anchor_index(ids, str(window["anchor"]))
    offset = window.get("anchorOffset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise MethodError("invalidArguments", "anchorOffset must be an Int")
    start = window_start(total=len(ids), position=position, anchor_index=index, anchor_offset=offset)
    result = {**response, "position": start, "ids": ids[start : start + limit]}
    result.pop("limit", None)
    if calculate_total:
        result["total"] = len(ids)
    else:
        result.pop("total", None)
    return result
