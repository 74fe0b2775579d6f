"""Tree ordering for Mailbox/query sortAsTree and filterAsTree (RFC 8621 §2.3)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence


def mailbox_tree_order(
    *,
    matching: Sequence[str],
    ordered_all: Sequence[str],
    parents: Mapping[str, str],
    sort_as_tree: bool,
    filter_as_tree: bool,
) -> list[str]:
    """The ids of `matching`, ordered and filtered as the flags say.

    `ordered_all` is every mailbox in the requested sort order (siblings keep
    that order); `parents` maps id -> parent id ('' at the top). With
    filter_as_tree a mailbox is kept only if all its ancestors match too.
    """
    wanted = set(matching)
    if filter_as_tree:
        def ancestors_match(mailbox_id: str) -> bool:
            seen: set[str] = set()
            parent = parents.get(mailbox_id, "")
            while parent and parent not in seen:
                if parent not in wanted:
                    return False
                seen.add(parent)
                parent = parents.get(parent, "")
            return True

        wanted = {mailbox_id for mailbox_id in wanted if ancestors_match(mailbox_id)}
    if not sort_as_tree:
        return [mailbox_id for mailbox_id in ordered_all if mailbox_id in wanted]
    children: dict[str, list[str]] = {}
    known = set(ordered_all)
    for mailbox_id in ordered_all:
        parent = parents.get(mailbox_id, "")
        # An orphan (its parent not listed) sorts as a top-level mailbox.
        children.setdefault(parent if parent in known else "", []).append(mailbox_id)
    result: list[str] = []
    stack = list(reversed(children.get("", [])))
    visited: set[str] = set()
    while stack:
        mailbox_id = stack.pop()
        if mailbox_id in visited:
            continue
        visited.add(mailbox_id)
        if mailbox_id in wanted:
            result.append(mailbox_id)
        stack.extend(reversed(children.get(mailbox_id, [])))
    return result
