"""Every test checks something: a static scan of the test suite's source.

A test passes vacuously when nothing in it can fail: no `assert`, no
`pytest.raises`, no helper that asserts; or an assertion that cannot be false
(`assert x or True`, `assert (x, "message")`); or assertions whose failure is
swallowed (`try: ... assert ... except AssertionError: pass`). The scan reads
every module under tests/ with `ast` and reports each such test, so that one
written later fails here instead of passing silently.

A test "checks" when its body (nested functions included) asserts, expects an
exception (`pytest.raises`/`warns`), fails explicitly (`pytest.fail`, `raise
AssertionError`), calls an `assert*` method (unittest, mock), or calls, names
or uses as a fixture a function of tests/ that checks, transitively. Helpers
are matched by name, which can only make the scan more lenient, never report
a test that does check.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

_Function = ast.FunctionDef | ast.AsyncFunctionDef
# Calls that are checks whatever they are called on: pytest.raises/warns/fail/deprecated_call.
_CHECK_CALLS = frozenset({"raises", "warns", "fail", "deprecated_call"})
# Handlers that would swallow a failed assertion.
_SWALLOWING = frozenset({"AssertionError", "Exception", "BaseException"})


def _call_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else ""


def _checks_directly(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Assert):
            return True
        if isinstance(inner, ast.Raise) and inner.exc is not None:
            raised = inner.exc.func if isinstance(inner.exc, ast.Call) else inner.exc
            if isinstance(raised, ast.Name) and raised.id == "AssertionError":
                return True
        if isinstance(inner, ast.Call):
            name = _call_name(inner)
            if name in _CHECK_CALLS or name.startswith("assert"):
                return True
    return False


def _used_names(function: _Function) -> set[str]:
    """Names the function calls, refers to (a callback) or takes as fixtures."""
    names = {argument.arg for argument in function.args.args + function.args.kwonlyargs}
    for inner in ast.walk(function):
        if isinstance(inner, ast.Call):
            names.add(_call_name(inner))
        elif isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
            names.add(inner.id)
    return names


def _is_truthy_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value)


def _always_true(test: ast.expr) -> bool:
    """An assert condition that cannot be false."""
    if _is_truthy_constant(test):
        return True
    if isinstance(test, ast.Tuple) and test.elts:  # assert (x, "message")
        return True
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return any(_always_true(value) for value in test.values)
    return False


def _handler_names(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return {"BaseException"}
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {kind.attr if isinstance(kind, ast.Attribute) else getattr(kind, "id", "") for kind in kinds}


def _asserts_in(statements: list[ast.stmt]) -> bool:
    return any(isinstance(node, ast.Assert) for statement in statements for node in ast.walk(statement))


def _does_nothing(statements: list[ast.stmt]) -> bool:
    return all(
        isinstance(statement, ast.Pass | ast.Continue)
        or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
        for statement in statements
    )


@dataclass
class Suite:
    """The functions of a set of modules, and what the scan found in them."""

    functions: dict[str, list[_Function]] = field(default_factory=dict)
    tests: list[tuple[str, _Function]] = field(default_factory=list)
    _memo: dict[int, bool] = field(default_factory=dict)

    def add(self, source: str, *, where: str, collects_tests: bool) -> None:
        tree = ast.parse(source, filename=where)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, []).append(node)
                if collects_tests and node.name.startswith("test"):
                    self.tests.append((f"{where}:{node.lineno} {node.name}", node))

    def checks(self, function: _Function, visiting: frozenset[int] = frozenset()) -> bool:
        key = id(function)
        if key in self._memo:
            return self._memo[key]
        if key in visiting:
            return False
        found = _checks_directly(function) or any(
            self.checks(helper, visiting | {key})
            for name in _used_names(function)
            for helper in self.functions.get(name, ())
            if helper is not function
        )
        self._memo[key] = found
        return found

    def problems(self) -> Iterator[str]:
        for where, test in self.tests:
            if not self.checks(test):
                yield f"{where}: checks nothing (no assert, pytest.raises or helper that asserts)"
            for inner in ast.walk(test):
                if isinstance(inner, ast.Assert) and _always_true(inner.test):
                    yield f"{where}: line {inner.lineno}: `assert {ast.unparse(inner.test)}` cannot fail"
                if isinstance(inner, ast.Try) and _asserts_in(inner.body):
                    for handler in inner.handlers:
                        if _handler_names(handler) & _SWALLOWING and _does_nothing(handler.body):
                            yield f"{where}: line {handler.lineno}: a failed assertion is swallowed by `except`"


def suite_of(modules: Iterable[tuple[str, str]]) -> Suite:
    """A Suite of (name, source) pairs; tests are collected from test_*.py only."""
    suite = Suite()
    for name, source in modules:
        suite.add(source, where=name, collects_tests=Path(name).name.startswith("test_"))
    return suite


def test_every_test_of_the_suite_checks_something() -> None:
    modules = [(str(path.relative_to(TESTS.parent)), path.read_text()) for path in sorted(TESTS.rglob("*.py"))]
    suite = suite_of(modules)
    assert len(suite.tests) > 500, "the scan found too few tests: is it reading tests/?"
    problems = list(suite.problems())
    assert not problems, "\n".join(problems)


# -- the scan itself -----------------------------------------------------------------
HELPERS = '''
def expect_ok(response):
    assert response == "ok"

def relay(response):
    expect_ok(response)

def only_logs(response):
    print(response)
'''


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("    value = 1 + 1\n", "checks nothing"),
        ("    only_logs('x')\n", "checks nothing"),
        ("    assert value or True\n", "cannot fail"),
        ("    assert (value, 'message')\n", "cannot fail"),
        ("    assert 1\n", "cannot fail"),
        ("    try:\n        assert value == 2\n    except AssertionError:\n        pass\n", "swallowed"),
        ("    try:\n        assert value == 2\n    except Exception:\n        pass\n", "swallowed"),
        ("    try:\n        assert value == 2\n    except:\n        pass\n", "swallowed"),
    ],
)
def test_the_scan_reports_vacuous_tests(body: str, found: str) -> None:
    suite = suite_of([("tests/helpers.py", HELPERS), ("tests/test_x.py", f"def test_x(value):\n{body}")])
    problems = list(suite.problems())
    assert len(problems) == 1 and found in problems[0], problems


@pytest.mark.parametrize(
    "body",
    [
        "    assert value == 2\n",
        "    with pytest.raises(ValueError):\n        int('x')\n",
        "    pytest.fail('unreachable')\n",
        "    raise AssertionError('no')\n",
        "    expect_ok(value)\n",  # a helper that asserts
        "    relay(value)\n",  # ... through another helper
        "    wait_for(lambda: value, check=expect_ok)\n",  # passed as a callback
        "    self.assertEqual(value, 2)\n",
        "    def inner():\n        assert value\n    inner()\n",
        "    try:\n        assert value == 2\n    except KeyError:\n        pass\n",
    ],
)
def test_the_scan_accepts_tests_that_check(body: str) -> None:
    suite = suite_of([("tests/helpers.py", HELPERS), ("tests/test_x.py", f"def test_x(value):\n{body}")])
    assert list(suite.problems()) == []
    assert len(suite.tests) == 1


def test_a_fixture_that_asserts_counts_for_the_tests_using_it() -> None:
    conftest = "import pytest\n@pytest.fixture\ndef checked_value():\n    yield 2\n    assert True is not False\n"
    suite = suite_of([("tests/conftest.py", conftest), ("tests/test_x.py", "def test_x(checked_value):\n    pass\n")])
    assert list(suite.problems()) == []
    alone = suite_of([("tests/test_x.py", "def test_x(checked_value):\n    pass\n")])
    assert [problem.split(": ", 1)[1] for problem in alone.problems()] == [
        "checks nothing (no assert, pytest.raises or helper that asserts)"
    ]
