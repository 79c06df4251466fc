"""One write path: no module outside ``holmtray/core/history/`` opens the database for writing.

Every write to the history goes through the history package (the group-commit writer, and
for one-shot command-line tools the package's :class:`Store`). Elsewhere a module may open a
:class:`Store` only with ``readonly=True``, never talks to ``sqlite3`` itself and never uses the
history's low-level openers. The source is read, not run: a new module that breaks the rule
fails here whether or not a test exercises it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import holmtray

PACKAGE = Path(holmtray.__file__).parent
HISTORY = PACKAGE / "core" / "history"

ALLOWED: dict[tuple[str, str], str] = {
    # (module path under the repository, enclosing function): why it may open writable.
    ("holmtray/cli.py", "cmd_events"): (
        "`holmtray events` lists events in a process of its own; a writable open lets it "
        "create or migrate the file as the app would (it writes no events)"
    ),
}
"""Writable :meth:`Store.open` calls outside the history package that are known and fine."""

_LOW_LEVEL = {"connect", "open_file"}  # holmtray.core.history.database's openers


def writable_opens(source: str, module: str) -> list[str]:
    """Where ``source`` (the module at ``module``) opens the database other than read-only."""
    tree = ast.parse(source)
    found: list[str] = []
    parents: dict[ast.AST, ast.AST] = {
        child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
    }

    def function_of(node: ast.AST) -> str:
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node.name
        return "<module>"

    for node in ast.walk(tree):
        where = f"{module}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import) and any(a.name == "sqlite3" for a in node.names):
            found.append(f"{where}: imports sqlite3")
        elif isinstance(node, ast.ImportFrom):
            if node.module == "sqlite3":
                found.append(f"{where}: imports from sqlite3")
            elif node.module == "holmtray.core.history.database" and any(
                a.name in _LOW_LEVEL for a in node.names
            ):
                found.append(f"{where}: imports the history's low-level opener")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "Store":
                found.append(f"{where}: makes a Store around its own connection")
            elif (
                isinstance(func, ast.Attribute)
                and func.attr == "open"
                and isinstance(func.value, ast.Name)
                and func.value.id == "Store"
            ):
                readonly = any(
                    k.arg == "readonly"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is True
                    for k in node.keywords
                )
                if not readonly and (module, function_of(node)) not in ALLOWED:
                    found.append(f"{where}: Store.open without readonly=True")
    return found


def test_no_module_outside_the_history_package_opens_the_database_for_writing() -> None:
    modules = [p for p in PACKAGE.rglob("*.py") if HISTORY not in p.parents]
    assert len(modules) > 20  # the walk found the package
    found: list[str] = []
    for path in modules:
        module = path.relative_to(PACKAGE.parent).as_posix()
        found += writable_opens(path.read_text(encoding="utf-8"), module)
    assert found == []


def test_the_allowed_opens_are_still_there() -> None:
    """An allow-list entry whose call went away is removed, not left to cover a new one."""
    for module, function in ALLOWED:
        source = (PACKAGE.parent / module).read_text(encoding="utf-8")
        tree = ast.parse(source)
        [fn] = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function
        ]
        assert "Store.open(" in ast.unparse(fn), (module, function)


def test_the_check_finds_each_way_of_opening_for_writing() -> None:
    bad = """
import sqlite3
from sqlite3 import connect
from holmtray.core.history.database import open_file, StoreError
def f(p):
    Store.open(p)
    Store.open(p, readonly=False)
    Store(conn, p, readonly=False, recovered_from=None)
    sqlite3.connect(p)
"""
    found = writable_opens(bad, "holmtray/x.py")
    assert [f.split(": ", 1)[1] for f in found] == [
        "imports sqlite3",
        "imports from sqlite3",
        "imports the history's low-level opener",
        "Store.open without readonly=True",
        "Store.open without readonly=True",
        "makes a Store around its own connection",
    ]
    fine = """def cmd_events(p):
    Store.open(p, check=False)
def g(p):
    Store.open(p, readonly=True)
"""
    assert writable_opens(fine, "holmtray/cli.py") == []
    assert writable_opens(fine, "holmtray/other.py") == [
        "holmtray/other.py:2: Store.open without readonly=True"
    ]
