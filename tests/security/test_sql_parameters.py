"""Input values reach SQL only as parameters; identifiers only through `psycopg.sql`.

An AST scan of the Python code base: every SQL text handed to `execute`, `executemany`,
`copy`, `stream` or `sql.SQL` must be built from string literals and module-level
UPPER_CASE constants only. f-strings, `%` and `str.format` may not splice anything else in
(`sql.SQL(...).format(sql.Identifier(...))`, the driver's own composition, is the way).
A name passed as the SQL is followed to its assignments in the same function or module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "include", ROOT / "dags"]
SQL_METHODS = {"execute", "executemany", "copy", "stream"}
CONSTANT_NAME = re.compile(r"^_?[A-Z][A-Z0-9_]*$")


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    constants = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and CONSTANT_NAME.match(target.id):
                constants[target.id] = node.value
    return constants


class _Checker:
    def __init__(self, tree: ast.Module):
        self.constants = _module_constants(tree)
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent

    def _assignments(self, name: str, at: ast.AST) -> list[ast.expr]:
        scope = self.parents.get(at)
        while scope is not None and not isinstance(
            scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module
        ):
            scope = self.parents.get(scope)
        values = []
        for node in ast.walk(scope) if scope is not None else []:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets
            ):
                values.append(node.value)
        return values

    def problem(self, expr: ast.expr, seen: frozenset[str] = frozenset()) -> str | None:
        """Why `expr` is not a fixed SQL text, or None when it is."""
        if isinstance(expr, ast.Constant):
            return None
        if isinstance(expr, ast.Name):
            if expr.id in self.constants and expr.id not in seen:
                return self.problem(self.constants[expr.id], seen | {expr.id})
            if expr.id in seen:
                return None
            for value in self._assignments(expr.id, expr):
                found = self.problem(value, seen | {expr.id})
                if found:
                    return f"{expr.id} = {found}"
            return None  # a parameter or a composed sql.Composable
        if isinstance(expr, ast.JoinedStr):
            for part in expr.values:
                if isinstance(part, ast.FormattedValue) and not (
                    isinstance(part.value, ast.Name) and CONSTANT_NAME.match(part.value.id)
                ):
                    return f"f-string splices {ast.unparse(part.value)}"
            return None
        if isinstance(expr, ast.BinOp):
            if isinstance(expr.op, ast.Mod):
                return f"%-formatting: {ast.unparse(expr)[:60]}"
            if isinstance(expr.op, ast.Add):
                return self._text_part(expr.left, seen) or self._text_part(expr.right, seen)
            return f"{type(expr.op).__name__} on SQL text"
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            receiver = expr.func.value
            is_text = isinstance(receiver, ast.Constant | ast.JoinedStr)
            if expr.func.attr == "format" and is_text:
                return f"str.format: {ast.unparse(expr)[:60]}"
            if expr.func.attr == "join" and is_text:
                args_ok = all(
                    isinstance(a, ast.Name) and CONSTANT_NAME.match(a.id) for a in expr.args
                )
                return None if args_ok else f"join of {ast.unparse(expr)[:60]}"
            if expr.func.attr == "format":
                return None  # sql.SQL(...).format(...): composed by the driver
        if isinstance(expr, ast.Call):
            return None  # sql.SQL(...), sql.Composed(...), a helper returning a Composable
        return f"{type(expr).__name__} as SQL"

    def _text_part(self, expr: ast.expr, seen: frozenset[str]) -> str | None:
        """A piece concatenated into SQL text: a literal or a constant, never a variable."""
        if isinstance(expr, ast.Name) and not CONSTANT_NAME.match(expr.id):
            return f"concatenates {expr.id}"
        if isinstance(expr, ast.Call) and not (
            isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "join"
            and isinstance(expr.func.value, ast.Constant)
        ):
            return f"concatenates {ast.unparse(expr)[:60]}"
        return self.problem(expr, seen)


def _is_sql_call(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in SQL_METHODS:
        return True
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name == "SQL"


def sql_calls(source: str) -> int:
    tree = ast.parse(source)
    return sum(isinstance(n, ast.Call) and _is_sql_call(n) and bool(n.args) for n in ast.walk(tree))


def sql_problems(source: str, filename: str = "<string>") -> list[str]:
    tree = ast.parse(source, filename)
    checker = _Checker(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_sql_call(node) and node.args:
            problem = checker.problem(node.args[0])
            if problem:
                found.append(f"{filename}:{node.lineno}: {problem}")
    return found


def _python_files() -> list[Path]:
    return sorted(p for folder in SCANNED for p in folder.rglob("*.py"))


def test_the_scan_sees_the_code_base():
    files = [p.relative_to(ROOT).as_posix() for p in _python_files()]
    assert "include/strategy_briefs/ingest/loading.py" in files
    assert "include/strategy_briefs/delivery/ledger.py" in files
    # loading, ledger, gate, facts, tasks, warehouse: a few dozen statements are checked
    assert sum(sql_calls(p.read_text(encoding="utf-8")) for p in _python_files()) >= 20


def test_no_value_is_spliced_into_sql():
    problems = []
    for path in _python_files():
        problems += sql_problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert problems == []


@pytest.mark.parametrize(
    "source",
    [
        "def f(conn, period):\n    conn.execute(f\"select * from t where p = '{period}'\")",
        "def f(conn, period):\n    conn.execute(\"select * from t where p = '%s'\" % period)",
        "def f(conn, p):\n    conn.execute(\"select * from t where p = '{}'\".format(p))",
        "def f(conn, p):\n    q = 'select * from t where p = ' + p\n    conn.execute(q)",
        "def f(cur, table):\n    cur.copy(f'copy {table} from stdin')",
        "from psycopg import sql\ndef f(conn, t):\n    conn.execute(sql.SQL(f'delete from {t}'))",
        "def f(conn, cols):\n    conn.execute('select ' + ', '.join(cols) + ' from t')",
        "def f(conn, p):\n    conn.execute('select * from t where p = ' + str(p))",
        "class A:\n    def f(self, conn):\n        conn.execute(f'select * from {self.table}')",
    ],
)
def test_the_scan_catches_spliced_values(source: str):
    assert sql_problems(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "def f(conn, p):\n    conn.execute('select * from t where p = %s', (p,))",
        "COLS = 'a, b'\ndef f(conn, p):\n    conn.execute(f'select {COLS} from t where p = %s', (p,))",
        "from psycopg import sql\ndef f(conn, t, p):\n"
        "    conn.execute(sql.SQL('delete from {} where p = %s').format(sql.Identifier(t)), (p,))",
        "COLS = ('a', 'b')\nQ = 'select ' + ', '.join(COLS) + ' from t'\n"
        "def f(conn):\n    conn.execute(Q)",
    ],
)
def test_the_scan_allows_parameters_and_identifiers(source: str):
    assert sql_problems(source) == []
