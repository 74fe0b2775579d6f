"""Hypothesis strategies for vCards: VCard objects with hostile (but writable)
names, parameters and values, and the text of such cards.

"Writable" means what vcard_serialize can write so that vcards_parse reads the
same fields back (RFC 6350 §3.3): names of letters, digits and '-' (property
and parameter names upper-cased, since the reader upper-cases them); parameter
values of any text but CR (RFC 6868 has no encoding for it); raw values of any
text but CR and LF (a raw value is the escaped form, where a newline is \\n).
Parameters the reader interprets (ENCODING=QUOTED-PRINTABLE, CHARSET, which it
decodes and drops) are left out, except ENCODING=b with a base64 value.
Everything else is fair game: quotes, colons, semicolons, commas, carets,
backslashes, control characters, astral characters, combining marks.
"""
from __future__ import annotations

import base64

from hypothesis import strategies as st

from jmapcore.contacts.jscontact.vcard_model import VCard, VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import value_escape

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
_MIXED = _UPPER + "abcdefghijklmnopqrstuvwxyz"
_RESERVED_PROPERTIES = frozenset({"BEGIN", "END"})
_INTERPRETED_PARAMS = frozenset({"ENCODING", "CHARSET"})

# Characters a hostile writer likes: the syntax's own delimiters and escapes,
# quoting and caret encoding, blanks that look like folds, and characters
# that take several UTF-8 octets (fold points must not split them).
_HOSTILE = ';:,="\\^\' \t.\x00\x07\x1b\x7f\x85\u00e9\u00a0\u200b\u2028\u0301\u4e2d\U0001f600\ufeff'

names = st.text(_UPPER, min_size=1, max_size=12)
property_names = names.filter(lambda name: name not in _RESERVED_PROPERTIES)
param_names = names.filter(lambda name: name not in _INTERPRETED_PARAMS)
groups = st.one_of(st.just(""), st.text(_MIXED, min_size=1, max_size=8))

_any_text = st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=30)
_hostile_text = st.text(st.sampled_from(_HOSTILE + "aZ09\n"), max_size=30)
texts = st.one_of(_any_text, _hostile_text)

param_values = texts
raw_values = st.one_of(
    texts.map(lambda text: text.replace("\n", "")),
    texts.map(value_escape),
    texts.map(lambda text: value_escape(text, structured=True)),
    st.text(st.sampled_from("\\nN;,:"), max_size=40),  # escape soup
    st.text(_MIXED, min_size=70, max_size=400),  # long enough to fold many times
)

params = st.builds(VCardParam, param_names, st.lists(param_values, min_size=1, max_size=4))


@st.composite
def properties(draw: st.DrawFn) -> VCardProperty:
    """One property made here (raw None), sometimes an ENCODING=b one."""
    if draw(st.integers(0, 9)) == 0:
        data = draw(st.binary(max_size=200))
        return VCardProperty("PHOTO", base64.b64encode(data).decode(),
                             params=[VCardParam("ENCODING", ["b"]), VCardParam("TYPE", ["JPEG"])], group=draw(groups))
    return VCardProperty(draw(property_names), draw(raw_values), params=draw(st.lists(params, max_size=5)),
                         group=draw(groups))


@st.composite
def vcards(draw: st.DrawFn, *, max_properties: int = 12) -> VCard:
    """A card that a reader must accept without a problem: VERSION and FN
    first, then any properties."""
    version = VCardProperty("VERSION", draw(st.sampled_from(["3.0", "4.0"])))
    name = VCardProperty("FN", draw(raw_values))
    return VCard(properties=[version, name, *draw(st.lists(properties(), max_size=max_properties))])


def without_raw(card: VCard) -> list[VCardProperty]:
    """The properties of `card` with `raw` cleared, for comparing fields only."""
    return [VCardProperty(prop.name, prop.value, params=prop.params, group=prop.group) for prop in card.properties]
