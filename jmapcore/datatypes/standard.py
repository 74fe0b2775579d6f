"""The standard methods for any DataType (RFC 8620 §5.1-§5.6).

`register_standard_methods(datatype)` registers "<Type>/get", "/changes",
"/set", "/query" and "/queryChanges" in jmapcore.registry. Every handler
resolves the account through ctx.account(), so a foreign accountId answers
accountNotFound, and every row lookup goes through datatype.queryset(account),
so a foreign id answers notFound.
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.db.models import Q, QuerySet

from backends.base import BackendError
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DATATYPES, DataType, MethodCall, Property
from jmapcore.datatypes.orm import JmapObject
from jmapcore.datatypes.sql import filter_to_q
from jmapcore.datatypes.values import InvalidValue
from jmapcore.limits import COLLATION_ALGORITHMS, LIMITS
from jmapcore.protocol.arguments import (
    is_id,
    is_id_or_reference,
    read_bool,
    read_id,
    read_ids,
    read_int,
    read_list,
    read_object,
    read_positive_int,
    read_string,
    read_strings,
    read_unsigned_int,
)
from jmapcore.protocol.create_order import creates_order, reference_ids
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.protocol.patch import patch_apply, pointer_split
from jmapcore.protocol.query import (
    Comparator,
    Filter,
    anchor_index,
    filter_condition_names,
    filter_parse,
    limit_effective,
    sort_parse,
    window_start,
)
from jmapcore.protocol.state import query_state_decode, query_state_encode, state_decode, state_encode
from jmapcore.registry import method
from jmapcore.state import type_state_get, type_state_position
from jmapcore.strictness import KNOWN_COMPARATOR_KEYS, client_workarounds

logger = logging.getLogger(__name__)

T = TypeVar("T")
StandardHandler = Callable[[DataType, CallContext, dict[str, Any]], dict[str, Any]]
STANDARD_METHODS = ("get", "changes", "set", "query", "queryChanges")
# Above this many changed rows /queryChanges asks the client to query again.
MAX_QUERY_CHANGES = 20000


def _call(ctx: CallContext, args: dict[str, Any], *, write: bool = False) -> MethodCall:
    return MethodCall(ctx=ctx, account=ctx.account(args.get("accountId"), write=write), args=args)


def reference_resolve(ctx: CallContext, value: str) -> str | None:
    """An id, or the id a "#creationId" stands for; None for an unknown creation id
    (RFC 8620 §5.3: creation ids from earlier in the same request)."""
    if value.startswith("#"):
        return ctx.created_ids.get(value[1:])
    return value


def rows_by_ids(
    ctx: CallContext, rows_qs: QuerySet[Any], ids: list[str] | None, *, order_by: tuple[str, ...] = ("pk",)
) -> tuple[list[Any], list[str]]:
    """The rows a /get asks for (RFC 8620 §5.1) and its notFound list.

    `rows_qs` is already scoped to the caller, so a foreign id is not found.
    ids null means every row, in `order_by` order (requestTooLarge past
    maxObjectsInGet); otherwise the rows come in the order asked, each once,
    "#creationId" references resolved.
    """
    limit = LIMITS.maxObjectsInGet
    if ids is None:
        every = list(rows_qs.order_by(*order_by)[: limit + 1])
        if len(every) > limit:
            raise MethodError("requestTooLarge", f"more than {limit} objects; ask for ids")
        return every, []
    return objects_by_ids(
        ctx, ids, fetch=lambda real: {row.jmap_id: row for row in rows_qs.filter(jmap_id__in=real)}
    )


def objects_by_ids(
    ctx: CallContext, ids: list[str], *, fetch: Callable[[list[str]], Mapping[str, T]]
) -> tuple[list[T], list[str]]:
    """What a /get with explicit ids answers (RFC 8620 §5.1): the objects in the
    order asked, each once, "#creationId" references resolved, and notFound.

    `fetch(real ids)` returns {id: object} for those of the ids that exist and
    that the caller may see (it is scoped to the caller's account). At most
    maxObjectsInGet ids (requestTooLarge past it).
    """
    limit = LIMITS.maxObjectsInGet
    if len(ids) > limit:
        raise MethodError("requestTooLarge", f"at most {limit} ids per /get")
    wanted = list(dict.fromkeys(ids))
    resolved = {raw: reference_resolve(ctx, raw) for raw in wanted}
    found = fetch(list(dict.fromkeys(real for real in resolved.values() if real)))
    rows: list[T] = []
    not_found: list[str] = []
    seen: set[str] = set()
    for raw in wanted:
        real = resolved[raw]
        if real is not None and real in seen:
            continue
        if real is not None and real in found:
            rows.append(found[real])
            seen.add(real)
        else:
            not_found.append(raw)
    return rows, not_found


def set_arguments_read(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """create, update and destroy of a /set (RFC 8620 §5.3), their ids checked
    and their total within maxObjectsInSet."""
    create = read_object(args, "create") or {}
    update = read_object(args, "update") or {}
    destroy = read_list(args, "destroy") or []
    if not all(is_id(key) for key in create):
        raise MethodError("invalidArguments", "create: creation ids must be Ids")
    if not all(is_id_or_reference(key) for key in update):
        raise MethodError("invalidArguments", "update: keys must be Ids")
    if not all(is_id_or_reference(item) for item in destroy):
        raise MethodError("invalidArguments", "destroy: must be a list of Ids")
    if len(create) + len(update) + len(destroy) > LIMITS.maxObjectsInSet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInSet} objects per /set")
    return create, update, destroy


# -- /get (RFC 8620 §5.1) ------------------------------------------------------


def standard_get(datatype: DataType, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """ids null means every object (requestTooLarge above maxObjectsInGet);
    duplicate ids are answered once; "id" is always returned."""
    call = _call(ctx, args)
    ids = read_ids(args, "ids", references=True)
    properties = read_strings(args, "properties")
    if properties is None:
        properties = datatype.default_properties()
    else:
        unknown = sorted({name for name in properties if name not in datatype.property_map})
        if unknown:
            raise MethodError("invalidArguments", "properties: unknown " + ", ".join(unknown))
        properties = list(dict.fromkeys(properties))
    state = type_state_get(account=call.account, type_name=datatype.name)
    rows, not_found = rows_by_ids(ctx, datatype.queryset(call.account), ids)
    datatype.rows_prefetch(call.account, rows, properties)
    response = {
        "accountId": call.account.accountid,
        "state": state,
        "list": [datatype.to_json(row, properties) for row in rows],
        "notFound": not_found,
    }
    datatype.response_extra("get", call, response)
    return response


# -- /changes (RFC 8620 §5.2) --------------------------------------------------


def standard_changes(datatype: DataType, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Rows changed after sinceState, oldest first, at most maxChanges ids.

    An id created and destroyed in the range is left out; created-then-updated
    is only in `created`; updated-then-destroyed only in `destroyed`. When more
    changes remain, newState is an intermediate state just after the last row
    reported that also remembers the client's starting state, so the next call
    continues exactly there and still tells creations from updates (a row
    keeps only its latest modseq).
    """
    call = _call(ctx, args)
    since_raw = read_string(args, "sinceState", required=True)
    max_changes = read_positive_int(args, "maxChanges")
    limit = min(max_changes or datatype.max_changes, datatype.max_changes)
    since = state_decode(since_raw)
    current, horizon = type_state_position(account=call.account, type_name=datatype.name)
    if since.modseq > current:
        raise MethodError("cannotCalculateChanges", "state is not from this server")
    if since.start < horizon or (since.row is not None and since.modseq == horizon > 0):
        raise MethodError("cannotCalculateChanges", "state is older than the retained change history")

    after = Q(updated_modseq__gt=since.modseq)
    if since.row is not None:
        after |= Q(updated_modseq=since.modseq, pk__gt=since.row)
    rows = list(
        datatype.model._default_manager.filter(account=call.account, updated_modseq__lte=current)
        .filter(after)
        .order_by("updated_modseq", "pk")
        .values_list("pk", "jmap_id", "created_modseq", "updated_modseq", "destroyed")[: limit + 1]
    )
    has_more = len(rows) > limit
    if has_more:
        page, following = rows[:limit], rows[limit]
        last_pk, last_modseq = page[-1][0], page[-1][3]
        # Stop inside a modseq only when the page boundary falls inside one.
        row = last_pk if following[3] == last_modseq else None
        new_state = state_encode(last_modseq, row, since.start)
    else:
        page = rows
        new_state = state_encode(current)

    created: list[str] = []
    updated: list[str] = []
    destroyed: list[str] = []
    for _pk, jmap_id, created_modseq, _updated_modseq, is_destroyed in page:
        if is_destroyed:
            # Created after everything reported so far: the client never saw
            # it. Otherwise an earlier page may have reported its creation.
            if created_modseq <= since.modseq:
                destroyed.append(jmap_id)
        elif created_modseq > since.start:
            created.append(jmap_id)
        else:
            updated.append(jmap_id)
    response = {
        "accountId": call.account.accountid,
        "oldState": since_raw,
        "newState": new_state,
        "hasMoreChanges": has_more,
        "created": created,
        "updated": updated,
        "destroyed": destroyed,
    }
    datatype.response_extra("changes", call, response)
    return response


# -- /set (RFC 8620 §5.3) ------------------------------------------------------


def _invalid_properties(problems: dict[str, str]) -> SetErrorException:
    description = "; ".join(f"{name}: {why}" for name, why in sorted(problems.items()))
    return SetErrorException(SetError("invalidProperties", description, properties=sorted(problems)))


def _references_resolve(ctx: CallContext, prop: Property, value: Any) -> Any:
    """Replace "#creationId" references in an Id-valued property (RFC 8620 §5.3)."""

    def one(item: Any) -> Any:
        if isinstance(item, str) and item.startswith("#"):
            real = reference_resolve(ctx, item)
            if real is None:
                raise InvalidValue(f"unknown creation id {item}")
            return real
        return item

    if prop.reference == "id":
        return one(value)
    if prop.reference == "ids" and isinstance(value, list):
        return [one(item) for item in value]
    if prop.reference == "idmap" and isinstance(value, dict):
        return {one(key): item for key, item in value.items()}
    return value


def set_create_values(datatype: DataType, ctx: CallContext, raw: object) -> dict[str, Any]:
    """Validate one create object; returns stored values for every settable
    property (given or defaulted). Raises SetErrorException(invalidProperties)."""
    if not isinstance(raw, dict):
        raise SetErrorException(SetError("invalidProperties", "a create must be an object", properties=[]))
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        prop = datatype.property_map.get(name)
        if prop is None:
            problems[name] = "unknown property"
        elif name == "id" or prop.server_set:
            problems[name] = "set by the server"
        else:
            try:
                values[name] = prop.validate(_references_resolve(ctx, prop, value))
            except InvalidValue as error:
                problems[name] = str(error)
    for prop in datatype.properties:
        if prop.name in raw or prop.name == "id" or prop.server_set:
            continue
        if prop.has_default:
            values[prop.name] = prop.validate(copy.deepcopy(prop.default))
        elif prop.required:
            problems[prop.name] = "required"
    if problems:
        raise _invalid_properties(problems)
    return values


def set_update_changes(datatype: DataType, ctx: CallContext, row: JmapObject, patch: object) -> dict[str, Any]:
    """Apply a PatchObject to `row`'s JSON; returns {property: new stored value}
    for what actually changes. Server-set, immutable and "id" properties may
    appear only with their current value (RFC 8620 §5.3)."""
    if not isinstance(patch, dict):
        raise SetErrorException(SetError("invalidPatch", "a PatchObject must be an object"))
    # Every invalid property is reported, not only the first (RFC 8620 §5.3).
    problems: dict[str, str] = {}
    tops: set[str] = set()
    for key in patch:
        top = pointer_split(key)[0]
        if top in datatype.property_map:
            tops.add(top)
        else:
            problems[top] = "unknown property"
    known = {key: value for key, value in patch.items() if pointer_split(key)[0] in tops}
    current = datatype.to_json(row, tops)
    defaults = {name: datatype.property_map[name].default for name in tops if datatype.property_map[name].has_default}
    patched, touched = patch_apply(current, known, defaults=defaults)
    changes: dict[str, Any] = {}
    for name in touched:
        prop = datatype.property_map[name]
        try:
            new = _references_resolve(ctx, prop, patched.get(name))
        except InvalidValue as error:
            problems[name] = str(error)
            continue
        if new == current.get(name):
            continue
        if name == "id" or prop.server_set:
            problems[name] = "set by the server"
        elif prop.immutable:
            problems[name] = "cannot be changed"
        else:
            try:
                changes[name] = prop.validate(new)
            except InvalidValue as error:
                problems[name] = str(error)
    if problems:
        raise _invalid_properties(problems)
    return changes


def _create_references(datatype: DataType, raw: object) -> dict[str, list[str]]:
    """Creation ids a create object refers to, per Id-valued property."""
    if not isinstance(raw, dict):
        return {}
    found: dict[str, list[str]] = {}
    for name, value in raw.items():
        prop = datatype.property_map.get(name) if isinstance(name, str) else None
        if prop is not None and prop.reference is not None:
            ids = reference_ids(value, prop.reference)
            if ids:
                found[name] = ids
    return found


def _set_error(error: Exception) -> dict[str, Any]:
    """The SetError for a failed per-object operation."""
    if isinstance(error, SetErrorException):
        return error.error.to_json()
    if isinstance(error, BackendError):
        return SetError("serverFail", f"backend: {error}").to_json()
    logger.exception("unexpected error in a /set operation", exc_info=error)
    return SetError("serverFail", "internal error").to_json()


def standard_set(datatype: DataType, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Creates, then updates, then destroys; each object succeeds or fails alone
    (its own backend call and its own cache transaction)."""
    call = _call(ctx, args, write=True)
    if_in_state = read_string(args, "ifInState")
    create, update, destroy = set_arguments_read(args)
    old_state = type_state_get(account=call.account, type_name=datatype.name)
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch")

    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    ordered = creates_order(
        create, references=lambda raw: _create_references(datatype, raw), created_before=ctx.created_ids
    )
    for creation_id, properties in ordered.blocked.items():
        not_created[creation_id] = SetError(
            "invalidProperties",
            ", ".join(properties) + ": refers to creates of this call that refer back to it (a cycle)",
            properties=properties,
        ).to_json()
    for creation_id in ordered.order:
        raw = create[creation_id]
        try:
            values = set_create_values(datatype, ctx, raw)
            datatype.validate_create(call, values)
            row = datatype.object_create(call, values)
        except Exception as error:
            not_created[creation_id] = _set_error(error)
            continue
        ctx.created_ids[creation_id] = row.jmap_id
        # A value the server changed (a resolved "#reference", a normalised
        # value) is reported back like a server-set one.
        given = {name for name, value in raw.items() if values.get(name) == value}
        created[creation_id] = datatype.created_json(row, given=given)

    # Resolved after the creates: a destroy may name an object created above.
    destroy_ids = [(raw, reference_resolve(ctx, raw)) for raw in destroy]
    doomed = {real for _, real in destroy_ids if real is not None}

    updated: dict[str, Any] = {}
    not_updated: dict[str, Any] = {}
    for raw_id, patch in update.items():
        real = reference_resolve(ctx, raw_id)
        key = real or raw_id
        if real in doomed:
            not_updated[key] = SetError("willDestroy").to_json()
            continue
        target = datatype.queryset(call.account).filter(jmap_id=real).first() if real else None
        if target is None:
            not_updated[key] = SetError("notFound").to_json()
            continue
        try:
            changes = set_update_changes(datatype, ctx, target, patch)
            if changes:
                datatype.validate_update(call, target, changes)
                target = datatype.object_update(call, target, changes)
        except Exception as error:
            not_updated[key] = _set_error(error)
            continue
        updated[key] = datatype.updated_json(target, changes)

    destroyed: list[str] = []
    not_destroyed: dict[str, Any] = {}
    for raw, real in destroy_ids:
        key = real or raw
        victim = datatype.queryset(call.account).filter(jmap_id=real).first() if real else None
        if victim is None:
            not_destroyed[key] = SetError("notFound").to_json()
            continue
        try:
            datatype.validate_destroy(call, victim)
            datatype.object_destroy(call, victim)
        except Exception as error:
            not_destroyed[key] = _set_error(error)
            continue
        destroyed.append(key)

    response = {
        "accountId": call.account.accountid,
        "oldState": old_state,
        "newState": type_state_get(account=call.account, type_name=datatype.name),
        "created": created or None,
        "updated": updated or None,
        "destroyed": destroyed or None,
        "notCreated": not_created or None,
        "notUpdated": not_updated or None,
        "notDestroyed": not_destroyed or None,
    }
    datatype.response_extra("set", call, response)
    return response


# -- /query (RFC 8620 §5.5) ----------------------------------------------------


def _query_parse(datatype: DataType, args: dict[str, Any]) -> tuple[Filter | None, list[Comparator]]:
    parsed = filter_parse(args.get("filter"), condition_properties=datatype.filters.keys())
    comparators = sort_parse(
        args.get("sort"),
        sortable=datatype.sorts.keys(),
        collations=COLLATION_ALGORITHMS,
        known_keys=KNOWN_COMPARATOR_KEYS if client_workarounds() else None,
    )
    return parsed, comparators


def _query_ids_qs(datatype: DataType, call: MethodCall, parsed: Filter | None, comparators: list[Comparator]) -> Any:
    condition_q = lambda name, value: datatype.filter_condition_q(call, name, value)  # noqa: E731
    where = filter_to_q(parsed, condition_q)
    order = datatype.sort_order(call, comparators)
    return datatype.queryset(call.account).filter(where).order_by(*order).values_list("jmap_id", flat=True)


def standard_query(datatype: DataType, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Filter and sort in SQL, then cut the window: an anchor (plus anchorOffset)
    wins over position; a negative position counts from the end; the server
    caps limit at datatype.max_query_limit and says so in `limit`."""
    call = _call(ctx, args)
    parsed, comparators = _query_parse(datatype, args)
    position = read_int(args, "position", default=0)
    anchor = read_id(args, "anchor", references=True)
    anchor_offset = read_int(args, "anchorOffset", default=0)
    requested_limit = read_unsigned_int(args, "limit")
    calculate_total = read_bool(args, "calculateTotal", default=False)
    modseq, _ = type_state_position(account=call.account, type_name=datatype.name)
    limit, capped = limit_effective(requested_limit, datatype.max_query_limit)
    ids_qs = _query_ids_qs(datatype, call, parsed, comparators)

    total: int | None = None
    if anchor is not None:
        every = list(ids_qs)
        total = len(every)
        index = anchor_index(every, reference_resolve(ctx, anchor) or anchor)
        start = window_start(total=total, position=position, anchor_index=index, anchor_offset=anchor_offset)
        ids = every[start : start + limit]
    else:
        if calculate_total or position < 0:
            total = ids_qs.count()
        start = window_start(total=total, position=position, anchor_index=None, anchor_offset=anchor_offset)
        ids = list(ids_qs[start : start + limit])

    response: dict[str, Any] = {
        "accountId": call.account.accountid,
        "queryState": query_state_encode(modseq),
        "canCalculateChanges": True,
        "position": start,
        "ids": ids,
    }
    if calculate_total:
        response["total"] = total
    if capped and (requested_limit is not None or len(ids) == limit):
        response["limit"] = limit
    datatype.response_extra("query", call, response)
    return response


# -- /queryChanges (RFC 8620 §5.6) ---------------------------------------------


def standard_query_changes(datatype: DataType, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Every object changed since sinceQueryState that existed then is reported
    in `removed` (§5.6 allows extra ids there); every changed object that
    matches now is in `added` with its current index. With upToId, and a
    filter and sort on immutable data only, additions after upToId are left out.
    """
    call = _call(ctx, args)
    parsed, comparators = _query_parse(datatype, args)
    since_raw = read_string(args, "sinceQueryState", required=True)
    max_changes = read_positive_int(args, "maxChanges")
    up_to_id = read_id(args, "upToId", references=True)
    calculate_total = read_bool(args, "calculateTotal", default=False)
    since = query_state_decode(since_raw)
    current, horizon = type_state_position(account=call.account, type_name=datatype.name)
    if since > current:
        raise MethodError("cannotCalculateChanges", "query state is not from this server")
    if since < horizon:
        raise MethodError("cannotCalculateChanges", "query state is older than the retained change history")

    changed_qs = datatype.model._default_manager.filter(
        account=call.account, updated_modseq__gt=since, updated_modseq__lte=current
    )
    if changed_qs.count() > MAX_QUERY_CHANGES:
        raise MethodError("cannotCalculateChanges", "too many changes; run the query again")
    removed: list[str] = []
    live_changed: set[str] = set()
    for jmap_id, created_modseq, is_destroyed in changed_qs.order_by("updated_modseq", "pk").values_list(
        "jmap_id", "created_modseq", "destroyed"
    ):
        if created_modseq <= since:  # it existed at the old state, so it may have been a result
            removed.append(jmap_id)
        if not is_destroyed:
            live_changed.add(jmap_id)
    if max_changes is not None and len(removed) > max_changes:
        raise MethodError("tooManyChanges")

    results = list(_query_ids_qs(datatype, call, parsed, comparators))
    added = [{"id": jmap_id, "index": index} for index, jmap_id in enumerate(results) if jmap_id in live_changed]
    used = filter_condition_names(parsed) | {comparator.property for comparator in comparators}
    if up_to_id is not None and used <= datatype.query_immutable:
        real = reference_resolve(ctx, up_to_id)
        if real in results:
            last = results.index(real)
            added = [item for item in added if item["index"] <= last]
    if max_changes is not None and len(removed) + len(added) > max_changes:
        raise MethodError("tooManyChanges")

    response: dict[str, Any] = {
        "accountId": call.account.accountid,
        "oldQueryState": since_raw,
        "newQueryState": query_state_encode(current),
        "removed": removed,
        "added": added,
    }
    if calculate_total:
        response["total"] = len(results)
    datatype.response_extra("queryChanges", call, response)
    return response


# -- registration ----------------------------------------------------------------

HANDLERS: dict[str, StandardHandler] = {
    "get": standard_get,
    "changes": standard_changes,
    "set": standard_set,
    "query": standard_query,
    "queryChanges": standard_query_changes,
}


def register_standard_methods(datatype: DataType, *, methods: Iterable[str] = STANDARD_METHODS) -> None:
    """Register "<Type>/<method>" for each of `methods` under the type's capability."""
    DATATYPES[datatype.name] = datatype
    for suffix in methods:
        standard = HANDLERS[suffix]

        def handler(ctx: CallContext, args: dict[str, Any], standard: StandardHandler = standard) -> dict[str, Any]:
            return standard(datatype, ctx, args)

        handler.__name__ = f"{datatype.name}_{suffix}"
        method(f"{datatype.name}/{suffix}", capability=datatype.capability)(handler)
