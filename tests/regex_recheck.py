"""Python regular expressions checked for ReDoS by recheck (npm recheck-linux-x64 4.5.0).

recheck reads JavaScript regex syntax. `js_pattern` translates a Python pattern
from its parse tree (re._parser, the parser `re.compile` itself uses), so
whatever Python accepts is translated structurally, never by string rewriting:

- literals become `\\u{hex}` escapes (the `u` flag is always set), so bytes
  patterns are checked over code points 0-255 as if they were text;
- named groups become plain capturing groups and back-references are
  renumbered to the translated groups;
- `\\d`/`\\w` of a str pattern become Unicode classes (`\\p{Nd}`, letters and
  numbers); `\\D`/`\\W` become JS's ASCII complements, which are larger than
  Python's: a larger class can only add ambiguity, never hide it;
- `\\A`/`\\Z` become `^`/`$` (or look-arounds under MULTILINE); Python's `$`,
  which also matches before a final newline, becomes `$` (the same
  complexity); `(?(1)yes|no)` becomes `(?:yes|no)` (a superset);
- a scoped `(?i:...)` sets the `i` flag for the whole pattern (a superset);
- **atomic groups and possessive quantifiers** are translated to their exact
  JavaScript equivalent: `(?>X)` and `X*+` become `(?=(X))\\N` and
  `(?=(X*))\\N`. A JS look-ahead is atomic (it is never re-entered once it
  matched), so the translation keeps Python's semantics and its backtracking
  cost. They are *not* assumed safe: `(?>(a|a)*b)` still backtracks
  exponentially inside the group, and the translation lets recheck see that.
  Back-references move recheck from its automaton checker to its fuzzer,
  which is run with a fixed seed so that results are reproducible.

`RecheckAgent` drives one `recheck agent` process (JSON-RPC over stdin and
stdout, one JSON object per line): all patterns are sent at once and the
agent checks them concurrently, so the binary's start-up is paid once.
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

RECHECK_VERSION = "4.5.0"
RECHECK_BINARY = Path(__file__).resolve().parents[1] / ".tools/node_modules/recheck-linux-x64/recheck"
# Per-pattern limits: a minute (recheck's default is 10 s; the whole project takes about
# 3 s, the margin is for a loaded machine) and a fixed seed for its fuzzer.
RECHECK_PARAMS = {"timeout": 60_000, "randomSeed": 20261206}


class Untranslatable(ValueError):
    """A construct this translator does not know (a new opcode in a future Python)."""


def _escape(code: int) -> str:
    return f"\\u{{{code:x}}}"


@dataclass
class _Scope:
    dotall: bool
    multiline: bool
    unicode: bool


class _Translator:
    def __init__(self) -> None:
        self.groups = 0  # capturing groups emitted so far (JS numbering)
        self.group_map: dict[int, int] = {}  # Python group number -> JS group number
        self.ignorecase = False
        self.multiline_global = False

    def sequence(self, items: Any, scope: _Scope) -> str:
        return "".join(self.item(op, av, scope) for op, av in items)

    def quantifier(self, low: int, high: int) -> str:
        if high == sre.MAXREPEAT:
            return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
        if (low, high) == (0, 1):
            return "?"
        return f"{{{low}}}" if low == high else f"{{{low},{high}}}"

    def klass(self, items: Any, scope: _Scope) -> str:
        parts: list[str] = []
        negate = False
        for op, av in items:
            if op is sre.NEGATE:
                negate = True
            elif op is sre.LITERAL:
                parts.append(_escape(av))
            elif op is sre.RANGE:
                parts.append(f"{_escape(av[0])}-{_escape(av[1])}")
            elif op is sre.CATEGORY:
                parts.append(self.category(av, scope))
            else:
                raise Untranslatable(f"class item {op}")
        return "[" + ("^" if negate else "") + "".join(parts) + "]"

    def category(self, name: Any, scope: _Scope) -> str:
        if name is sre.CATEGORY_DIGIT:
            return "\\p{Nd}" if scope.unicode else "\\d"
        if name is sre.CATEGORY_WORD:
            return "\\p{L}\\p{N}\\p{M}_" if scope.unicode else "\\w"
        simple = {
            sre.CATEGORY_NOT_DIGIT: "\\D", sre.CATEGORY_SPACE: "\\s", sre.CATEGORY_NOT_SPACE: "\\S",
            sre.CATEGORY_NOT_WORD: "\\W", sre.CATEGORY_LINEBREAK: "\\n", sre.CATEGORY_NOT_LINEBREAK: "[^\\n]",
        }  # fmt: skip
        if name in simple:
            return simple[name]
        raise Untranslatable(f"category {name}")

    def item(self, op: Any, av: Any, scope: _Scope) -> str:
        if op is sre.LITERAL:
            return _escape(av)
        if op is sre.NOT_LITERAL:
            return f"[^{_escape(av)}]"
        if op is sre.ANY:
            return "[\\s\\S]" if scope.dotall else "."
        if op is sre.IN:
            return self.klass(av, scope)
        if op is sre.BRANCH:
            return "(?:" + "|".join(self.sequence(branch, scope) for branch in av[1]) + ")"
        if op is sre.SUBPATTERN:
            group, add_flags, del_flags, pattern = av
            inner = _Scope(
                dotall=(scope.dotall or bool(add_flags & re.DOTALL)) and not del_flags & re.DOTALL,
                multiline=(scope.multiline or bool(add_flags & re.MULTILINE)) and not del_flags & re.MULTILINE,
                unicode=scope.unicode and not add_flags & re.ASCII,
            )
            if add_flags & re.IGNORECASE:
                self.ignorecase = True
            if group is None:
                return "(?:" + self.sequence(pattern, inner) + ")"
            self.groups += 1
            self.group_map[group] = self.groups
            return "(" + self.sequence(pattern, inner) + ")"
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, pattern = av
            if op is sre.POSSESSIVE_REPEAT:
                self.groups += 1  # the look-ahead's group opens before the body's groups
                number = self.groups
                body = "(?:" + self.sequence(pattern, scope) + ")" + self.quantifier(low, high)
                return f"(?=({body}))\\{number}"
            body = "(?:" + self.sequence(pattern, scope) + ")" + self.quantifier(low, high)
            return body + ("?" if op is sre.MIN_REPEAT else "")
        if op is sre.ATOMIC_GROUP:
            self.groups += 1
            number = self.groups
            return f"(?=({self.sequence(av, scope)}))\\{number}"
        if op is sre.AT:
            return self.anchor(av, scope)
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            direction, pattern = av
            kind = ("=" if op is sre.ASSERT else "!") if direction == 1 else ("<=" if op is sre.ASSERT else "<!")
            return f"(?{kind}" + self.sequence(pattern, scope) + ")"
        if op is sre.GROUPREF:
            if av not in self.group_map:
                raise Untranslatable(f"back-reference to group {av} before it opens")
            return f"\\{self.group_map[av]}"
        if op is sre.GROUPREF_EXISTS:
            _group, yes, no = av
            return "(?:" + self.sequence(yes, scope) + "|" + (self.sequence(no, scope) if no else "") + ")"
        raise Untranslatable(f"opcode {op}")

    def anchor(self, at: Any, scope: _Scope) -> str:
        if at is sre.AT_BEGINNING_STRING:
            return "(?<![\\s\\S])" if self.multiline_global else "^"
        if at is sre.AT_END_STRING:
            return "(?![\\s\\S])" if self.multiline_global else "$"
        if at is sre.AT_BEGINNING:
            return "^" if scope.multiline == self.multiline_global else ("(?<![^\\n])" if scope.multiline else
                                                                          "(?<![\\s\\S])")
        if at is sre.AT_END:
            return "$" if scope.multiline == self.multiline_global else ("(?![^\\n])" if scope.multiline else
                                                                        "(?![\\s\\S])")
        if at is sre.AT_BOUNDARY:
            return "\\b"
        if at is sre.AT_NON_BOUNDARY:
            return "\\B"
        raise Untranslatable(f"anchor {at}")


def js_pattern(pattern: str | bytes, flags: int = 0, *, anchored: str = "") -> tuple[str, str]:
    """(source, flags) of the JavaScript regex equivalent of a Python pattern
    (see the module docstring for what is exact and what is a superset).

    `anchored` is how the pattern is applied: "" for a search (recheck tries
    every start position, as Pattern.search/findall/sub do), "match" for a
    match at one position, "fullmatch" for a match of the whole string.
    """
    is_bytes = isinstance(pattern, bytes)
    text = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
    parse_flags = flags & ~re.UNICODE & ~re.ASCII
    if is_bytes or flags & re.ASCII:
        parse_flags |= re.ASCII
    parsed = sre_parse.parse(text, parse_flags)
    global_flags = parsed.state.flags
    translator = _Translator()
    translator.ignorecase = bool(global_flags & re.IGNORECASE)
    translator.multiline_global = bool(global_flags & re.MULTILINE)
    scope = _Scope(
        dotall=bool(global_flags & re.DOTALL),
        multiline=translator.multiline_global,
        unicode=not is_bytes and not global_flags & re.ASCII,
    )
    source = translator.sequence(parsed.data, scope)
    if anchored:
        start, end = ("(?<![\\s\\S])", "(?![\\s\\S])") if translator.multiline_global else ("^", "$")
        source = start + "(?:" + source + ")" + (end if anchored == "fullmatch" else "")
    js_flags = "u" + ("i" if translator.ignorecase else "") + ("m" if translator.multiline_global else "")
    return source, js_flags


@dataclass(frozen=True)
class Verdict:
    """recheck's answer for one pattern."""

    status: str  # safe | vulnerable | unknown
    complexity: str  # "linear", "exponential", "2nd degree polynomial", ... ("" when unknown)
    attack: str  # a JS expression building the attack string ("" unless vulnerable)
    checker: str  # automaton | fuzz
    error: str  # why the status is unknown


class RecheckAgent:
    """One `recheck agent` process checking many patterns concurrently."""

    def __init__(self, binary: Path = RECHECK_BINARY) -> None:
        self.binary = binary

    def check(self, patterns: list[tuple[str, str]], *, timeout: float = 600.0) -> list[Verdict]:
        """Verdicts for (source, flags) JS patterns, in order."""
        if not patterns:
            return []
        requests = "".join(
            json.dumps({"jsonrpc": "2.0+push", "id": index, "method": "check",
                        "params": {"source": source, "flags": flags, "params": RECHECK_PARAMS}}) + "\n"
            for index, (source, flags) in enumerate(patterns)
        )  # fmt: skip
        process = subprocess.Popen(
            [str(self.binary), "agent"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert process.stdin is not None and process.stdout is not None
        results: dict[int, dict[str, Any]] = {}
        try:
            process.stdin.write(requests)
            process.stdin.flush()
            # Closing stdin cancels pending checks: keep it open until every answer is in.
            while len(results) < len(patterns):
                line = process.stdout.readline()
                if not line:
                    raise RuntimeError(f"recheck agent exited with {len(results)}/{len(patterns)} answers")
                message = json.loads(line)
                if "id" in message and ("result" in message or "error" in message):
                    results[int(message["id"])] = message.get("result") or {"status": "unknown",
                                                                            "error": message.get("error")}
        finally:
            process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return [_verdict(results[index]) for index in range(len(patterns))]


def _verdict(result: dict[str, Any]) -> Verdict:
    complexity = result.get("complexity") or {}
    attack = result.get("attack") or {}
    error = result.get("error")
    return Verdict(
        status=str(result.get("status", "unknown")),
        complexity=str(complexity.get("summary", "")),
        attack=str(attack.get("pattern", "")),
        checker=str(result.get("checker") or ""),
        error=json.dumps(error) if error else "",
    )
