"""ContactCard/get, /changes, /query, /queryChanges, /set and /copy (RFC 9610 §3.1-§3.6).

A ContactCard is a JSContact Card (RFC 9553) read from one vCard on the
CardDAV server, plus ``id`` and ``addressBookIds``. /changes, /query and
/queryChanges are the standard methods (jmapcore.datatypes.standard) over the
cache; /get serves the cached card JSON; /set and /copy go through
jmapcore.contacts.contact_card_write, which writes to the CardDAV server first.

Every handler first checks that the account offers urn:ietf:params:jmap:contacts
(an IMAP account with a CardDAV server): another account answers
accountNotSupportedByMethod (RFC 8620 §3.6.2).
"""
from __future__ import annotations

import logging
from typing import Any

from django.db.models import QuerySet

from accounts.models import Account
from backends.base import BackendError
from jmapcore.contacts import contact_card_write as writes
from jmapcore.contacts.capability import CONTACTS_CAPABILITY, contacts_account_value
from jmapcore.contacts.contact_card_query import (
    CONTACT_CARD_FILTERS,
    CONTACT_CARD_IMMUTABLE_QUERY,
    CONTACT_CARD_SORTS,
)
from jmapcore.contacts.contact_card_read import card_properties_read, contact_card_json
from jmapcore.contacts.contact_card_set import card_create_prepare, card_update_prepare
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, Property
from jmapcore.datatypes.standard import (
    DATATYPES,
    reference_resolve,
    rows_by_ids,
    set_arguments_read,
    standard_changes,
    standard_query,
    standard_query_changes,
)
from jmapcore.limits import LIMITS
from jmapcore.models.contacts import ContactCard
from jmapcore.protocol.arguments import read_bool, read_ids, read_object, read_string
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.registry import method
from jmapcore.state import type_state_get

logger = logging.getLogger(__name__)

TYPE_NAME = "ContactCard"


class ContactCardType(DataType):
    """The standard-method view of ContactCard: ids, filters and sorts over the cache."""

    name = TYPE_NAME
    capability = CONTACTS_CAPABILITY
    model = ContactCard
    id_prefix = "c"
    properties = (Property("id", server_set=True), Property("addressBookIds"))
    filters = CONTACT_CARD_FILTERS
    sorts = CONTACT_CARD_SORTS
    query_immutable = CONTACT_CARD_IMMUTABLE_QUERY
    max_query_limit = 5000


CONTACT_CARD_TYPE = ContactCardType()
DATATYPES[TYPE_NAME] = CONTACT_CARD_TYPE


def contacts_account(ctx: CallContext, account_id: object, *, write: bool = False) -> Account:
    """The caller's account, which must offer the contacts capability (RFC 9610 §1.4.1)."""
    account = ctx.account(account_id, write=write)
    if contacts_account_value(account) is None:
        raise MethodError("accountNotSupportedByMethod", "this account has no CardDAV server")
    return account


def _live_cards(account: Account) -> QuerySet[ContactCard]:
    return ContactCard.objects.filter(account=account, destroyed=False).select_related("address_book")


def _set_error_json(error: Exception) -> dict[str, Any]:
    if isinstance(error, SetErrorException):
        return error.error.to_json()
    if isinstance(error, BackendError):
        return SetError("serverFail", f"CardDAV server: {error}").to_json()
    logger.exception("unexpected error in a ContactCard write", exc_info=error)
    return SetError("serverFail", "internal error").to_json()


# -- /get (RFC 9610 §3.1, RFC 8620 §5.1) --------------------------------------


@method("ContactCard/get", capability=CONTACTS_CAPABILITY)
def contact_card_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """The cached cards; `properties` limits the top-level properties ("id" always)."""
    account = contacts_account(ctx, args.get("accountId"))
    ids = read_ids(args, "ids", references=True)
    properties = card_properties_read(args.get("properties"))
    state = type_state_get(account=account, type_name=TYPE_NAME)
    # Only the columns the JSON needs: the vCard text and search columns are most of a row.
    columns = _live_cards(account).only("jmap_id", "card", "address_book__jmap_id")
    rows, not_found = rows_by_ids(ctx, columns, ids)
    return {
        "accountId": account.accountid,
        "state": state,
        "list": [contact_card_json(row, properties) for row in rows],
        "notFound": not_found,
    }


# -- /changes, /query, /queryChanges (RFC 9610 §3.2-§3.4) ----------------------


@method("ContactCard/changes", capability=CONTACTS_CAPABILITY)
def contact_card_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    contacts_account(ctx, args.get("accountId"))
    return standard_changes(CONTACT_CARD_TYPE, ctx, args)


@method("ContactCard/query", capability=CONTACTS_CAPABILITY)
def contact_card_query(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Every FilterCondition of RFC 9610 §3.3.1, the sorts of §3.3.2; in SQL."""
    contacts_account(ctx, args.get("accountId"))
    return standard_query(CONTACT_CARD_TYPE, ctx, args)


@method("ContactCard/queryChanges", capability=CONTACTS_CAPABILITY)
def contact_card_query_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    contacts_account(ctx, args.get("accountId"))
    return standard_query_changes(CONTACT_CARD_TYPE, ctx, args)


# -- /set (RFC 9610 §3.5, RFC 8620 §5.3) --------------------------------------


def contact_card_set_run(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Creates, then updates, then destroys; each card succeeds or fails alone."""
    account = contacts_account(ctx, args.get("accountId"), write=True)
    if_in_state = read_string(args, "ifInState")
    create, update, destroy = set_arguments_read(args)
    old_state = type_state_get(account=account, type_name=TYPE_NAME)
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch")

    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    for creation_id, raw in create.items():
        try:
            prepared = card_create_prepare(ctx, account=account, raw=raw)
            row = writes.contact_card_create(account=account, book=prepared.book, card=prepared.card)
        except Exception as error:
            not_created[creation_id] = _set_error_json(error)
            continue
        ctx.created_ids[creation_id] = row.jmap_id
        created[creation_id] = prepared.created_json(row)

    destroy_ids = [(raw_id, reference_resolve(ctx, raw_id)) for raw_id in destroy]
    doomed = {real for _, real in destroy_ids if real is not None}

    updated: dict[str, Any] = {}
    not_updated: dict[str, Any] = {}
    for raw_id, patch in update.items():
        real = reference_resolve(ctx, raw_id)
        key = real or raw_id
        if real in doomed:
            not_updated[key] = SetError("willDestroy").to_json()
            continue
        target = _live_cards(account).filter(jmap_id=real).first() if real else None
        if target is None:
            not_updated[key] = SetError("notFound").to_json()
            continue
        try:
            prepared_update = card_update_prepare(ctx, account=account, row=target, patch=patch)
            if prepared_update.changes_anything(target):
                target = writes.contact_card_update(
                    account=account, row=target, card=prepared_update.card, book=prepared_update.book
                )
        except Exception as error:
            not_updated[key] = _set_error_json(error)
            continue
        updated[key] = prepared_update.updated_json(target)

    destroyed: list[str] = []
    not_destroyed: dict[str, Any] = {}
    for raw_id, real in destroy_ids:
        key = real or raw_id
        victim = _live_cards(account).filter(jmap_id=real).first() if real else None
        if victim is None:
            not_destroyed[key] = SetError("notFound").to_json()
            continue
        try:
            writes.contact_card_destroy(account=account, row=victim)
        except Exception as error:
            not_destroyed[key] = _set_error_json(error)
            continue
        destroyed.append(key)

    return {
        "accountId": account.accountid,
        "oldState": old_state,
        "newState": type_state_get(account=account, type_name=TYPE_NAME),
        "created": created or None,
        "updated": updated or None,
        "destroyed": destroyed or None,
        "notCreated": not_created or None,
        "notUpdated": not_updated or None,
        "notDestroyed": not_destroyed or None,
    }


@method("ContactCard/set", capability=CONTACTS_CAPABILITY)
def contact_card_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return contact_card_set_run(ctx, args)


# -- /copy (RFC 9610 §3.6, RFC 8620 §5.4) -------------------------------------


@method("ContactCard/copy", capability=CONTACTS_CAPABILITY)
def contact_card_copy(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Copy cards from another account of the caller's login. Each create names
    the source card's `id` and may override any property (addressBookIds says
    where the copy goes). With onSuccessDestroyOriginal the copied originals are
    destroyed by an implicit ContactCard/set on the source account, whose
    response follows this one (RFC 8620 §5.4)."""
    from_account = contacts_account(ctx, args.get("fromAccountId"))
    account = contacts_account(ctx, args.get("accountId"), write=True)
    if from_account.pk == account.pk:
        raise MethodError("invalidArguments", "fromAccountId must differ from accountId")
    if_from = read_string(args, "ifFromInState")
    if_in_state = read_string(args, "ifInState")
    destroy_if_from = read_string(args, "destroyFromIfInState")
    destroy_original = read_bool(args, "onSuccessDestroyOriginal", default=False)
    create = read_object(args, "create") or {}
    if len(create) > LIMITS.maxObjectsInSet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInSet} cards per /copy")
    if if_from is not None and if_from != type_state_get(account=from_account, type_name=TYPE_NAME):
        raise MethodError("stateMismatch", "ifFromInState does not match")
    old_state = type_state_get(account=account, type_name=TYPE_NAME)
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch", "ifInState does not match")

    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    originals: list[str] = []
    for creation_id, raw in create.items():
        try:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise SetErrorException(SetError("invalidProperties", "id: the card to copy", properties=["id"]))
            source_id = reference_resolve(ctx, raw["id"]) or raw["id"]
            source = _live_cards(from_account).filter(jmap_id=source_id).first()
            if source is None:
                raise SetErrorException(SetError("notFound", f"no card {source_id[:64]} in {from_account.accountid}"))
            overrides = {key: value for key, value in raw.items() if key != "id"}
            prepared = card_create_prepare(
                ctx, account=account, raw={**(source.card if isinstance(source.card, dict) else {}), **overrides}
            )
            row = writes.contact_card_create(account=account, book=prepared.book, card=prepared.card)
        except Exception as error:
            not_created[creation_id] = _set_error_json(error)
            continue
        ctx.created_ids[creation_id] = row.jmap_id
        # RFC 8620 §5.4: only what the server set or changed, not the copied properties.
        created[creation_id] = prepared.created_json(row)
        originals.append(source.jmap_id)

    response = {
        "fromAccountId": from_account.accountid,
        "accountId": account.accountid,
        "oldState": old_state,
        "newState": type_state_get(account=account, type_name=TYPE_NAME),
        "created": created or None,
        "notCreated": not_created or None,
    }
    if destroy_original and originals:
        implicit_args: dict[str, Any] = {"accountId": from_account.accountid, "destroy": originals}
        if destroy_if_from is not None:
            implicit_args["ifInState"] = destroy_if_from
        try:
            implicit = contact_card_set_run(ctx, implicit_args)
        except MethodError as error:
            ctx.extra_responses.append(("error", error.to_arguments()))
        else:
            ctx.extra_responses.append(("ContactCard/set", implicit))
    return response
