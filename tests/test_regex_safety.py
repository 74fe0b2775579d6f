"""Every regular expression of the project goes through the recheck ReDoS checker.

Issue 8: anyone who can send a mail must not be able to stall the proxy, and a
regex that backtracks exponentially (or polynomially) over message text, IMAP
responses or request arguments does exactly that. tests/regex_inventory.py
collects the patterns (module globals, class attributes, literal patterns of
`re.*` calls); tests/regex_recheck.py translates them into the JavaScript
syntax recheck reads and runs them through one `recheck agent` process.

A pattern fails the suite when recheck reports it vulnerable, or cannot decide
(timeout, unsupported construct). A pattern that every use applies at one
position (`.match`/`.fullmatch`) is checked anchored there, the way it runs;
any other pattern is checked as a search from every position, so a pattern
that is merely quadratic over an unterminated construct fails too. A pattern
built at run time from data cannot be checked; a module that builds one fails
the suite until it is reviewed and listed in DYNAMIC_REVIEWED with its reason.

`make test` installs recheck into .tools/ (git-ignored) and sets
JMAP_TEST_REQUIRE_SERVERS=1; then, as on CI (CI=true), a missing binary fails
the test (the convention of tests/servers/require.py). Elsewhere it is skipped
with the command that installs it.
"""
from __future__ import annotations

import os
import re

import pytest

from tests.regex_inventory import Found, inventory_collect
from tests.regex_recheck import RECHECK_BINARY, RECHECK_VERSION, RecheckAgent, Untranslatable, js_pattern
from tests.servers.require import server_missing

INSTALL_HINT = f"npm install --prefix .tools recheck-linux-x64@{RECHECK_VERSION} (make recheck)"


@pytest.fixture(scope="module")
def recheck() -> RecheckAgent:
    if not RECHECK_BINARY.is_file() or not os.access(RECHECK_BINARY, os.X_OK):
        server_missing(f"recheck binary missing at {RECHECK_BINARY}: {INSTALL_HINT}")
    return RecheckAgent()


# Patterns built at run time from data cannot be checked here; each module that
# builds one is reviewed by hand, with the reason it is safe.
DYNAMIC_REVIEWED = {
    "jmapcore.mime.structure": "the multipart delimiter: ^--<re.escape(boundary)>(--)?[ \\t]*\\r?$ under MULTILINE, "
    "a literal between line anchors (linear)",
}


def _where(found: Found) -> str:
    how = f" [{found.anchored}]" if found.anchored else ""
    return f"{found.module}:{found.name}{how} {found.pattern!r}"


def test_every_project_pattern_is_safe(recheck: RecheckAgent) -> None:
    inventory = inventory_collect()
    assert not inventory.import_errors, "modules that cannot be imported are not checked:\n" + "\n".join(
        inventory.import_errors
    )
    assert len(inventory.found) >= 30, "the inventory found suspiciously few patterns"
    unreviewed = [where for where in inventory.dynamic if where.split(":")[0] not in DYNAMIC_REVIEWED]
    assert not unreviewed, (
        "patterns built at run time (not checkable here; review them and add the module to DYNAMIC_REVIEWED, "
        "or build them from constants at module level): " + ", ".join(unreviewed)
    )
    translated: list[tuple[Found, tuple[str, str]]] = []
    problems: list[str] = []
    for found in inventory.found:
        try:
            translated.append((found, js_pattern(found.pattern, found.flags, anchored=found.anchored)))
        except Untranslatable as error:
            problems.append(f"{_where(found)}: cannot translate for recheck ({error})")
    verdicts = recheck.check([js for _, js in translated])
    for (found, _), verdict in zip(translated, verdicts, strict=True):
        if verdict.status == "vulnerable":
            problems.append(f"{_where(found)}: {verdict.complexity}, attack string {verdict.attack}")
        elif verdict.status != "safe":
            problems.append(f"{_where(found)}: recheck could not decide ({verdict.error})")
    assert not problems, "ReDoS-prone patterns:\n" + "\n".join(problems)


# The checker and the translation, on patterns whose answer is known.

def test_recheck_reports_exponential_backtracking(recheck: RecheckAgent) -> None:
    nested = re.compile(r"(?:[a-z.]+)+@")  # the shape of the old fast address parser
    (verdict,) = recheck.check([js_pattern(nested.pattern, nested.flags)])
    assert verdict.status == "vulnerable"
    assert verdict.complexity.startswith("exponential")
    assert verdict.attack


def test_quadratic_search_is_reported_and_anchoring_is_honoured(recheck: RecheckAgent) -> None:
    tag = re.compile(r"<[^>]*>")  # searched over "<<<<…": every start rescans to the end
    searched, matched = recheck.check([js_pattern(tag.pattern), js_pattern(tag.pattern, anchored="match")])
    assert (searched.status, searched.complexity) == ("vulnerable", "2nd degree polynomial")
    assert matched.status == "safe"


def test_atomic_groups_are_checked_not_trusted(recheck: RecheckAgent) -> None:
    """Possessive/atomic constructs keep their meaning (a JS look-ahead is
    atomic too): the safe unrolled quoted string stays safe anchored, and
    backtracking *inside* an atomic group is still found."""
    quoted = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"')
    inner = re.compile(r"(?>(?:[a-z]+)*c)")
    safe, vulnerable = recheck.check(
        [js_pattern(quoted.pattern, anchored="match"), js_pattern(inner.pattern, anchored="match")]
    )
    assert safe.status == "safe"
    assert vulnerable.status == "vulnerable"


def test_translation_of_python_syntax() -> None:
    source, flags = js_pattern(r"(?P<name>a)(?:b++)(?>c)(?P=name)\A\Z", re.IGNORECASE)
    assert flags == "ui"
    assert source == "(\\u{61})(?=((?:\\u{62})+))\\2(?=(\\u{63}))\\3\\1^$"
    source, flags = js_pattern(rb"[^\d\s]\w.", re.DOTALL)
    assert (source, flags) == ("[^\\d\\s][\\w][\\s\\S]", "u")
    source, flags = js_pattern(r"^x$", re.MULTILINE, anchored="fullmatch")
    assert (source, flags) == ("(?<![\\s\\S])(?:^\\u{78}$)(?![\\s\\S])", "um")
