"""The Note data type, served under a test capability.

Its "backend" is an in-process log (BACKEND_LOG) with deliberate refusals, so
tests can prove that the engine asks the backend first and leaves the cache,
the modseq and the state untouched when the backend says no:

- title "reject-me" (create or update): the backend refuses with SetError forbidden;
- title "crash-backend" (create or update): the backend fails with BackendError;
- destroying a note whose body is "reject-me" / "crash-backend": the same.
"""
from __future__ import annotations

import itertools
from typing import Any

from accounts.models import Account
from backends.base import BackendError
from jmapcore.datatypes.base import DataType, MethodCall, Property
from jmapcore.datatypes.orm import JmapObject
from jmapcore.datatypes.sql import filter_compare, filter_equals, filter_text, sort_field, sort_text
from jmapcore.datatypes.standard import register_standard_methods
from jmapcore.datatypes.values import InvalidValue, Validator, boolean, integer, jmap_id, string, unsigned_int
from jmapcore.protocol.errors import SetError, SetErrorException
from jmapcore.registry import capability
from tests.sampletypes.models import Note

NOTES_CAPABILITY = "urn:jmap-proxy:test:notes"
# (operation, jmap id or title) for every call that reached the "backend".
BACKEND_LOG: list[tuple[str, str]] = []
_refs = itertools.count(1)


def _labels() -> Validator:
    def check(value: Any) -> dict[str, bool]:
        if not isinstance(value, dict) or not all(isinstance(k, str) and v is True for k, v in value.items()):
            raise InvalidValue("must be a map of label names to true")
        return value

    return check


def _refuse(marker: str, what: str) -> None:
    if marker == "reject-me":
        raise SetErrorException(SetError("forbidden", f"the backend refuses to {what} this note"))
    if marker == "crash-backend":
        raise BackendError("connection reset by the note server", permanent=False, kind="notes")


class NoteType(DataType):
    name = "Note"
    capability = NOTES_CAPABILITY
    model = Note
    id_prefix = "n"
    properties = (
        Property("id", server_set=True),
        Property("title", validate=string(max_length=200, empty=False), required=True),
        Property("body", validate=string(), default=""),
        Property("pinned", validate=boolean(), default=False),
        Property("rank", validate=integer(minimum=-1000000, maximum=1000000), default=0),
        Property("labels", validate=_labels(), default={}),
        Property("parentId", validate=jmap_id(nullable=True), field="parent_id", default=None, reference="id"),
        Property("size", validate=unsigned_int(), server_set=True),
    )
    filters = {
        "text": filter_text("title", "body"),
        "title": filter_text("title"),
        "pinned": filter_equals("pinned", boolean()),
        "minRank": filter_compare("rank", "gte", integer()),
        "maxRank": filter_compare("rank", "lte", integer()),
        "hasLabel": filter_compare("labels", "has_key", string(max_length=100)),
    }
    sorts = {
        "title": sort_text("title"),
        "rank": sort_field("rank"),
        "pinned": sort_field("pinned"),
        "created": sort_field("created_modseq"),
    }
    query_immutable = frozenset({"created"})

    def property_value(self, row: JmapObject, prop: Property) -> Any:
        if prop.name == "size":
            assert isinstance(row, Note)
            return len(row.body.encode())
        return super().property_value(row, prop)

    def backend_create(self, call: MethodCall, values: dict[str, Any]) -> dict[str, Any]:
        _refuse(values["title"], "create")
        BACKEND_LOG.append(("create", values["title"]))
        return {"backend_ref": f"ref-{next(_refs)}"}

    def backend_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> dict[str, Any]:
        if "title" in changes:
            _refuse(changes["title"], "rename")
        BACKEND_LOG.append(("update", row.jmap_id))
        return {}

    def backend_destroy(self, call: MethodCall, row: JmapObject) -> None:
        assert isinstance(row, Note)
        _refuse(row.body, "destroy")
        BACKEND_LOG.append(("destroy", row.jmap_id))


def _notes_account_value(account: Account) -> dict[str, Any] | None:
    return {}


capability(NOTES_CAPABILITY, session_value=dict, account_value=_notes_account_value)
NOTE_TYPE = NoteType()
register_standard_methods(NOTE_TYPE)
