"""Hypothesis strategies for the conversion tests: JSContact cards in the form
card_read gives (so that JSContact → vCard → JSContact can be compared exactly),
and vCards made of the properties the converter knows, with awkward values."""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from jmapcore.contacts.jscontact.names import N_KINDS, READ_ORDER
from jmapcore.contacts.jscontact.vcard_model import VCard, VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import value_components_join, value_escape

# Text with the characters vCard escapes or splits on, non-ASCII and astral ones; no control
# characters, no blanks at the ends (the reader strips addresses and numbers).
_AWKWARD = ",;:\\\"'^=. éß中😀"
text = st.text(st.one_of(st.sampled_from(_AWKWARD), st.characters(min_codepoint=0x21, max_codepoint=0x2FF,
                                                                  blacklist_categories=("Cc", "Cs"))),
               min_size=1, max_size=16).map(str.strip).filter(bool)
note_text = st.lists(text, min_size=1, max_size=3).map("\n".join)
uri = st.from_regex(r"\A(https://[a-z0-9]{1,8}\.example/[a-z0-9/._-]{0,12}|xmpp:[a-z0-9]{1,8}@x\.example)\Z")
ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,10}\Z")
contexts = st.sets(st.sampled_from(["work", "private"]), min_size=1).map(lambda found: dict.fromkeys(found, True))


def _pref(version: str) -> st.SearchStrategy[int]:
    # 3.0 has only TYPE=pref (1); another pref goes to a JSPROP
    return st.integers(1, 100)


# A vendor's own member (RFC 9553 §1.3.4), which only a JSPROP can carry.
vendor_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | text,
                             lambda inner: st.lists(inner, max_size=2) | st.dictionaries(text, inner, max_size=2),
                             max_leaves=4).filter(lambda value: value is not None)


def _entries(entry: st.SearchStrategy[dict[str, Any]], prefix: str) -> st.SearchStrategy[dict[str, Any]]:
    """A map of 1-3 entries, with generated ("e1"-style) or client-chosen ids."""
    def build(items: list[tuple[str | None, dict[str, Any]]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for position, (chosen, value) in enumerate(items, start=1):
            result.setdefault(chosen or f"{prefix}{position}", value)
        return result
    return st.lists(st.tuples(st.one_of(st.none(), ids), entry), min_size=1, max_size=3).map(build)


def _optional(draw: st.DrawFn, target: dict[str, Any], key: str, strategy: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        target[key] = draw(strategy)


@st.composite
def _contact(draw: st.DrawFn, main: str, main_value: st.SearchStrategy[str], version: str,
             features: bool = False, label: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {main: draw(main_value)}
    _optional(draw, entry, "contexts", contexts)
    _optional(draw, entry, "pref", _pref(version))
    if features:
        _optional(draw, entry, "features", st.sets(st.sampled_from(
            ["voice", "fax", "mobile", "video", "pager", "textphone", "text", "main-number"]), min_size=1)
            .map(lambda found: dict.fromkeys(found, True)))
    if label:
        _optional(draw, entry, "label", text)
    if draw(st.integers(0, 4)) == 0:
        entry["example.com:extra"] = draw(vendor_values)
    return entry


@st.composite
def _name(draw: st.DrawFn) -> dict[str, Any]:
    kinds = draw(st.lists(st.sampled_from(N_KINDS), max_size=5))
    components = [{"kind": kind, "value": draw(text)} for kind in sorted(kinds, key=READ_ORDER.index)]
    name: dict[str, Any] = {"full": draw(text)}
    if components:
        name["components"] = components
    return name


@st.composite
def _partial_date(draw: st.DrawFn, version: str) -> dict[str, Any]:
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    date: dict[str, Any] = {"@type": "PartialDate", "month": month, "day": day}
    if version == "4.0" or draw(st.booleans()):
        _optional(draw, date, "year", st.integers(1601, 2100))
    return date


@st.composite
def cards(draw: st.DrawFn, version: str) -> dict[str, Any]:
    """A card as card_read would give it back from what card_write writes in `version`."""
    card: dict[str, Any] = {"@type": "Card", "version": "1.0", "uid": draw(text), "name": draw(_name())}
    _optional(draw, card, "example.com:card", vendor_values)
    if draw(st.booleans()):
        card["kind"] = "group"
        _optional(draw, card, "members", st.lists(text.filter(lambda t: ":" not in t), min_size=1, max_size=3)
                  .map(lambda found: dict.fromkeys(found, True)))
    _optional(draw, card, "emails", _entries(_contact("address", text, version), "e"))
    _optional(draw, card, "phones", _entries(_contact("number", text, version, features=True), "p"))
    _optional(draw, card, "links", _entries(_contact("uri", uri, version), "l"))
    _optional(draw, card, "nicknames", _entries(st.builds(lambda n: {"name": n}, text), "k"))
    _optional(draw, card, "titles", _entries(st.builds(lambda n, k: {"name": n, "kind": k}, text,
                                                       st.sampled_from(["title", "role"])), "t"))
    _optional(draw, card, "organizations", _entries(st.builds(
        lambda n, units: {"name": n, **({"units": [{"name": u} for u in units]} if units else {})},
        text, st.lists(text, max_size=2)), "o"))
    _optional(draw, card, "addresses", _entries(st.builds(
        lambda parts, ctx: {"components": [{"kind": k, "value": v} for k, v in parts], **ctx},
        st.lists(st.tuples(st.sampled_from(["postOfficeBox", "apartment", "name", "locality", "region",
                                            "postcode", "country"]), text), min_size=1, max_size=4)
        .map(lambda parts: sorted(parts, key=lambda p: ["postOfficeBox", "apartment", "name", "locality",
                                                         "region", "postcode", "country"].index(p[0]))),
        st.one_of(st.just({}), contexts.map(lambda c: {"contexts": c}))), "a"))
    _optional(draw, card, "anniversaries", st.builds(
        lambda date: {"d1": {"kind": "birth", "date": date}}, _partial_date(version)))
    _optional(draw, card, "notes", _entries(st.builds(lambda n: {"note": n}, note_text), "n"))
    _optional(draw, card, "keywords", st.lists(text, min_size=1, max_size=3).map(lambda w: dict.fromkeys(w, True)))
    _optional(draw, card, "onlineServices", _entries(st.builds(
        lambda u, s: {"uri": u, "vCardName": "impp", **({"service": s} if s else {})},
        uri, st.one_of(st.none(), st.from_regex(r"\A[A-Za-z]{1,8}\Z"))), "s"))
    _optional(draw, card, "media", _entries(st.builds(lambda k, u: {"kind": k, "uri": u},
                                                      st.sampled_from(["photo", "logo", "sound"]), uri), "m"))
    _optional(draw, card, "updated", st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
              .filter(lambda s: len(s) == 20))
    _optional(draw, card, "vCardProps", st.lists(st.builds(
        lambda name, value: [name, {}, "unknown", value],
        st.from_regex(r"\Ax-[a-z]{1,8}\Z"), text.map(value_escape)), min_size=1, max_size=2))
    return card


# -- vCards made of known properties --------------------------------------------------------------------

_TYPES = st.lists(st.sampled_from(["work", "home", "pref", "cell", "voice", "fax", "internet", "x-other"]),
                  max_size=3, unique=True)


@st.composite
def known_properties(draw: st.DrawFn, version: str) -> VCardProperty:
    name = draw(st.sampled_from(["EMAIL", "TEL", "ADR", "N", "NICKNAME", "ORG", "TITLE", "ROLE", "NOTE",
                                 "CATEGORIES", "URL", "IMPP", "BDAY", "ANNIVERSARY", "GEO", "TZ", "MEMBER",
                                 "RELATED", "LANG", "PHOTO", "KEY", "X-ABLabel", "X-ABRELATEDNAMES",
                                 "X-ABDATE", "X-PHONETIC-FIRST-NAME", "X-ADDRESSBOOKSERVER-MEMBER", "GENDER",
                                 "REV", "UID", "KIND", "X-CUSTOM"]))
    params: list[VCardParam] = []
    types = draw(_TYPES)
    if types and name not in ("N", "UID", "KIND", "REV"):
        params.append(VCardParam("TYPE", types))
    if version == "4.0" and draw(st.booleans()) and name in ("EMAIL", "TEL", "ADR", "URL", "LANG"):
        params.append(VCardParam("PREF", [str(draw(st.integers(1, 100)))]))
    if draw(st.integers(0, 4)) == 0:
        params.append(VCardParam("X-KEEP", [draw(st.from_regex(r"\A[a-z0-9]{1,6}\Z"))]))
    if draw(st.integers(0, 4)) == 0 and name not in ("N", "UID", "KIND", "REV"):
        params.append(VCardParam("PROP-ID", [draw(ids)]))
    group = draw(st.one_of(st.just(""), st.sampled_from(["item1", "item2", "item3"])))
    if name in ("BDAY", "ANNIVERSARY", "X-ABDATE", "REV"):
        value = draw(st.sampled_from(["19850412", "1985-04-12", "--0412", "--04-12", "2010-06-01T10:00:00Z",
                                      "1604-04-12", "not a date", "1985-02-30"]))
    elif name in ("N", "ADR", "ORG", "GENDER"):
        value = value_components_join([[draw(text)] if draw(st.booleans()) else [""]
                                       for _ in range(draw(st.integers(1, 7)))])
    elif name in ("URL", "IMPP", "PHOTO", "KEY", "MEMBER", "RELATED"):
        value = draw(uri)
    elif name == "GEO":
        value = draw(st.sampled_from(["geo:37.38,-122.08", "37.38;-122.08", "nowhere"]))
    elif name == "KIND":
        value = draw(st.sampled_from(["group", "individual", "org", "robot"]))
    elif name == "X-ABLabel":
        value = draw(st.sampled_from(["_$!<Anniversary>!$_", "_$!<Spouse>!$_", "_$!<Other>!$_", "custom"]))
    else:
        value = value_escape(draw(text))
    return VCardProperty(name=name, value=value, params=params, group=group)


@st.composite
def known_vcards(draw: st.DrawFn, version: str) -> VCard:
    props = [VCardProperty("VERSION", version), VCardProperty("FN", value_escape(draw(text)))]
    props += draw(st.lists(known_properties(version), max_size=10))
    return VCard(properties=props)
