"""Cursors on the catalog, and the check that user SQL only reads.

A cursor has its own temp schema (``canvasback.sql`` never sees a widget's temp tables)
and holds the catalog's lock for each query, so no refresh runs under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from canvasback.exceptions import MlflowException

if TYPE_CHECKING:
    import threading

    import duckdb
    import pyarrow as pa

_READ_ONLY_STATEMENTS: Final = frozenset({"SELECT", "EXPLAIN"})


class ReadOnlyQueryError(MlflowException, ValueError):
    """User SQL that would change the catalog (``canvasback.sql`` only answers queries)."""


def checked_relation(
    cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None
) -> duckdb.DuckDBPyRelation:
    """A lazy relation of user SQL on its own cursor, refused unless it only reads."""
    refused = sorted(
        {statement.type.name for statement in cursor.extract_statements(sql)}
        - _READ_ONLY_STATEMENTS
    )
    if refused:
        cursor.close()
        msg = (
            f"canvasback.sql() answers queries; {', '.join(refused)} statements are "
            "refused, so that no query changes what the rest of the API reads. Allowed: "
            "SELECT (with WITH, FROM-first, DESCRIBE, SUMMARIZE) and EXPLAIN. To save a "
            "result, call .write_parquet(path) or .write_csv(path) on the relation; to "
            "change runs, use the tracking API."
        )
        raise ReadOnlyQueryError(msg)
    return cursor.sql(sql, params=params) if params else cursor.sql(sql)


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
        with self._lock:
            return self._open().sql(sql, params=params or None).to_arrow_table()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query (or a statement) and return Python tuples."""
        with self._lock:
            return self._open().execute(sql, params or []).fetchall()

    def close(self) -> None:
        """Close the cursor; its temp tables go with it."""
        if self._con is not None:
            with self._lock:
                self._con.close()
            self._con = None
