"""The order of the creates of one /set (RFC 8620 §5.3): "#creationId"
references to creates of the same call decide it, not the order of the
request's object. Pure: no Django.

A create may refer to another create of the same call ("#x" as a Mailbox
parentId): the server must create "x" first, whatever order the client's JSON
object lists them in. Creates whose references go round in a cycle (or lean on
such a cycle) cannot be made at all; they are returned apart so the caller
answers each with a SetError instead of looping.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Property name -> the creation ids (without "#") it refers to.
ReferenceFinder = Callable[[Any], Mapping[str, Iterable[str]]]


@dataclass
class CreateOrder:
    """`order`: creation ids, each after every create it refers to.
    `blocked`: creation id -> the properties whose references cannot be met
    (a cycle, or a create that depends on one)."""

    order: list[str] = field(default_factory=list)
    blocked: dict[str, list[str]] = field(default_factory=dict)


def creates_order(
    create: Mapping[str, Any], *, references: ReferenceFinder, created_before: Mapping[str, str]
) -> CreateOrder:
    """Order `create` (creation id -> object) by its internal references.

    `references(obj)` names, per property, the creation ids an object refers
    to. Only ids that are keys of `create` and not already in `created_before`
    (creates of earlier calls) are dependencies. Creates with no pending
    dependency keep the request's order; the loop is quadratic at worst in
    the number of creates, which maxObjectsInSet bounds.
    """
    needs: dict[str, dict[str, set[str]]] = {}
    for creation_id, obj in create.items():
        per_property: dict[str, set[str]] = {}
        for prop, ids in references(obj).items():
            inner = {ref for ref in ids if ref in create and ref not in created_before}
            if inner:
                per_property[prop] = inner
        needs[creation_id] = per_property
    result = CreateOrder()
    done: set[str] = set()
    pending = list(create)
    while pending:
        ready = [cid for cid in pending if all(ref in done for refs in needs[cid].values() for ref in refs)]
        if not ready:
            break
        result.order.extend(ready)
        done.update(ready)
        pending = [cid for cid in pending if cid not in done]
    for cid in pending:
        result.blocked[cid] = sorted(
            prop for prop, refs in needs[cid].items() if any(ref not in done for ref in refs)
        )
    return result


def reference_ids(value: Any, kind: str | None) -> list[str]:
    """The creation ids (without "#") in an Id-valued property of `kind`
    ("id", "ids" or "idmap", jmapcore.datatypes.base.Property.reference)."""
    if kind == "id":
        items: list[Any] = [value]
    elif kind == "ids" and isinstance(value, list):
        items = value
    elif kind == "idmap" and isinstance(value, dict):
        items = list(value)
    else:
        return []
    return [item[1:] for item in items if isinstance(item, str) and item.startswith("#")]
