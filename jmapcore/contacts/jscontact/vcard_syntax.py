"""vCard text <-> VCard: the syntax layer (RFC 6350 §3, RFC 2426, vCard 2.1, RFC 6868).

Reading is tolerant and never raises: whatever cannot be read is recorded in
`VCard.problems` in plain words and the rest of the card is kept. Writing
produces RFC 6350 §3.2 text (CRLF, lines folded at 75 octets).

What the reader does with each older form, so that converters see one shape:

- Unfolding (RFC 6350 §3.2, RFC 2426 §2.6): CRLF or LF (or a lone CR when the
  text has no LF at all) followed by one space or tab joins the next line.
- vCard 2.1 QUOTED-PRINTABLE (§2.1.3 of the 2.1 spec): soft line breaks are
  followed, the value is decoded with its CHARSET (default UTF-8, else
  Windows-1252) and stored with its newlines as "\\n" (a value holds no line
  break); nothing else is escaped, so it reads like any other 2.1 value
  (where a comma is literal). The ENCODING and CHARSET parameters are then
  dropped, since `value` no longer is in that encoding. `raw` keeps the
  original lines (soft breaks as CRLF).
- ENCODING=b / BASE64 values are kept as they are (a converter makes a data:
  URI); the 2.1 form whose base64 lines are not indented is joined.
- CHARSET on a value that was not quoted-printable says nothing any more (the
  text is already Unicode) and is dropped.
- A parameter without a name (2.1/3.0 "TEL;HOME:") is TYPE=HOME, except the
  2.1 encodings (QUOTED-PRINTABLE, BASE64, 8BIT, 7BIT → ENCODING) and value
  locations (INLINE, URL, CONTENT-ID, CID → VALUE).
- ENCODING=8BIT / 7BIT (2.1 transfer encodings of plain text) are dropped.
- Parameter values are unquoted and RFC 6868 decoded (^n newline, ^^ ^, ^' ").
- A line that is not a property (no colon, or no name before it) is most often
  a line break its writer forgot to escape, or a fold without its blank: its
  text joins the property before as a new line ("\\n"), with a problem. A
  name with '_' (X_FOO) is still read as a property, with a problem.
- A byte order mark at the start is skipped; text outside BEGIN:VCARD …
  END:VCARD is reported on the next card (or the last one).

Every step is linear in the input: plain scans with str.find that only move
forward, no regular expressions, strings built with join. A property over
1 MiB is kept but recorded; the problems of one card are capped so that a
card of a million junk lines cannot grow a million messages.
"""
from __future__ import annotations

import binascii
import codecs

from jmapcore.contacts.jscontact.vcard_model import VCard, VCardParam, VCardProperty

FOLD_OCTETS = 75
PROPERTY_LARGE_OCTETS = 1 << 20
PROBLEMS_MAX = 50

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
# Some writers put '_' in X- names; such a line is still a property (kept,
# with a problem), not text to join to the line before.
_NAME_CHARS_TOLERATED = _NAME_CHARS | {"_"}
_BASE64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t"
_BINARY_ENCODINGS = frozenset({"B", "BASE64"})
_TEXT_ENCODINGS = frozenset({"QUOTED-PRINTABLE", "8BIT", "7BIT"})
# vCard 2.1 §2.1: a parameter may be given by its value alone.
_NAMELESS_PARAM = {
    "QUOTED-PRINTABLE": "ENCODING", "BASE64": "ENCODING", "8BIT": "ENCODING", "7BIT": "ENCODING",
    "INLINE": "VALUE", "URL": "VALUE", "CONTENT-ID": "VALUE", "CID": "VALUE",
}
_KNOWN_VERSIONS = frozenset({"2.1", "3.0", "4.0"})


# --- value helpers (RFC 6350 §3.4) -------------------------------------------------------------------------

def value_unescape(raw: str) -> str:
    """The text of an escaped value (RFC 6350 §3.4): \\n and \\N are a newline,
    \\, \\; \\\\ the character itself; any other backslash is kept with what
    follows it (3.0 writers escape ':' or nothing at all, and that must not
    lose characters)."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    start = 0
    end = len(raw)
    while True:
        slash = raw.find("\\", start)
        if slash == -1 or slash == end - 1:
            out.append(raw[start:])
            return "".join(out)
        out.append(raw[start:slash])
        after = raw[slash + 1]
        if after in "nN":
            out.append("\n")
        elif after in ",;\\":
            out.append(after)
        else:
            out.append(raw[slash:slash + 2])
        start = slash + 2


def value_escape(text: str, *, structured: bool = False) -> str:
    """`text` escaped for a value (RFC 6350 §3.4): backslash, newline (CRLF, LF
    or CR all become \\n) and comma; semicolon too when `structured` (the
    components of N, ADR, ORG, GENDER)."""
    escaped = text.replace("\\", "\\\\")
    if "\r" in escaped:
        escaped = escaped.replace("\r\n", "\n").replace("\r", "\n")
    escaped = escaped.replace("\n", "\\n").replace(",", "\\,")
    if structured:
        escaped = escaped.replace(";", "\\;")
    return escaped


def value_split(raw: str, sep: str) -> list[str]:
    """`raw` split on every `sep` (one character) that is not escaped by a
    backslash; the pieces keep their escapes. Always at least one piece."""
    pieces: list[str] = []
    start = 0
    slash = raw.find("\\")
    found = raw.find(sep)
    # Both positions only move forward, so the scan is linear however many
    # backslashes or separators there are.
    while found != -1:
        if slash != -1 and slash < found:
            resume = slash + 2
            slash = raw.find("\\", resume)
            if found < resume:
                found = raw.find(sep, resume)
            continue
        pieces.append(raw[start:found])
        start = found + 1
        found = raw.find(sep, start)
    pieces.append(raw[start:])
    return pieces


def value_components(raw: str) -> list[list[str]]:
    """A structured value (N, ADR, ORG, GENDER; RFC 6350 §3.3): components split
    on ';', each a list split on ',', every piece unescaped."""
    return [[value_unescape(item) for item in value_split(component, ",")] for component in value_split(raw, ";")]


def value_components_join(components: list[list[str]]) -> str:
    """The inverse of value_components. An empty inner list is written as one
    empty string (reads back as [""])."""
    return ";".join(",".join(value_escape(item, structured=True) for item in component) for component in components)


def name_valid(name: str) -> bool:
    """Whether `name` is a valid property, parameter or group name (RFC 6350
    §3.3: 1*(ALPHA / DIGIT / "-"))."""
    # isalnum on an ASCII string is exactly ALPHA / DIGIT, and runs in C.
    rest = name.replace("-", "")
    return bool(name) and name.isascii() and (not rest or rest.isalnum())


def _name_tolerated(name: str) -> bool:
    return name_valid(name.replace("_", "-"))


# --- parameters (RFC 6350 §5, RFC 6868) --------------------------------------------------------------------

def _caret_decode(value: str) -> str:
    """RFC 6868 §3: ^n (or ^N) newline, ^^ caret, ^' double quote; any other
    caret is kept as it is."""
    if "^" not in value:
        return value
    out: list[str] = []
    start = 0
    end = len(value)
    while True:
        caret = value.find("^", start)
        if caret == -1 or caret == end - 1:
            out.append(value[start:])
            return "".join(out)
        out.append(value[start:caret])
        after = value[caret + 1]
        if after in "nN":
            out.append("\n")
        elif after == "^":
            out.append("^")
        elif after == "'":
            out.append('"')
        else:
            out.append(value[caret:caret + 2])
        start = caret + 2


def _caret_encode(value: str) -> str:
    """RFC 6868 §3 encoding; a CR (which it cannot express) becomes a newline."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("^", "^^").replace("\n", "^n").replace('"', "^'")


def _param_value_write(value: str) -> str:
    encoded = _caret_encode(value)
    if "," in encoded or ";" in encoded or ":" in encoded:
        return f'"{encoded}"'
    return encoded


def _param_make(name_text: str, values: list[str] | None, problems: list[str], where: str) -> VCardParam | None:
    """One parameter from its name text and raw values (None: a nameless one)."""
    if values is None:
        token = name_text.strip()
        if not token:
            return None
        return VCardParam(_NAMELESS_PARAM.get(token.upper(), "TYPE"), [token])
    name = name_text.strip().upper()
    if not name_valid(name):
        problems.append(f"{where}: parameter name {_snippet(name)} is not a valid name; kept as written")
    return VCardParam(name, [_caret_decode(value) for value in values])


def _params_read(text: str, problems: list[str], where: str) -> list[VCardParam]:
    """The parameters of `text`, everything after the first ';' of a header.

    A value is quoted when it starts with DQUOTE (right after '=' or ','); a
    DQUOTE elsewhere is an ordinary character (2.1 writers put them in
    unquoted values). Inside quotes ';', ':' and ',' are ordinary.
    """
    params: list[VCardParam] = []
    if '"' not in text:
        for segment in text.split(";"):
            name_text, equals, values_text = segment.partition("=")
            param = _param_make(name_text, values_text.split(",") if equals else None, problems, where)
            if param is not None:
                params.append(param)
        return params
    name_chars: list[str] = []
    current: list[str] = []
    values: list[str] = []
    named = False
    quoted = False
    for char in text:
        if quoted:
            if char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"' and named and not current:
            quoted = True
        elif char == ";":
            if named:
                values.append("".join(current))
            param = _param_make("".join(name_chars), values if named else None, problems, where)
            if param is not None:
                params.append(param)
            name_chars, current, values, named = [], [], [], False
        elif named:
            if char == ",":
                values.append("".join(current))
                current = []
            else:
                current.append(char)
        elif char == "=":
            named = True
        else:
            name_chars.append(char)
    # An open quote here is already reported by _header_end (same rule for where a quote opens).
    if named:
        values.append("".join(current))
    param = _param_make("".join(name_chars), values if named else None, problems, where)
    if param is not None:
        params.append(param)
    return params


# --- one content line (RFC 6350 §3.3) ----------------------------------------------------------------------

def _header_end(line: str) -> tuple[int, bool]:
    """The index of the colon that ends the header of `line` (-1: none) and
    whether a quoted parameter value was left open (then the first colon)."""
    first = line.find(":")
    if first == -1:
        return -1, False
    colon = first
    quote = line.find('"', 0, colon)
    while quote != -1:
        if quote == 0 or line[quote - 1] not in "=,":
            quote = line.find('"', quote + 1, colon)
            continue
        close = line.find('"', quote + 1)
        if close == -1:
            return first, True
        if close > colon:
            colon = line.find(":", close + 1)
            if colon == -1:
                return first, True
        quote = line.find('"', close + 1, colon)
    return colon, False


def _property_read(line: str, problems: list[str], where: str) -> VCardProperty | None:
    """The property of one unfolded line, or None when it is not one (no colon,
    or no valid name before it)."""
    colon, unclosed = _header_end(line)
    if colon == -1:
        return None
    header = line[:colon]
    name_part, semicolon, params_text = header.partition(";")
    group, _, name = name_part.strip(" \t").rpartition(".")
    if not _name_tolerated(name) or (group and not all(_name_tolerated(piece) for piece in group.split("."))):
        return None
    if not name_valid(name) or (group and not all(name_valid(piece) for piece in group.split("."))):
        problems.append(f"{where}: {_snippet(name_part)} is not a valid vCard name (RFC 6350 §3.3); kept")
    if unclosed:
        problems.append(f"{where}: {name.upper()} has a quoted parameter value without its closing quote")
    params = _params_read(params_text, problems, where) if semicolon else []
    return VCardProperty(name=name.upper(), value=line[colon + 1:], params=params, group=group, raw=line)


def _quoted_printable(line: str) -> bool:
    """Whether the property of `line` has ENCODING=QUOTED-PRINTABLE."""
    prop = _property_read(line, [], "")
    return prop is not None and any(value.upper() == "QUOTED-PRINTABLE" for value in prop.param("ENCODING"))


def _snippet(text: str) -> str:
    return repr(text[:40] + "…") if len(text) > 40 else repr(text)


# --- cards --------------------------------------------------------------------------------------------------

class _Card:
    """A card being read, with its problems counted beyond the cap."""

    def __init__(self, begin_line: int) -> None:
        self.card = VCard()
        self.begin_line = begin_line
        self.problem_count = 0
        self.crlf = 0
        self.lf = 0
        # Lines that are not properties, for the last property (joined once:
        # appending to its value line by line would be quadratic).
        self.continued: list[str] = []
        self.last_encoded = False  # whether the last property has an ENCODING (base64 stays untouched)

    def continuations_join(self) -> None:
        if self.continued:
            last = self.card.properties[-1]
            last.value = "\\n".join([last.value, *self.continued])
            last.raw = None
            self.continued = []

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if self.problem_count <= PROBLEMS_MAX:
            self.card.problems.append(text)

    def problems(self, texts: list[str]) -> None:
        for text in texts:
            self.problem(text)

    def finish(self) -> VCard:
        self.continuations_join()
        card = self.card
        if self.crlf and self.lf:
            self.problem(f"the card mixes CRLF ({self.crlf}) and LF ({self.lf}) line ends")
        version = card.version
        if not version:
            self.problem("no VERSION")
        elif version not in _KNOWN_VERSIONS:
            self.problem(f"unknown VERSION {_snippet(version)}")
        if version != "2.1" and not card.all("FN"):
            self.problem("no FN (a formatted name is required from vCard 3.0 on)")
        if self.problem_count > PROBLEMS_MAX:
            card.problems.append(f"… and {self.problem_count - PROBLEMS_MAX} more problems not listed")
        return card


def _lines_split(text: str) -> tuple[list[str], list[bool]]:
    """Physical lines and, for each, whether it ended in CRLF (not just LF).
    A byte order mark (Windows exports start with one) is not text."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\n" not in text and "\r" in text:
        lines = text.split("\r")
        return lines, [False] * len(lines)
    lines = text.split("\n")
    ends = [False] * len(lines)
    for index, line in enumerate(lines):
        if line.endswith("\r"):
            lines[index] = line[:-1]
            ends[index] = True
    return lines, ends


class _Reader:
    def __init__(self, text: str) -> None:
        self.lines, self.crlf = _lines_split(text)
        self.index = 0
        self.cards: list[VCard] = []
        self.current: _Card | None = None
        self.stray: list[str] = []  # problems outside any card, for the next (or last) card
        self.stray_count = 0

    def run(self) -> tuple[list[VCard], list[str]]:
        lines = self.lines
        while self.index < len(lines):
            start = self.index
            line = self._logical()
            if not line or line.isspace():
                continue
            keyword = line.strip().upper() if len(line) < 40 else ""
            if keyword == "BEGIN:VCARD":
                if self.current is not None:
                    self.current.problem(f"line {start + 1}: BEGIN:VCARD before the END:VCARD of the card begun at "
                                         f"line {self.current.begin_line + 1}; that card ends here")
                    self._close()
                self.current = _Card(start)
                self._count_end(start)
                self.current.problems(self.stray)
                self.stray = []
            elif keyword == "END:VCARD":
                if self.current is None:
                    self._stray(f"line {start + 1}: END:VCARD without BEGIN:VCARD")
                else:
                    self._close()
            elif self.current is None:
                self._stray(f"line {start + 1}: text outside any vCard ignored: {_snippet(line)}")
            else:
                self._content(line, start, self.current)
        if self.current is not None:
            self.current.problem(f"the card begun at line {self.current.begin_line + 1} has no END:VCARD")
            self._close()
        if self.stray and self.cards:
            self.cards[-1].problems.extend(self.stray)
            self.stray = []
        return self.cards, self.stray

    def _take(self) -> str:
        """The next physical line; advances past it, counting its line end."""
        line = self.lines[self.index]
        self._count_end(self.index)
        self.index += 1
        return line

    def _logical(self) -> str:
        """The next unfolded line (RFC 6350 §3.2); advances the index past it."""
        lines = self.lines
        first = self._take()
        if self.index >= len(lines) or lines[self.index][:1] not in (" ", "\t"):
            return first
        pieces = [first]
        colon_seen = ":" in first
        quoted_printable: bool | None = None  # decided once, when first needed
        while self.index < len(lines) and lines[self.index][:1] in (" ", "\t"):
            if colon_seen and pieces[-1].endswith("="):
                if quoted_printable is None:
                    quoted_printable = _quoted_printable("".join(pieces))
                if quoted_printable:
                    break  # a soft line break: the blank belongs to the value (see _quoted_printable)
            piece = self._take()[1:]
            colon_seen = colon_seen or ":" in piece
            pieces.append(piece)
        return "".join(pieces)

    def _count_end(self, index: int) -> None:
        # The last piece of the text has no line end of its own.
        if self.current is None or index == len(self.lines) - 1:
            return
        if self.crlf[index]:
            self.current.crlf += 1
        else:
            self.current.lf += 1

    def _stray(self, text: str) -> None:
        self.stray_count += 1
        if self.stray_count <= PROBLEMS_MAX:
            self.stray.append(text)
        elif self.stray_count == PROBLEMS_MAX + 1:
            self.stray.append("… more text outside any vCard not listed")

    def _close(self) -> None:
        assert self.current is not None
        self.cards.append(self.current.finish())
        self.current = None

    def _content(self, line: str, start: int, card: _Card) -> None:
        where = f"line {start + 1}"
        found: list[str] = []
        prop = _property_read(line, found, where)
        card.problems(found)
        properties = card.card.properties
        if prop is None:
            previous = properties[-1] if properties else None
            if previous is None or card.last_encoded:
                # Text joined to an encoded (base64) value would spoil it.
                card.problem(f"{where}: not a property (no name and colon), dropped: {_snippet(line)}")
                return
            # Most often a line break the writer forgot to escape or a fold
            # without its leading space: keep the text with the line before.
            card.problem(f"{where}: not a property (no name and colon); kept as a new line of the "
                         f"{previous.name} before it: {_snippet(line)}")
            card.continued.append(line)
            return
        card.continuations_join()
        if prop.params:
            self._encoding(prop, card, where)
        size = len(prop.value)
        if size > PROPERTY_LARGE_OCTETS // 4:
            octets = len(prop.value.encode("utf-8", "surrogatepass"))
            if octets > PROPERTY_LARGE_OCTETS:
                card.problem(f"{where}: {prop.name} is {octets} octets (over 1 MiB); kept")
        properties.append(prop)
        card.last_encoded = bool(prop.params) and bool(prop.param("ENCODING"))

    def _encoding(self, prop: VCardProperty, card: _Card, where: str) -> None:
        encodings = [value.upper() for value in prop.param("ENCODING")]
        encoding = encodings[0] if encodings else ""
        if encoding == "QUOTED-PRINTABLE":
            self._quoted_printable(prop, card, where)
        elif encoding in _BINARY_ENCODINGS:
            self._base64_lines(prop)
        elif encoding and encoding not in _TEXT_ENCODINGS:
            card.problem(f"{where}: {prop.name} has the unknown ENCODING={_snippet(encoding)}; value kept as written")
        if encoding in ("8BIT", "7BIT"):
            prop.params = [param for param in prop.params if param.name != "ENCODING"]
        if prop.param("CHARSET"):
            prop.params = [param for param in prop.params if param.name != "CHARSET"]

    def _base64_lines(self, prop: VCardProperty) -> None:
        """vCard 2.1 §2.1.3: base64 lines that are not indented, up to a blank line."""
        lines = self.lines
        extra: list[str] = []
        while self.index < len(lines):
            line = lines[self.index]
            if not line.strip() or line.strip(_BASE64_CHARS):
                break
            extra.append(self._take().strip())
        if extra:
            joined = "".join(extra)
            prop.value += joined
            if prop.raw is not None:
                prop.raw += joined

    def _quoted_printable(self, prop: VCardProperty, card: _Card, where: str) -> None:
        lines = self.lines
        segments = [prop.value]
        # A soft line break is '=' at the end of a line (RFC 2045 §6.7 rule 5);
        # a card end never belongs to the value, even after a stray '='.
        while segments[-1].rstrip(" \t").endswith("=") and self.index < len(lines):
            following = lines[self.index]
            if following.strip().upper() in ("END:VCARD", "BEGIN:VCARD"):
                break
            segments.append(self._take())
        if len(segments) > 1 and prop.raw is not None:
            prop.raw = prop.raw[: len(prop.raw) - len(prop.value)] + "\r\n".join(segments)
        encoded = "\r\n".join(segments)
        try:
            data = binascii.a2b_qp(encoded.encode("utf-8", "surrogatepass"))
        except (binascii.Error, ValueError):
            card.problem(f"{where}: {prop.name} is not valid quoted-printable; kept as written")
            return
        charsets = prop.param("CHARSET")
        text = self._decode(data, charsets[0] if charsets else "", card, where, prop.name)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
        prop.value = text
        prop.params = [param for param in prop.params if param.name not in ("ENCODING", "CHARSET")]

    @staticmethod
    def _decode(data: bytes, charset: str, card: _Card, where: str, name: str) -> str:
        if charset:
            try:
                codecs.lookup(charset)
            except LookupError:
                card.problem(f"{where}: {name} has the unknown CHARSET={_snippet(charset)}; ignored")
                charset = ""
        if charset:
            try:
                return data.decode(charset)
            except UnicodeDecodeError:
                card.problem(f"{where}: {name} is not valid {charset}; unreadable bytes replaced")
                return data.decode(charset, "replace")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            card.problem(f"{where}: {name} has no CHARSET and is not UTF-8; read as Windows-1252")
            return data.decode("cp1252", "replace")


def vcards_parse(text: str) -> list[VCard]:
    """Every BEGIN:VCARD … END:VCARD of `text`, in order. Never raises: what
    cannot be read is recorded in the card's `problems` (text outside any
    card goes to the next card, or the last one). Linear in len(text)."""
    cards, _ = _Reader(text).run()
    return cards


def vcard_parse(text: str) -> VCard:
    """The one vCard of `text` (a CardDAV resource holds exactly one, RFC 6352
    §5.1). None: an empty VCard whose problems say so; several: the first,
    with a problem naming how many were ignored."""
    cards, stray = _Reader(text).run()
    if not cards:
        return VCard(problems=[*stray, "no vCard (BEGIN:VCARD … END:VCARD) found"])
    card = cards[0]
    if len(cards) > 1:
        card.problems.append(f"{len(cards)} vCards where one was expected; only the first is read")
    return card


# --- writing (RFC 6350 §3.2) -------------------------------------------------------------------------------

def _name_write(name: str) -> str:
    if _name_tolerated(name):
        return name
    cleaned = "".join(char if char in _NAME_CHARS_TOLERATED else "-" for char in name)
    return cleaned or "X-INVALID"


def property_line(prop: VCardProperty) -> str:
    """The unfolded content line of `prop` from its fields (ignoring `raw`).

    A name that is not valid has its other characters replaced by '-', and a
    value holding a raw line break has it written as \\n, so that no content
    can ever start a line of its own (a JMAP client must not be able to
    inject properties or end the card)."""
    parts: list[str] = []
    if prop.group:
        parts += [_name_write(prop.group), "."]
    parts.append(_name_write(prop.name))
    for param in prop.params:
        parts += [";", _name_write(param.name), "=", ",".join(_param_value_write(value) for value in param.values)]
    value = prop.value
    if "\r" in value or "\n" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    parts += [":", value]
    return "".join(parts)


def line_fold(line: str) -> str:
    """`line` folded (RFC 6350 §3.2): no physical line over 75 octets, never
    inside a UTF-8 sequence, continuation lines starting with one space."""
    if len(line) <= FOLD_OCTETS and line.isascii():
        return line
    data = line.encode("utf-8", "surrogatepass")
    if len(data) <= FOLD_OCTETS:
        return line
    chunks: list[bytes] = []
    start = 0
    limit = FOLD_OCTETS
    while len(data) - start > limit:
        cut = start + limit
        while cut > start + 1 and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        chunks.append(data[start:cut])
        start = cut
        limit = FOLD_OCTETS - 1
    chunks.append(data[start:])
    return b"\r\n ".join(chunks).decode("utf-8", "surrogatepass")


def _raw_usable(raw: str) -> bool:
    # A raw line from vcards_parse has no line break except the CRLF of
    # quoted-printable soft breaks; anything else is not written as is.
    return "\n" not in raw or raw.count("\n") == raw.count("\r\n")


def vcard_serialize(card: VCard) -> str:
    """`card` as vCard text: BEGIN:VCARD, its properties in order, END:VCARD,
    CRLF line ends, lines folded at 75 octets. A property with `raw` is written
    from it unchanged (only folded; quoted-printable lines with their soft
    breaks are written as they were); the others from their fields. A property
    called BEGIN or END is not written: it would end or nest the card."""
    out = ["BEGIN:VCARD"]
    for prop in card.properties:
        if prop.name in ("BEGIN", "END"):
            continue
        raw = prop.raw
        if raw is not None and _raw_usable(raw):
            out.append(raw if "\r\n" in raw else line_fold(raw))
        else:
            out.append(line_fold(property_line(prop)))
    out.append("END:VCARD")
    out.append("")
    return "\r\n".join(out)
