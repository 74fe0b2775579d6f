"""AddressBook/get, /changes and /set (RFC 9610 §2) over CardDAV address books.

Each AddressBook is one CardDAV address-book collection (RFC 6352 §5.2).
Writes go to the CardDAV server first (backends.carddav: extended MKCOL for a
create, RFC 5689; PROPPATCH of displayname and addressbook-description for a
rename, RFC 4918 §9.2 and RFC 6352 §6.2.1; DELETE for a destroy), then the
cache, in one state_change_atomic (DESIGN.md "Writes"). A refusal is the
object's SetError and changes nothing; a 412 resyncs the book first.

What CardDAV has no place for is kept in the proxy's cache only, per JMAP
user: sortOrder, isSubscribed, and isDefault (which one book of the account
always has, jmapcore.contacts.address_book_default). shareWith is null and
cannot be set: the CardDAV servers served here (Radicale, Xandikos) offer no
WebDAV sharing, so mayShare is false and a change is refused with forbidden
(§2: only a user with mayShare may change shareWith). myRights come from the
collection's DAV privileges (jmapcore.contacts.address_book_rights).
"""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from jmapcore.contacts.address_book_default import (
    address_book_default_ensure,
    address_book_default_repair,
    address_book_default_set,
)
from jmapcore.contacts.address_book_destroy import address_book_cards_count, address_book_cards_remove
from jmapcore.contacts.address_book_errors import dav_refusal_set_error
from jmapcore.contacts.address_book_rights import address_book_may_rename, address_book_rights
from jmapcore.contacts.capability import CONTACTS_CAPABILITY, contacts_account_value
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, MethodCall, Property
from jmapcore.datatypes.orm import JmapObject, jmap_id_new
from jmapcore.datatypes.standard import (
    reference_resolve,
    register_standard_methods,
    standard_changes,
    standard_get,
    standard_set,
)
from jmapcore.datatypes.values import InvalidValue, boolean, unsigned_int, xml_text_check
from jmapcore.models.contacts import AddressBook
from jmapcore.protocol.arguments import is_id, is_id_or_reference
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.registry import method
from jmapcore.state import state_change_atomic, type_state_get

# RFC 9610 §2: name is at most 255 octets of UTF-8.
MAX_NAME_OCTETS = 255
# A description is free text; this bound keeps a PROPPATCH a reasonable size.
MAX_DESCRIPTION = 10000
RIGHTS = ("mayRead", "mayWrite", "mayShare", "mayDelete")


def _name_validate(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue("must be a non-empty String")
    if len(value.encode()) > MAX_NAME_OCTETS:
        raise InvalidValue(f"must be at most {MAX_NAME_OCTETS} octets")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise InvalidValue("must not contain control characters")
    return value


def _description_validate(value: Any) -> str:
    """description: String|null (RFC 9610 §2); null is stored as ''."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidValue("must be a String or null")
    if len(value) > MAX_DESCRIPTION:
        raise InvalidValue(f"must be at most {MAX_DESCRIPTION} characters")
    return xml_text_check(value)


def _share_with_validate(value: Any) -> dict[str, dict[str, bool]]:
    """shareWith: Id[AddressBookRights]|null (RFC 9610 §2); null is stored as {}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidValue("must be a map of principal ids to AddressBookRights, or null")
    for principal, rights in value.items():
        if not is_id(principal):
            raise InvalidValue("keys must be principal Ids")
        if (
            not isinstance(rights, dict)
            or set(rights) != set(RIGHTS)
            or not all(isinstance(flag, bool) for flag in rights.values())
        ):
            raise InvalidValue("values must be AddressBookRights objects (" + ", ".join(RIGHTS) + ")")
    return value


class AddressBookType(DataType):
    name = "AddressBook"
    capability = CONTACTS_CAPABILITY
    model = AddressBook
    id_prefix = "a"
    properties = (
        Property("id", server_set=True),
        Property("name", validate=_name_validate, required=True),
        Property("description", validate=_description_validate, dump=lambda value: value or None, default=None),
        Property("sortOrder", validate=unsigned_int(), field="sort_order", default=0),
        Property("isDefault", field="is_default", server_set=True),
        Property("isSubscribed", validate=boolean(), field="is_subscribed", default=True),
        Property(
            "shareWith",
            validate=_share_with_validate,
            dump=lambda value: value or None,
            field="share_with",
            default=None,
        ),
        Property("myRights", server_set=True),
    )

    # -- reading ---------------------------------------------------------------

    def property_value(self, row: JmapObject, prop: Property) -> Any:
        if prop.name == "myRights":
            assert isinstance(row, AddressBook)
            return address_book_rights(book=row, account=row.account)
        return super().property_value(row, prop)

    # -- validation ------------------------------------------------------------

    def validate_create(self, call: MethodCall, values: dict[str, Any]) -> None:
        if values.get("shareWith"):
            raise SetErrorException(
                SetError("forbidden", "shareWith: this CardDAV server offers no sharing (mayShare is false)")
            )

    def validate_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> None:
        assert isinstance(row, AddressBook)
        if "shareWith" in changes:
            raise SetErrorException(
                SetError("forbidden", "shareWith: this CardDAV server offers no sharing (mayShare is false)")
            )
        if ("name" in changes or "description" in changes) and not address_book_may_rename(
            book=row, account=call.account
        ):
            raise SetErrorException(
                SetError("forbidden", "the CardDAV server does not let this user change the address book's name")
            )

    def validate_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """RFC 9610 §2.3: without onDestroyRemoveContents a book with cards is
        refused with addressBookHasContents. The cache may lag behind the
        server (another client just added a card), so the book is synced
        before it is counted: a DELETE must never take a card nobody saw."""
        assert isinstance(row, AddressBook)
        if not address_book_rights(book=row, account=call.account)["mayDelete"]:
            raise SetErrorException(SetError("forbidden", "this address book cannot be destroyed (mayDelete)"))
        if call.args.get("onDestroyRemoveContents") is True:
            return
        from backends.carddav import carddav_book_sync

        carddav_book_sync(account=call.account, book=row)
        row.refresh_from_db()
        if row.destroyed:
            # The sync found the collection gone. Nothing is sent: were that
            # finding wrong, a DELETE would take cards nobody has seen.
            raise SetErrorException(SetError("notFound", "the address book is gone from the CardDAV server"))
        if address_book_cards_count(book=row):
            raise SetErrorException(
                SetError("addressBookHasContents", "the address book has contacts (see onDestroyRemoveContents)")
            )

    # -- backend -----------------------------------------------------------------

    def backend_create(self, call: MethodCall, values: dict[str, Any]) -> dict[str, Any]:
        from backends.carddav import DavRefused, carddav_book_create

        try:
            created = carddav_book_create(
                account=call.account, name=values["name"], description=values.get("description") or ""
            )
        except DavRefused as refused:
            raise _refused(refused) from None
        return {
            "dav_href": created.href,
            "dav_privileges": list(created.privileges),
            "vcard_version": created.vcard_version,
        }

    def backend_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> dict[str, Any]:
        """name and description live on the server; sortOrder and isSubscribed
        only in the cache (CardDAV has no such properties)."""
        assert isinstance(row, AddressBook)
        if "name" not in changes and "description" not in changes:
            return {}
        from backends.carddav import DavConflict, DavRefused, carddav_book_sync, carddav_book_update

        try:
            carddav_book_update(
                account=call.account,
                book=row,
                name=changes.get("name"),
                description=changes["description"] if "description" in changes else None,
            )
        except DavConflict:
            carddav_book_sync(account=call.account, book=row)
            raise SetErrorException(
                SetError("serverFail", "the address book changed on the CardDAV server meanwhile; synced, try again")
            ) from None
        except DavRefused as refused:
            raise _refused(refused) from None
        return {}

    def backend_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """A 404 means someone else removed it already: the cache follows the
        server, so that is a success."""
        assert isinstance(row, AddressBook)
        from backends.carddav import DavConflict, DavRefused, carddav_book_delete, carddav_book_sync

        try:
            carddav_book_delete(account=call.account, book=row)
        except DavConflict:
            carddav_book_sync(account=call.account, book=row)
            raise SetErrorException(
                SetError("serverFail", "the address book changed on the CardDAV server meanwhile; synced, try again")
            ) from None
        except DavRefused as refused:
            if refused.status != 404:
                raise _refused(refused) from None

    # -- cache -------------------------------------------------------------------

    def object_create(self, call: MethodCall, values: dict[str, Any]) -> JmapObject:
        """As the base, except that a sync running meanwhile may already have
        found the new collection: its row (same href) is adopted rather than
        a second row made, so the book has one id."""
        extra = self.backend_create(call, values)
        fields = {**self.fields_from_values(values), **extra}
        with state_change_atomic(account=call.account, type_names=self.type_names_written()) as modseq:
            row = (
                AddressBook.objects.select_for_update()
                .filter(account=call.account, destroyed=False, dav_href=extra["dav_href"])
                .first()
            )
            if row is None:
                row = AddressBook(account=call.account, jmap_id=jmap_id_new(self.id_prefix), created_modseq=modseq)
            for column, value in fields.items():
                setattr(row, column, value)
            row.updated_modseq = modseq
            row.save()
            self.cache_written(call, row, modseq)
        return row

    def cache_written(self, call: MethodCall, row: JmapObject, modseq: int) -> None:
        """Exactly one live book stays the default after any write."""
        assert isinstance(row, AddressBook)
        changed = address_book_default_repair(account=call.account, modseq=modseq)
        if row.jmap_id in changed:
            row.is_default = not row.is_default

    def object_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """The collection goes on the server first (its cards with it); then
        its cards become tombstones in the same transaction as the book's."""
        assert isinstance(row, AddressBook)
        self.backend_destroy(call, row)
        has_cards = address_book_cards_count(book=row) > 0
        names = ["AddressBook", "ContactCard"] if has_cards else ["AddressBook"]
        with state_change_atomic(account=call.account, type_names=names) as modseq:
            if has_cards:
                address_book_cards_remove(book=row, modseq=modseq)
            row.destroyed = True
            row.is_default = False
            row.updated_modseq = modseq
            row.save(update_fields=["destroyed", "is_default", "updated_modseq", "updated_at"])
            self.cache_written(call, row, modseq)


def _refused(refused: Any) -> SetErrorException:
    return SetErrorException(
        dav_refusal_set_error(
            status=int(getattr(refused, "status", 0) or 0),
            reason=str(getattr(refused, "reason", "") or refused),
            precondition=getattr(refused, "precondition", None),
        )
    )


ADDRESS_BOOK_TYPE = AddressBookType()
# Only the DATATYPES entry: the handlers below check the account and keep
# the default book right before the state is read.
register_standard_methods(ADDRESS_BOOK_TYPE, methods=())


def _prepare(ctx: CallContext, args: dict[str, Any]) -> Account:
    """The account (errors as the engine gives them), which must have a
    CardDAV server; its default book is repaired before the state is read."""
    account = ctx.account(args.get("accountId"))
    if contacts_account_value(account) is None:
        raise MethodError("accountNotSupportedByMethod", "this account has no CardDAV server")
    address_book_default_ensure(account=account)
    return account


@method("AddressBook/get", capability=CONTACTS_CAPABILITY)
def address_book_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9610 §2.1: standard /get; ids may be null."""
    _prepare(ctx, args)
    return standard_get(ADDRESS_BOOK_TYPE, ctx, args)


@method("AddressBook/changes", capability=CONTACTS_CAPABILITY)
def address_book_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9610 §2.2: standard /changes."""
    _prepare(ctx, args)
    return standard_changes(ADDRESS_BOOK_TYPE, ctx, args)


@method("AddressBook/set", capability=CONTACTS_CAPABILITY)
def address_book_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 9610 §2.3: standard /set plus

    - onDestroyRemoveContents (Boolean, default false): when false, a book
      with cards is not destroyed (SetError addressBookHasContents); when
      true its cards go with it;
    - onSuccessSetIsDefault (Id|null, "#creationId" allowed): when every
      create, update and destroy succeeded, that book becomes the default.
      An id naming no live book is ignored without error. Every book whose
      isDefault changed is reported with it in `created` or `updated`
      (RFC 8620 §5.3: server-set values that changed).
    """
    account = _prepare(ctx, args)
    remove_contents = args.get("onDestroyRemoveContents", False)
    if not isinstance(remove_contents, bool):
        raise MethodError("invalidArguments", "onDestroyRemoveContents must be a Boolean")
    new_default = args.get("onSuccessSetIsDefault")
    if new_default is not None and not is_id_or_reference(new_default):
        raise MethodError("invalidArguments", "onSuccessSetIsDefault must be an Id or null")
    response = standard_set(ADDRESS_BOOK_TYPE, ctx, args)
    failed = response["notCreated"] or response["notUpdated"] or response["notDestroyed"]
    if new_default is None or failed:
        return response
    real = reference_resolve(ctx, new_default)
    changed = address_book_default_set(account=account, jmap_id=real) if real else {}
    if not changed:
        return response
    created_by_id = {entry["id"]: entry for entry in (response["created"] or {}).values()}
    updated: dict[str, Any] = dict(response["updated"] or {})
    for jmap_id, flag in changed.items():
        if jmap_id in created_by_id:
            created_by_id[jmap_id]["isDefault"] = flag
        else:
            updated[jmap_id] = {**(updated.get(jmap_id) or {}), "isDefault": flag}
    response["updated"] = updated or None
    response["newState"] = type_state_get(account=account, type_name="AddressBook")
    return response
