"""iCalendar text <-> IcalComponent: the syntax layer (RFC 5545 §3.1, §3.4-§3.6, RFC 6868).

Reading is tolerant and never raises: whatever cannot be read is recorded in
`IcalObject.problems` in plain words and the rest of the object is kept.
Writing produces RFC 5545 §3.1 text (CRLF, lines folded at 75 octets).

What the reader does with text that is not quite iCalendar:

- Unfolding (§3.1): CRLF or LF (or a lone CR when the text has no LF at all)
  followed by one space or tab joins the next line. A byte order mark at the
  start is skipped.
- Parameter values are unquoted and RFC 6868 decoded (^n newline, ^^ ^, ^'
  "). A quote that is never closed is reported and the header is read as if
  there were no quotes at all (so it ends at the first colon).
- A line that is not a property (no colon, or no valid name before it) is
  most often a line break its writer forgot to escape, or a fold without its
  blank: its text joins the property before as a new line ("\\n"), with a
  problem. With no property before it in the component, it is dropped.
- BEGIN/END (§3.4, §3.6): an END that closes a component further out closes
  the ones still open inside it; an END matching nothing is ignored; a BEGIN
  of a component that cannot contain itself (VEVENT in VEVENT, VALARM in
  VALARM, …) or a BEGIN:VCALENDAR inside another first closes the open one;
  components still open at the end of the text are closed there. Each case is
  a problem. Components nested deeper than DEPTH_MAX are dropped with their
  content (nothing in RFC 5545 nests deeper than three).
- Text outside any component is reported and ignored. The first top-level
  component is `root`; further ones are kept in `more`.

Every step is linear in the input: scans that only move forward (str.find and
one-character-class regular expressions, which cannot backtrack), strings
built with join. A property over 1 MiB is kept but recorded; problems are
capped so that a million junk lines cannot grow a million messages.

TEXT values (§3.3.11) escape exactly as vCard values do (backslash, comma,
semicolon, newline), so the value helpers of the vCard layer are reused.
"""
from __future__ import annotations

import re

from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalObject, IcalParam, IcalProperty
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import (
    line_fold,
    name_valid,
    property_line,
    value_escape,
    value_split,
    value_unescape,
)

__all__ = [
    "DEPTH_MAX",
    "PROBLEMS_MAX",
    "PROPERTY_LARGE_OCTETS",
    "ical_parse",
    "ical_property_line",
    "ical_serialize",
    "name_valid",
    "text_escape",
    "text_list",
    "text_list_join",
    "text_unescape",
    "value_split",
]

PROPERTY_LARGE_OCTETS = 1 << 20
PROBLEMS_MAX = 50
DEPTH_MAX = 16

# Components that RFC 5545 (and RFC 7953, RFC 9073) never nest in themselves:
# a BEGIN of one of these while the same one is open means its END is missing.
_SELF_CLOSING = frozenset({
    "VCALENDAR", "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE", "STANDARD", "DAYLIGHT", "VALARM",
    "VAVAILABILITY", "AVAILABLE", "VLOCATION", "VRESOURCE", "PARTICIPANT",
})

_NAME_END = re.compile(r"[;:]")
_PARAM_NAME_END = re.compile(r"[=;:]")
_VALUE_END = re.compile(r"[,;:]")


# --- value helpers (RFC 5545 §3.3.11) ----------------------------------------------------------------------

def text_unescape(raw: str) -> str:
    """The text of a TEXT value (RFC 5545 §3.3.11): \\n and \\N a newline, \\,
    \\; \\\\ the character itself; any other backslash is kept with what
    follows (writers that escape ':' must not lose characters)."""
    return value_unescape(raw)


def text_escape(text: str) -> str:
    """`text` escaped as a TEXT value (RFC 5545 §3.3.11): backslash, semicolon,
    comma and newline (CRLF, LF or CR all become \\n)."""
    return value_escape(text, structured=True)


def text_list(raw: str) -> list[str]:
    """A multi-valued TEXT property (CATEGORIES, RESOURCES; RFC 5545 §3.8.1.2):
    split on unescaped commas, each piece unescaped."""
    return [value_unescape(piece) for piece in value_split(raw, ",")]


def text_list_join(items: list[str]) -> str:
    """The inverse of text_list."""
    return ",".join(text_escape(item) for item in items)


def _snippet(text: str) -> str:
    return repr(text[:40] + "…") if len(text) > 40 else repr(text)


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


# --- one content line (RFC 5545 §3.1, §3.2) ----------------------------------------------------------------

class _Unclosed(Exception):
    """A quoted parameter value without its closing quote (internal)."""


def _params_read(line: str, pos: int, quotes: bool, problems: list[str], where: str,
                 prop_name: str) -> tuple[list[IcalParam], int] | None:
    """The parameters of `line` from `pos` (just after the ';' that ends the
    name) and the index of the colon that ends the header; None when no colon
    ends it. With `quotes`, a value starting with DQUOTE runs to the next
    DQUOTE (§3.1: ':', ';' and ',' are ordinary inside); raises _Unclosed when
    that quote is never closed."""
    params: list[IcalParam] = []
    end = len(line)
    while True:
        found = _PARAM_NAME_END.search(line, pos)
        if found is None:
            return None
        stop = found.start()
        name = line[pos:stop].strip().upper()
        if line[stop] != "=":
            # A parameter without '=' (vCard 2.1 style): not iCalendar; kept by name.
            problems.append(f"{where}: {prop_name} has a parameter without a value: {_snippet(name)}")
            params.append(IcalParam(name, []))
            if line[stop] == ":":
                return params, stop
            pos = stop + 1
            continue
        if not name_valid(name):
            problems.append(f"{where}: parameter name {_snippet(name)} of {prop_name} is not a valid name; kept")
        values: list[str] = []
        index = stop + 1
        while True:
            if quotes and index < end and line[index] == '"':
                close = line.find('"', index + 1)
                if close == -1:
                    raise _Unclosed
                text = line[index + 1:close]
                index = close + 1
                if index < end and line[index] not in ",;:":
                    # Text after the closing quote: keep it with the value.
                    after = _VALUE_END.search(line, index)
                    cut = after.start() if after is not None else end
                    problems.append(f"{where}: {prop_name} has text after a quoted parameter value; kept with it")
                    text += line[index:cut]
                    index = cut
            else:
                after = _VALUE_END.search(line, index)
                cut = after.start() if after is not None else end
                text = line[index:cut]
                index = cut
            values.append(_caret_decode(text))
            if index >= end:
                return None
            sep = line[index]
            index += 1
            if sep == ",":
                continue
            params.append(IcalParam(name, values))
            if sep == ":":
                return params, index - 1
            pos = index
            break


def _property_read(line: str, problems: list[str], where: str) -> IcalProperty | None:
    """The property of one unfolded line, or None when it is not one (no colon,
    or no valid name before it)."""
    found = _NAME_END.search(line)
    if found is None or ":" not in line:
        return None
    name = line[:found.start()].strip(" \t").upper()
    if not name_valid(name):
        if not name_valid(name.replace("_", "-")):
            return None
        problems.append(f"{where}: {_snippet(name)} is not a valid iCalendar name (RFC 5545 §3.1); kept")
    if line[found.start()] == ":":
        return IcalProperty(name=name, value=line[found.start() + 1:], raw=line)
    found_here: list[str] = []
    try:
        result = _params_read(line, found.start() + 1, True, found_here, where, name)
    except _Unclosed:
        found_here = [f"{where}: {name} has a quoted parameter value without its closing quote"]
        result = _params_read(line, found.start() + 1, False, found_here, where, name)
    if result is None:
        # Only quoted colons: the header never ends.
        found_here = [f"{where}: {name} has a colon only inside a quoted parameter value; read without quotes"]
        result = _params_read(line, found.start() + 1, False, found_here, where, name)
        if result is None:
            return None
    problems.extend(found_here)
    params, colon = result
    return IcalProperty(name=name, value=line[colon + 1:], params=params, raw=line)


# --- objects -----------------------------------------------------------------------------------------------

def _lines_split(text: str) -> tuple[list[str], int, int]:
    """Physical lines and how many ended in CRLF and in a bare LF."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\n" not in text and "\r" in text:
        return text.split("\r"), 0, 0
    lines = text.split("\n")
    crlf = 0
    for index, line in enumerate(lines):
        if line.endswith("\r"):
            lines[index] = line[:-1]
            crlf += 1
    return lines, crlf, len(lines) - 1 - crlf


def _logical_lines(lines: list[str]) -> list[tuple[int, str]]:
    """(line number from 1, unfolded line) for every logical line (§3.1)."""
    out: list[tuple[int, str]] = []
    pieces: list[str] = []
    start = 0
    for index, line in enumerate(lines):
        if pieces and line[:1] in (" ", "\t"):
            pieces.append(line[1:])
            continue
        if pieces:
            out.append((start + 1, pieces[0] if len(pieces) == 1 else "".join(pieces)))
        pieces = [line]
        start = index
    if pieces:
        out.append((start + 1, pieces[0] if len(pieces) == 1 else "".join(pieces)))
    return out


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.problem_count = 0
        self.roots: list[IcalComponent] = []
        self.stack: list[tuple[IcalComponent, int]] = []  # open components and the line they began on
        self.skipped = 0  # depth inside a component dropped for nesting too deep
        self.skipped_lines = 0
        # Lines that are not properties, for the last property (joined once:
        # appending to its value line by line would be quadratic).
        self.continued: list[str] = []
        self.continued_to: IcalProperty | None = None

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if self.problem_count <= PROBLEMS_MAX:
            self.problems.append(text)

    def run(self, text: str) -> IcalObject:
        lines, crlf, lf = _lines_split(text)
        for number, line in _logical_lines(lines):
            self._line(number, line)
        self._continuations_join()
        while self.stack:
            component, begun = self.stack.pop()
            self.problem(f"{component.name} begun at line {begun} has no END:{component.name}; closed at the end")
        if self.skipped_lines:
            self.problem(f"{self.skipped_lines} lines inside components nested deeper than {DEPTH_MAX} were dropped")
        if crlf and lf:
            self.problem(f"the text mixes CRLF ({crlf}) and LF ({lf}) line ends")
        root = self.roots[0] if self.roots else None
        if root is None:
            self.problem("no iCalendar object (BEGIN:VCALENDAR … END:VCALENDAR) found")
        elif root.name != "VCALENDAR":
            self.problem(f"the object is a {root.name}, not a VCALENDAR (RFC 5545 §3.4)")
        if len(self.roots) > 1:
            self.problem(f"{len(self.roots)} top-level components where one was expected; the first is the object")
        if self.problem_count > PROBLEMS_MAX:
            self.problems.append(f"… and {self.problem_count - PROBLEMS_MAX} more problems not listed")
        return IcalObject(root=root, problems=self.problems, more=self.roots[1:])

    def _line(self, number: int, line: str) -> None:
        if not line or line.isspace():
            return
        head = line[:6].upper()
        if head == "BEGIN:":
            self._begin(number, line[6:].strip().upper())
        elif head[:4] == "END:":
            self._end(number, line[4:].strip().upper())
        elif self.skipped:
            self.skipped_lines += 1
        elif not self.stack:
            self.problem(f"line {number}: text outside any component ignored: {_snippet(line)}")
        else:
            self._content(number, line)

    def _begin(self, number: int, name: str) -> None:
        if self.skipped:
            self.skipped += 1
            self.skipped_lines += 1
            return
        if not name_valid(name):
            self.problem(f"line {number}: BEGIN with an invalid component name {_snippet(name)} ignored")
            return
        self._continuations_join()
        if name in _SELF_CLOSING:
            open_names = [component.name for component, _ in self.stack]
            if name in open_names:
                at = len(open_names) - 1 - open_names[::-1].index(name)
                self._close_to(at, number, f"BEGIN:{name}")
                self.stack.pop()
        if len(self.stack) >= DEPTH_MAX:
            self.problem(f"line {number}: {name} is nested deeper than {DEPTH_MAX} components; dropped with its "
                         "content")
            self.skipped = 1
            self.skipped_lines += 1
            return
        component = IcalComponent(name)
        if self.stack:
            self.stack[-1][0].components.append(component)
        else:
            self.roots.append(component)
        self.stack.append((component, number))

    def _close_to(self, at: int, number: int, why: str) -> None:
        """Close every open component above index `at` of the stack (their END is missing)."""
        while len(self.stack) > at + 1:
            component, begun = self.stack.pop()
            self.problem(f"line {number}: {why} while {component.name} (begun at line {begun}) has no "
                         f"END:{component.name}; it ends here")
        component, begun = self.stack[at]
        if why.startswith("BEGIN"):
            self.problem(f"line {number}: {why} while {component.name} (begun at line {begun}) has no "
                         f"END:{component.name}; it ends here")

    def _end(self, number: int, name: str) -> None:
        if self.skipped:
            self.skipped -= 1
            self.skipped_lines += 1
            return
        self._continuations_join()
        open_names = [component.name for component, _ in self.stack]
        if name not in open_names:
            self.problem(f"line {number}: END:{name} without its BEGIN ignored")
            return
        at = len(open_names) - 1 - open_names[::-1].index(name)
        self._close_to(at, number, f"END:{name}")
        self.stack.pop()

    def _continuations_join(self) -> None:
        if self.continued and self.continued_to is not None:
            prop = self.continued_to
            prop.value = "\\n".join([prop.value, *self.continued])
            prop.raw = None
        self.continued = []

    def _content(self, number: int, line: str) -> None:
        component = self.stack[-1][0]
        where = f"line {number}"
        found: list[str] = []
        prop = _property_read(line, found, where)
        for text in found:
            self.problem(text)
        if prop is None:
            previous = component.properties[-1] if component.properties else None
            if previous is None:
                self.problem(f"{where}: not a property (no name and colon), dropped: {_snippet(line)}")
                return
            # Most often a line break the writer forgot to escape or a fold
            # without its leading blank: keep the text with the line before.
            self.problem(f"{where}: not a property (no name and colon); kept as a new line of the "
                         f"{previous.name} before it: {_snippet(line)}")
            if self.continued_to is not previous:
                self._continuations_join()
                self.continued_to = previous
            self.continued.append(line)
            return
        self._continuations_join()
        self.continued_to = None
        if prop.name in ("BEGIN", "END"):
            # "BEGIN;X=1:VEVENT" — a parameter on BEGIN/END is not iCalendar.
            self.problem(f"{where}: {prop.name} with parameters ignored: {_snippet(line)}")
            return
        size = len(prop.value)
        if size > PROPERTY_LARGE_OCTETS // 4:
            octets = len(prop.value.encode("utf-8", "surrogatepass"))
            if octets > PROPERTY_LARGE_OCTETS:
                self.problem(f"{where}: {prop.name} is {octets} octets (over 1 MiB); kept")
        component.properties.append(prop)


def ical_parse(text: str) -> IcalObject:
    """The iCalendar object of `text` (RFC 5545 §3.4). Never raises: what
    cannot be read is recorded in `problems` (see the module doc for what is
    done with each kind of damage). Linear in len(text)."""
    return _Reader().run(text)


# --- writing (RFC 5545 §3.1) -------------------------------------------------------------------------------

def _name_clean(name: str) -> str:
    if name_valid(name):
        return name
    cleaned = "".join(char if char.isascii() and (char.isalnum() or char == "-") else "-" for char in name)
    return cleaned or "X-INVALID"


def ical_property_line(prop: IcalProperty) -> str:
    """The unfolded content line of `prop` from its fields (ignoring `raw`):
    parameter values RFC 6868 encoded and quoted when they hold ',', ';' or
    ':'; a name that is not valid has its other characters replaced by '-',
    and a raw line break in the value is written as \\n, so that no content
    can start a line of its own (a JMAP client must not be able to inject
    properties or end the component)."""
    # The vCard layer writes the same grammar (RFC 5545 §3.1 = RFC 6350 §3.3 without groups).
    as_vcard = VCardProperty(prop.name, prop.value, params=[VCardParam(param.name, param.values)
                                                             for param in prop.params])
    return property_line(as_vcard)


def _raw_usable(raw: str) -> bool:
    return "\n" not in raw and "\r" not in raw


def _component_open(component: IcalComponent, out: list[str]) -> None:
    out.append("BEGIN:" + _name_clean(component.name))
    for prop in component.properties:
        if prop.name in ("BEGIN", "END"):
            continue
        raw = prop.raw
        if raw is not None and _raw_usable(raw):
            out.append(line_fold(raw))
        else:
            out.append(line_fold(ical_property_line(prop)))


def ical_serialize(obj: IcalComponent) -> str:
    """`obj` as iCalendar text: BEGIN, its properties in order, its
    components, END; CRLF line ends, lines folded at 75 octets without
    splitting a UTF-8 sequence (§3.1). A property with `raw` is written from
    it unchanged (only folded); the others from their fields. A property
    called BEGIN or END is not written: it would end or nest the component.
    Iterative, so however deep a component made by a caller nests, writing it
    cannot exhaust the stack."""
    out: list[str] = []
    _component_open(obj, out)
    stack = [(obj, iter(obj.components))]
    while stack:
        component, children = stack[-1]
        child = next(children, None)
        if child is None:
            out.append("END:" + _name_clean(component.name))
            stack.pop()
            continue
        _component_open(child, out)
        stack.append((child, iter(child.components)))
    out.append("")
    return "\r\n".join(out)
