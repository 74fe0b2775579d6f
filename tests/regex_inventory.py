"""Every regular expression of the project, with how it is used.

Two sources, merged (one entry per module and pattern):

- the compiled patterns (re.Pattern) found in the globals of every module of
  the project's packages (migrations excepted) and in the attributes of the
  classes they define, also one level deep in tuples, lists, sets and dicts;
- the calls `re.compile/match/fullmatch/search/sub/subn/findall/finditer/split`
  whose pattern argument is a literal, found in the modules' source (ast),
  which catches patterns compiled inside functions.

A pattern whose pattern argument is computed at run time (built from data) is
listed in `dynamic` so that a reviewer sees it; it cannot be checked statically.

`anchored` is "match" or "fullmatch" when every use of the pattern the source
shows starts matching at one given position (Pattern.match/fullmatch, or
re.match/re.fullmatch for an inline literal); "" when any use searches
(search, findall, finditer, sub, split) or when the pattern escapes the module
(passed along, imported elsewhere), which is then assumed to search.
"""
from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("jmapsite", "accounts", "jmapcore", "backends")
_RE_FUNCTIONS = {"compile": 1, "match": 2, "fullmatch": 2, "search": 2, "findall": 2, "finditer": 2, "split": 3,
                 "sub": 4, "subn": 4}  # fmt: skip
_ANCHORED_METHODS = {"match", "fullmatch"}
_PATTERN_METHODS = {"match", "fullmatch", "search", "findall", "finditer", "sub", "subn", "split", "scanner"}


@dataclass
class Found:
    module: str
    name: str  # global or Class.attribute, or "line N" for an inline literal
    pattern: str | bytes
    flags: int
    anchored: str = ""


@dataclass
class Inventory:
    found: list[Found] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)  # "module:line" of run-time patterns
    import_errors: list[str] = field(default_factory=list)


def project_modules() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        names.append(package)
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if ".migrations" in info.name:
                continue
            names.append(info.name)
    return sorted(names)


def _patterns_in(value: Any) -> list[re.Pattern[Any]]:
    if isinstance(value, re.Pattern):
        return [value]
    if isinstance(value, tuple | list | set | frozenset):
        return [item for item in value if isinstance(item, re.Pattern)]
    if isinstance(value, dict):
        return [item for item in value.values() if isinstance(item, re.Pattern)]
    return []


def _flags_value(node: ast.AST) -> int | None:
    """The value of a flags expression such as `re.I | re.DOTALL`; None if not constant."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re":
        value = getattr(re, node.attr, None)
        return int(value) if isinstance(value, int) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _flags_value(node.left), _flags_value(node.right)
        return None if left is None or right is None else left | right
    return None


class _Uses(ast.NodeVisitor):
    """Methods called on each global name, and names used bare (escaping)."""

    def __init__(self) -> None:
        self.methods: dict[str, set[str]] = {}
        self.bare: set[str] = set()
        self.assigned: set[str] = set()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name):
            self.methods.setdefault(node.value.id, set()).add(node.attr)
        else:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.assigned.add(node.id)
        else:
            self.bare.add(node.id)


def _anchoring(name: str, uses: _Uses, exported: set[str]) -> str:
    if "." in name or name in uses.bare or name in exported:
        return ""
    methods = uses.methods.get(name, set()) & _PATTERN_METHODS
    if methods and methods <= _ANCHORED_METHODS:
        return "fullmatch" if methods == {"fullmatch"} else "match"
    return ""


def _imported_names(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    """module -> names other project modules import from it."""
    result: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                result.setdefault(node.module, set()).update(alias.name for alias in node.names)
    return result


def inventory_collect() -> Inventory:
    inventory = Inventory()
    modules: dict[str, ModuleType] = {}
    for name in project_modules():
        try:
            modules[name] = importlib.import_module(name)
        except Exception as error:  # reported by the test: a module that cannot be imported is not checked
            inventory.import_errors.append(f"{name}: {error!r}")
    trees: dict[str, ast.Module] = {}
    for name, module in modules.items():
        path = getattr(module, "__file__", None)
        if path and path.endswith(".py"):
            trees[name] = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    exported = _imported_names(trees)
    seen: set[tuple[str, Any, int]] = set()

    def add(found: Found) -> None:
        key = (found.module, found.pattern, found.flags & ~re.UNICODE)
        if key in seen:
            return
        seen.add(key)
        inventory.found.append(found)

    for name, module in modules.items():
        uses = _Uses()
        tree = trees.get(name)
        if tree is not None:
            uses.visit(tree)
        for attribute, value in vars(module).items():
            owner = getattr(value, "__module__", None)
            if isinstance(value, type) and owner == name:
                for class_attribute, class_value in vars(value).items():
                    for pattern in _patterns_in(class_value):
                        add(Found(name, f"{value.__name__}.{class_attribute}", pattern.pattern, pattern.flags))
            for pattern in _patterns_in(value):
                # A pattern imported from elsewhere is listed under its own module.
                if tree is not None and attribute not in uses.assigned:
                    continue
                add(Found(name, attribute, pattern.pattern, pattern.flags,
                          _anchoring(attribute, uses, exported.get(name, set()))))  # fmt: skip
        if tree is None:
            continue
        # A module-level `NAME = re.compile(<built from constants>)` is already
        # listed through the module's globals: not a run-time pattern.
        collected_calls = {
            id(statement.value) for statement in tree.body
            if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)
            and any(isinstance(target, ast.Name) and isinstance(getattr(module, target.id, None), re.Pattern)
                    for target in statement.targets)
        }  # fmt: skip
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.func.attr in _RE_FUNCTIONS and node.args):  # fmt: skip
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str | bytes)):
                if id(node) not in collected_calls:
                    inventory.dynamic.append(f"{name}:{node.lineno}")
                continue
            flags: int | None = 0
            position = _RE_FUNCTIONS[node.func.attr]
            if len(node.args) > position:
                flags = _flags_value(node.args[position])
            for keyword in node.keywords:
                if keyword.arg == "flags":
                    flags = _flags_value(keyword.value)
            if flags is None:
                inventory.dynamic.append(f"{name}:{node.lineno} (flags)")
                continue
            anchored = node.func.attr if node.func.attr in _ANCHORED_METHODS else ""
            add(Found(name, f"line {node.lineno}", first.value, flags, anchored))
    return inventory
