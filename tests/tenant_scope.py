"""The tenant-scope check that tests/conftest.py hooks into every session of every test.

Each statement convhub's code runs through a session is inspected before it runs: every occurrence of a tenant
table (a table with a ``workspace_id`` column) in it must be compared on that column, with a value or with another
tenant table's ``workspace_id`` (a join within one workspace), unless the repository base marked the statement
:func:`convhub.kit.repository.unscoped`. A statement that fails raises :class:`UnscopedStatement` where it runs
and is recorded, so a test whose code swallows the error still fails at teardown.

Inserts are not inspected (their rows carry the workspace; the base checks them), nor are the ORM's own
flushes and loads of objects already loaded. Statements a test issues itself (a fixture's TRUNCATE, a helper
that reads or writes rows to set up or check a case) are the test's business and pass, unless the test asks
for :meth:`TenantGuard.strict`: the origin is the first frame, walking out from the statement, that is in
``src/convhub`` or in ``tests/``. That walk runs only for a statement that failed, so a passing statement costs
one walk over its clause tree.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import Any

import greenlet
from sqlalchemy import BindParameter, ColumnClause, Insert, TableClause, TextClause
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.sql.selectable import Alias

from convhub.kit.repository import UNSCOPED
from convhub.models import Base

TENANT_TABLES = frozenset(name for name, table in Base.metadata.tables.items() if "workspace_id" in table.c)
_TENANT_WORD = re.compile(r"\b(" + "|".join(sorted(TENANT_TABLES)) + r")\b")
_SRC = str(Path(__file__).resolve().parents[1] / "src" / "convhub")
_TESTS = str(Path(__file__).resolve().parent)
_SELF = str(Path(__file__).resolve())


class UnscopedStatement(AssertionError):
    """A statement on tenant tables without the workspace filter, not marked as across workspaces."""


def unscoped_tables(statement: Any) -> list[str]:
    """The tenant tables that ``statement`` reaches without a workspace filter (empty: it is scoped)."""
    if isinstance(statement, TextClause):
        return sorted(set(_TENANT_WORD.findall(statement.text)))
    if isinstance(statement, Insert):
        if statement.select is None:
            return []
        statement = statement.select
    tables: dict[int, str] = {}
    scoped: set[int] = set()
    followed: set[int] = set()  # subqueries reached through their columns, walked once
    stack: list[Any] = [statement]
    while stack:
        element = stack.pop()
        if isinstance(element, TableClause):
            if element.name in TENANT_TABLES:
                tables[hash(element)] = element.name
            continue
        if isinstance(element, Alias) and isinstance(element.element, TableClause):
            if element.element.name in TENANT_TABLES:
                tables[hash(element)] = element.element.name
            continue
        if isinstance(element, ColumnClause):
            table = element.table
            if table is not None and id(table) not in followed:
                followed.add(id(table))
                stack.append(table)
        elif isinstance(element, BinaryExpression) and element.operator is operators.eq:
            scoped.update(_workspace_compared(element.left, element.right))
            scoped.update(_workspace_compared(element.right, element.left))
        stack.extend(element.get_children())
    return sorted({name for key, name in tables.items() if key not in scoped})


def _workspace_compared(side: Any, other: Any) -> list[int]:
    if not (isinstance(side, ColumnClause) and side.name == "workspace_id" and side.table is not None):
        return []
    if isinstance(other, BindParameter) or (isinstance(other, ColumnClause) and other.name == "workspace_id"):
        return [hash(side.table)]
    return []


def _frames() -> Iterator[FrameType]:
    """The frames from here outwards, through the greenlet SQLAlchemy's async layer runs the session in."""
    frame: FrameType | None = sys._getframe(1)
    current: Any = greenlet.getcurrent()
    while True:
        while frame is not None:
            yield frame
            frame = frame.f_back
        current = current.parent
        if current is None:
            return
        frame = current.gr_frame


def issued_by_a_test() -> bool:
    for frame in _frames():
        name = frame.f_code.co_filename
        if name.startswith(_SRC):
            return False
        if name.startswith(_TESTS) and name != _SELF:
            return True
    return False


_STRICT: ContextVar[bool] = ContextVar("tenant_scope_strict", default=False)


class TenantGuard:
    """The ``do_orm_execute`` listener, and what it found during the current test."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def check(self, state: ORMExecuteState) -> None:
        if state.is_column_load or state.is_relationship_load or state.execution_options.get(UNSCOPED):
            return
        missing = unscoped_tables(state.statement)
        if not missing:
            return
        strict = _STRICT.get()
        if not strict and issued_by_a_test():
            return
        message = f"no workspace filter on {', '.join(missing)} in: {state.statement}"
        if not strict:
            with self._lock:
                self.violations.append(message)
        raise UnscopedStatement(message)

    @contextmanager
    def strict(self) -> Iterator[None]:
        """Inspect the statements the test itself issues too (to test the check)."""
        token = _STRICT.set(True)
        try:
            yield
        finally:
            _STRICT.reset(token)
