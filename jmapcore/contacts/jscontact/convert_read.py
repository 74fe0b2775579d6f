"""vCard → JSContact (RFC 9555): one pass over the properties, each handed to
the reader of its name; what no reader takes is kept in vCardProps.

Linear in the size of the card. Never raises: a property whose reader fails is
kept as it is and the failure is reported in the problems.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jmapcore.contacts.jscontact import (
    addresses,
    communication,
    dates,
    media,
    names,
    organizations,
    personal,
    preservation,
    relations,
    resources,
)
from jmapcore.contacts.jscontact.preservation import keep_property
from jmapcore.contacts.jscontact.read_context import ReadContext, Reader
from jmapcore.contacts.jscontact.vcard_model import VCard
from jmapcore.contacts.jscontact.vcard_syntax import vcard_parse

READERS: dict[str, Reader] = {
    **names.READERS, **communication.READERS, **addresses.READERS, **organizations.READERS, **dates.READERS,
    **media.READERS, **relations.READERS, **personal.READERS, **resources.READERS, **preservation.READERS,
}
FINISHERS = [names.read_finish, relations.read_finish, personal.read_finish]


@dataclass
class ReadResult:
    """A conversion with what minimal-change writing needs: the parsed vCard and
    which slot each of its properties belongs to."""

    card: dict[str, Any]
    problems: list[str]
    version: str
    vcard: VCard
    context: ReadContext


def vcard_version(vcard: VCard) -> str:
    """"4.0" for a 4.0 card, else "3.0" (2.1 and cards without VERSION are read as 3.0)."""
    return "4.0" if vcard.version == "4.0" else "3.0"


def vcard_convert(vcard: VCard) -> ReadResult:
    """Convert a parsed vCard (RFC 9555)."""
    ctx = ReadContext(version=vcard_version(vcard), properties=vcard.properties)
    seen = ctx.kept
    for index, prop in enumerate(vcard.properties):
        if prop.name == "VERSION":
            ctx.claim(("version",), index)
            continue
        if prop.name == "X-ABLABEL" or index in ctx.slot_of:
            continue    # a group label goes with the property it labels, or is kept below
        reader = READERS.get(prop.name)
        taken = False
        if reader is not None:
            try:
                taken = reader(ctx, index, prop)
            except Exception as exc:   # a reader bug must not lose the card: keep the property as it is
                ctx.problem(f"{prop.name} could not be converted ({type(exc).__name__}); kept as it is")
                taken = False
        if not taken:
            keep_property(ctx, index, prop, seen)
    for index, prop in enumerate(vcard.properties):
        if prop.name == "X-ABLABEL" and index not in ctx.slot_of:
            keep_property(ctx, index, prop, seen)
    for finish in FINISHERS:
        finish(ctx)
    preservation.jsprops_apply(ctx)
    card: dict[str, Any] = {"@type": "Card", "version": "1.0"}
    for key in ("uid", "kind"):
        if key in ctx.card:
            card[key] = ctx.card.pop(key)
    card.update(ctx.card)
    return ReadResult(card=card, problems=[*vcard.problems, *ctx.problems], version=ctx.version, vcard=vcard,
                      context=ctx)


def vcard_text_convert(text: str) -> ReadResult:
    return vcard_convert(vcard_parse(text))
