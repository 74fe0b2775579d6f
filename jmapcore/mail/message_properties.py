"""Email properties that come from the message itself (RFC 8621 §4.1.3, §4.1.4,
§4.2): headers, header:Name:asForm[:all], the body part lists and bodyValues.
Shared by Email/get (stored messages) and Email/parse (any message blob)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jmapcore.mime.headers import header_property_parse
from jmapcore.mime.parse import ParsedMessage

MESSAGE_PROPERTIES = frozenset({"headers", "bodyStructure", "textBody", "htmlBody", "attachments", "bodyValues"})


def _without_leaf_sub_parts(node: dict[str, Any]) -> dict[str, Any]:
    children = node.get("subParts")
    if children is None:
        node.pop("subParts", None)
    else:
        node["subParts"] = [_without_leaf_sub_parts(child) for child in children]
    return node


def _tree(message: ParsedMessage, part_blob_id: Callable[[str], str], body_properties: list[str]) -> dict[str, Any]:
    """bodyStructure is "the full MIME structure of the message body" (RFC 8621
    §4.1.4): its multipart parts carry subParts whatever bodyProperties says, or
    a client could not walk the tree. Leaves carry subParts only when asked."""
    if "subParts" in body_properties:
        return message.body_structure(part_blob_id, body_properties)
    return _without_leaf_sub_parts(message.body_structure(part_blob_id, [*body_properties, "subParts"]))


def message_property_values(
    *,
    message: ParsedMessage,
    part_blob_id: Callable[[str], str],
    properties: Iterable[str],
    body_properties: list[str],
    fetch: Iterable[str],
    max_bytes: int,
) -> dict[str, Any]:
    """The values of the message-derived names among `properties`; others are skipped.

    `fetch` names which body values to include ("text", "html", "all", as the
    fetch*BodyValues arguments say); `max_bytes` is maxBodyValueBytes (0: all).
    """
    values: dict[str, Any] = {}
    wanted = list(properties)
    for name in wanted:
        if name == "headers":
            values[name] = message.headers
        elif name == "bodyStructure":
            values[name] = _tree(message, part_blob_id, body_properties)
        elif name == "textBody":
            values[name] = message.text_body(part_blob_id, body_properties)
        elif name == "htmlBody":
            values[name] = message.html_body(part_blob_id, body_properties)
        elif name == "attachments":
            values[name] = message.attachments(part_blob_id, body_properties)
        elif name.startswith("header:"):
            parsed = header_property_parse(name)
            if parsed is not None:
                field, form, every = parsed
                values[name] = message.header(field, form, every)
    if "bodyValues" in wanted:
        part_ids: list[str] = []
        for which in fetch:
            part_ids.extend(message.fetch_parts(which))
        values["bodyValues"] = message.body_values(dict.fromkeys(part_ids), max_bytes)
    return values
