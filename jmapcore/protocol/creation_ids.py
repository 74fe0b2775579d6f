"""Creation-id references in Id-typed values (RFC 8620 §3.3, §5.3).

A client may use "#" + creation id wherever an Id is expected, to mean the id
the server assigned to a record it created earlier in the same request (or in
the createdIds it sent). These helpers turn such values into real ids using
the request-wide `created_ids` map (CallContext.created_ids). Pure: no Django.

Creates within the same /set call are not in `created_ids` yet: the /set
handler orders its creates and resolves those itself (RFC 8620 §5.3).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class UnknownCreationId(LookupError):
    """A "#" reference names no creation id known in this request."""

    def __init__(self, creation_id: str) -> None:
        super().__init__(creation_id)
        self.creation_id = creation_id


def is_creation_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("#")


def creation_id_resolve(value: str, *, created_ids: Mapping[str, str]) -> str | None:
    """`value` itself if it is a plain id; the real id for "#creationId"; None
    when the creation id is unknown (the caller decides: usually notFound or an
    invalidProperties SetError naming the property)."""
    if not value.startswith("#"):
        return value
    return created_ids.get(value[1:])


def creation_id_require(value: str, *, created_ids: Mapping[str, str]) -> str:
    """Like creation_id_resolve, but raises UnknownCreationId for an unknown reference."""
    resolved = creation_id_resolve(value, created_ids=created_ids)
    if resolved is None:
        raise UnknownCreationId(value[1:])
    return resolved


def creation_ids_resolve(values: Iterable[str], *, created_ids: Mapping[str, str]) -> list[str]:
    """Resolve a list of ids; raises UnknownCreationId on the first unknown reference."""
    return [creation_id_require(value, created_ids=created_ids) for value in values]


def creation_id_keys_resolve(mapping: Mapping[str, Any], *, created_ids: Mapping[str, str]) -> dict[str, Any]:
    """Resolve the keys of an id-keyed map (e.g. /set update, mailboxIds).

    Raises UnknownCreationId on the first unknown reference.
    """
    return {creation_id_require(key, created_ids=created_ids): value for key, value in mapping.items()}
