"""Cursors on the catalog: each has its own temp schema and holds the catalog's lock.

A cursor's temp tables are its own (the run table keeps its per-widget tables in one),
and each query holds the catalog's lock, so no refresh runs under it. User SQL never
gets one: it runs in a database of its own (``user_sql.py``).

Every statement run through a cursor or the catalog's ``rows`` and ``arrow`` (what the
query layer sends) is logged at DEBUG on :data:`STATEMENTS` with its parameters; the
catalog's own work, loading and merging files, goes to its connection unlogged. Set
that logger to DEBUG to see them (``tests/query/test_sql_snapshots.py`` records them).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import threading

    import duckdb
    import pyarrow as pa


STATEMENTS: Final = logging.getLogger("canvasback.store.read.statements")
"""The log of the statements run for the layers above: the SQL, then the parameters."""


def log_statement(sql: str, params: list[Any] | None) -> None:
    """Log a statement about to run (formatted only if a handler takes DEBUG records)."""
    STATEMENTS.debug("%s\n-- parameters: %r", sql, params)


class Cursor:
    """A DuckDB cursor on a catalog; every query holds the catalog's lock.

    Temp tables made in a cursor are its own (``canvasback.sql`` never sees them) and
    go when it is closed: the run table keeps its per-widget tables in one.
    """

    def __init__(self, lock: threading.RLock, con: duckdb.DuckDBPyConnection) -> None:
        self._lock = lock
        self._con: duckdb.DuckDBPyConnection | None = con

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            msg = "this catalog cursor is closed"
            raise RuntimeError(msg)
        return self._con

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table."""
        log_statement(sql, params)
        with self._lock:
            return self._open().sql(sql, params=params or None).to_arrow_table()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query (or a statement) and return Python tuples."""
        log_statement(sql, params)
        with self._lock:
            return self._open().execute(sql, params or []).fetchall()

    def close(self) -> None:
        """Close the cursor; its temp tables go with it."""
        if self._con is not None:
            with self._lock:
                self._con.close()
            self._con = None
