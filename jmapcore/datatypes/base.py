"""The DataType contract: what a JMAP data type declares to get the standard
methods /get, /changes, /set, /query and /queryChanges (RFC 8620 §5.1-§5.6).

A concrete type subclasses DataType and sets:

- `name` ("Mailbox"), `capability` (the URN in `using`), `model` (a JmapObject
  subclass whose `jmap_type` equals `name`), `id_prefix` (first letter of ids);
- `properties`: one Property per JSON property, "id" included;
- `filters`: FilterCondition property -> FilterBuilder (value -> Q);
- `sorts`: Comparator property -> SortBuilder (Comparator -> ORDER BY);
- optionally `query_immutable`: filter/sort names on immutable data (lets
  /queryChanges honour upToId), `max_query_limit`, `max_changes`,
  `changed_types` (types whose state a write of this type also changes).

Writes follow DESIGN.md "Writes": `object_create/update/destroy` first call
the `backend_*` hook (which talks to IMAP/DAV/JMAP and may raise
SetErrorException or backends.base.BackendError), and only when it returns do
they write the cache, in one transaction that takes a new modseq, moves the
type state and publishes the change after commit. A refusal therefore leaves
cache, modseq and state untouched.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from django.db.models import OrderBy, Q, QuerySet

from jmapcore.datatypes.orm import JmapObject, jmap_id_new
from jmapcore.datatypes.sql import FilterBuilder, SortBuilder
from jmapcore.datatypes.values import InvalidValue, Validator, any_json
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.query import Comparator
from jmapcore.state import state_change_atomic

if TYPE_CHECKING:
    from accounts.models import Account
    from jmapcore.context import CallContext

NO_DEFAULT: Any = object()


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Property:
    """One JSON property of a data type.

    `validate` turns a client's JSON value into the stored value (raising
    InvalidValue); `dump` turns the stored value back into JSON. `field` is the
    model column (defaults to `name`). Server-set properties are never written
    by clients (RFC 8620 §5.3 invalidProperties) and need no column when the
    type computes them in `property_value`. `immutable` ones may be given on
    create but never changed. `reference` marks Id-valued properties whose
    value may be a "#creationId" (RFC 8620 §5.3): "id" (Id), "ids" (Id[]),
    "idmap" (Id[*] keys).
    """

    name: str
    validate: Validator = any_json
    dump: Validator = _identity
    field: str = ""
    server_set: bool = False
    immutable: bool = False
    required: bool = False
    default: Any = NO_DEFAULT
    reference: Literal["id", "ids", "idmap"] | None = None

    @property
    def column(self) -> str:
        return self.field or self.name

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass
class MethodCall:
    """One method call as the hooks see it: the context, the (write-checked)
    account and the raw arguments (for type-specific extras such as
    onDestroyRemoveEmails)."""

    ctx: CallContext
    account: Account
    args: dict[str, Any]


class DataType:
    """Base class of every data type served through the standard methods."""

    name: ClassVar[str] = ""
    capability: ClassVar[str] = ""
    model: ClassVar[type[JmapObject]]
    id_prefix: ClassVar[str] = "x"
    properties: ClassVar[tuple[Property, ...]] = ()
    filters: ClassVar[Mapping[str, FilterBuilder]] = {}
    sorts: ClassVar[Mapping[str, SortBuilder]] = {}
    # Filter condition and sort property names that depend only on immutable
    # data: when a query uses nothing else, /queryChanges honours upToId.
    query_immutable: ClassVar[frozenset[str]] = frozenset()
    # Server cap on /query limit (reported in `limit` when applied, §5.5).
    max_query_limit: ClassVar[int] = 5000
    # How many changes /changes returns when the client gives no maxChanges.
    max_changes: ClassVar[int] = 5000
    # Other types whose state a write of this type changes too (e.g. an
    # Email write changes Mailbox counts and Thread membership).
    changed_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        if not self.name or not self.capability:
            raise TypeError(f"{type(self).__name__} needs a name and a capability")
        if self.model.jmap_type != self.name:
            raise TypeError(f"{self.model.__name__}.jmap_type must be {self.name!r}")
        self.property_map: dict[str, Property] = {prop.name: prop for prop in self.properties}
        if "id" not in self.property_map:
            raise TypeError(f"{self.name} must declare the id property")

    # -- reading ---------------------------------------------------------

    def queryset(self, account: Account) -> QuerySet[JmapObject]:
        """Live (not destroyed) rows of this type in `account`: every lookup goes
        through this, so nothing outside the caller's account is ever visible."""
        return self.model._default_manager.filter(account=account, destroyed=False)

    def default_properties(self) -> list[str]:
        """Properties /get returns when `properties` is null (RFC 8620 §5.1: all)."""
        return [prop.name for prop in self.properties]

    def property_value(self, row: JmapObject, prop: Property) -> Any:
        """The JSON value of `prop` for `row`; override for computed properties."""
        if prop.name == "id":
            return row.jmap_id
        return prop.dump(getattr(row, prop.column))

    def rows_prefetch(self, account: Account, rows: list[JmapObject], properties: Collection[str]) -> None:
        """Before `to_json` runs on each of `rows` (one /get): load in a fixed
        number of queries what `property_value` would otherwise read row by
        row, so a /get of many objects costs no more queries than one of a
        single object. Nothing to load for stored properties."""

    def to_json(self, row: JmapObject, properties: Collection[str]) -> dict[str, Any]:
        """The object as JSON, limited to `properties` ("id" is always included)."""
        result: dict[str, Any] = {"id": row.jmap_id}
        for name in properties:
            if name != "id":
                result[name] = self.property_value(row, self.property_map[name])
        return result

    # -- querying --------------------------------------------------------

    def filter_condition_q(self, call: MethodCall, name: str, value: Any) -> Q:
        """One FilterCondition property as a Q (only names in `filters` arrive here).

        A bad value is invalidArguments naming the condition.
        """
        try:
            return self.filters[name](value)
        except InvalidValue as error:
            raise MethodError("invalidArguments", f"filter {name}: {error}") from None

    def sort_order(self, call: MethodCall, comparators: list[Comparator]) -> list[OrderBy | str]:
        """ORDER BY terms for the comparators; ties and an empty sort fall back
        to creation order (the primary key), so results are deterministic."""
        order: list[OrderBy | str] = []
        for comparator in comparators:
            order.extend(self.sorts[comparator.property](comparator))
        order.append("pk")
        return order

    # -- validation hooks (may raise SetErrorException) --------------------

    def validate_create(self, call: MethodCall, values: dict[str, Any]) -> None:
        """Cross-property checks on a create's validated values (stored form)."""

    def validate_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> None:
        """Cross-property checks on an update; `changes` maps property names to new stored values."""

    def validate_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """Refuse a destroy, e.g. SetError mailboxHasChild or singleton."""

    # -- backend hooks: talk to the backend; may raise SetErrorException or BackendError

    def backend_create(self, call: MethodCall, values: dict[str, Any]) -> dict[str, Any]:
        """Create the object on the backend. Returns extra model field values to
        store (backend identifiers; "jmap_id" to impose an id, e.g. from OBJECTID)."""
        return {}

    def backend_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply `changes` on the backend. Returns extra model field values to store."""
        return {}

    def backend_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """Destroy the object on the backend."""

    # -- cache writes ------------------------------------------------------

    def fields_from_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Model field values for client-settable properties (stored form)."""
        fields: dict[str, Any] = {}
        for name, value in values.items():
            prop = self.property_map[name]
            if name != "id" and not prop.server_set:
                fields[prop.column] = value
        return fields

    def cache_written(self, call: MethodCall, row: JmapObject, modseq: int) -> None:
        """Called inside the write transaction after `row` is saved (also for
        destroys): update dependent rows (counts, threads) at the same modseq."""

    def type_names_written(self) -> list[str]:
        return [self.name, *self.changed_types]

    def object_create(self, call: MethodCall, values: dict[str, Any]) -> JmapObject:
        """Backend first, then the cache row at a new modseq (DESIGN.md "Writes")."""
        extra = dict(self.backend_create(call, values))
        jmap_id = extra.pop("jmap_id", None) or jmap_id_new(self.id_prefix)
        with state_change_atomic(account=call.account, type_names=self.type_names_written()) as modseq:
            row = self.model(
                account=call.account,
                jmap_id=jmap_id,
                created_modseq=modseq,
                updated_modseq=modseq,
                **self.fields_from_values(values),
                **extra,
            )
            row.save()
            self.cache_written(call, row, modseq)
        return row

    def object_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> JmapObject:
        """Backend first, then the changed columns at a new modseq."""
        extra = self.backend_update(call, row, changes)
        with state_change_atomic(account=call.account, type_names=self.type_names_written()) as modseq:
            columns = {**self.fields_from_values(changes), **extra}
            for column, value in columns.items():
                setattr(row, column, value)
            row.updated_modseq = modseq
            # Only what this write changed: a concurrent sync may own other columns.
            row.save(update_fields=[*columns, "updated_modseq", "updated_at"])
            self.cache_written(call, row, modseq)
        return row

    def object_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """Backend first, then the row becomes a tombstone at a new modseq."""
        self.backend_destroy(call, row)
        with state_change_atomic(account=call.account, type_names=self.type_names_written()) as modseq:
            row.destroyed = True
            row.updated_modseq = modseq
            row.save(update_fields=["destroyed", "updated_modseq", "updated_at"])
            self.cache_written(call, row, modseq)

    # -- responses ---------------------------------------------------------------

    def response_extra(self, method_suffix: str, call: MethodCall, response: dict[str, Any]) -> None:
        """Add type-specific members to a standard response, in place (e.g.
        RFC 8621 Mailbox/changes `updatedProperties`). `method_suffix` is
        "get", "changes", "set", "query" or "queryChanges"."""


    def created_json(self, row: JmapObject, given: Collection[str]) -> dict[str, Any]:
        """The `created` entry (RFC 8620 §5.3): the id plus every property the
        client did not give (server-set or defaulted)."""
        rest = [prop.name for prop in self.properties if prop.name not in given]
        return self.to_json(row, rest)

    def updated_json(self, row: JmapObject, changes: Mapping[str, Any]) -> dict[str, Any] | None:
        """The `updated` entry: server-set properties that changed as a side
        effect, or None when there are none (RFC 8620 §5.3)."""
        return None


# Type name -> registered DataType (filled by register_standard_methods).
DATATYPES: dict[str, DataType] = {}
