"""User SQL (``canvasback.sql``) runs in a DuckDB database of its own, never on the catalog's.

The catalog's tables are what every other read of the API answers from, so user SQL
must not be able to reach them, whatever the statement. It runs in a second DuckDB
database of this process (its own ``duckdb.connect()``), where the public views a query
names are read-only copies made when the query is given: the catalog's rows as Arrow
tables, and ``metrics`` as a pyarrow dataset over the same Parquet files the catalog
reads (read lazily, with the query's columns and filters pushed down). A query that
names no view copies nothing.

That database has no file access: DuckDB's external access is off and its settings
locked, so no statement reads or writes a file (the store's files included), loads an
extension from disk or reaches the network. Its tables are the user's own: a table made
there stays for later ``sql()`` calls of the process, and touches nothing else. Each
query gets a cursor of its own, with its own copies of the views, so a relation keeps
answering over the state it was made from.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from canvasback.store import layout
from canvasback.store.read.catalog_tables import views

if TYPE_CHECKING:
    from collections.abc import Mapping

    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as ds

    from canvasback.store.fs import FileSystem

    Source: TypeAlias = pa.Table | ds.Dataset

METRICS: Final = "metrics"
_WORDS: Final = frozenset({"identifier", "keyword"})  # token kinds a view name can be


@functools.cache
def public_views() -> frozenset[str]:
    """The views user SQL sees: the catalog's views not marked internal, and ``metrics``."""
    return frozenset({METRICS, *(name for name in views() if not name.startswith("_"))})


def views_named(sql: str) -> list[str]:
    """The public views a query may read: every word of it spelled like one.

    Lexed, not parsed: a word in any statement (PIVOT, EXPLAIN, several statements)
    counts, and one that only looks like a view name (a column alias) costs a copy.
    """
    import duckdb  # noqa: PLC0415  # loaded with the catalog

    tokens = duckdb.tokenize(sql)
    ends = [start for start, _kind in tokens[1:]]
    ends.append(len(sql))
    found: set[str] = set()
    for (start, kind), end in zip(tokens, ends, strict=False):  # no tokens: no words
        if kind.name not in _WORDS:
            continue
        word = sql[start:end].strip().lower()
        if len(word) > 1 and word[0] == word[-1] == '"':
            word = word[1:-1].replace('""', '"')
        if word in public_views():
            found.add(word)
    return sorted(found)


def copies(
    sql: str, con: duckdb.DuckDBPyConnection, fs: FileSystem, metric_rels: list[str]
) -> dict[str, Source]:
    """Read-only copies of the views a query names, from the catalog (its lock held).

    ``metric_rels`` are the files the catalog's ``metrics`` view reads.
    """
    sources: dict[str, Source] = {}
    for name in views_named(sql):
        if name == METRICS:
            sources[name] = metric_files(fs, metric_rels)
        else:
            sources[name] = con.sql(f"SELECT * FROM {name}").to_arrow_table()
    return sources


def metric_files(fs: FileSystem, rels: list[str]) -> ds.Dataset:
    """The ``metrics`` view over these segment files, as the catalog reads it.

    The experiment id is the file's partition (``metrics/exp=<id>/...``), as for the
    catalog's hive partitioning.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.dataset as ds  # noqa: PLC0415
    import pyarrow.fs as pafs  # noqa: PLC0415

    prefix = f"{layout.PARTITION_KEY}="
    stored = layout.schema(METRICS)
    schema = pa.schema([pa.field("experiment_id", pa.string()), *stored])
    partitions = [
        ds.field("experiment_id") == rel.split("/")[1].removeprefix(prefix) for rel in rels
    ]
    return ds.FileSystemDataset.from_paths(
        [fs.local_path(rel) for rel in rels],
        schema=schema,
        format=ds.ParquetFileFormat(),
        filesystem=pafs.LocalFileSystem(),
        partitions=partitions,
    )


def relation(
    sql: str, params: list[Any] | None, sources: Mapping[str, Source]
) -> duckdb.DuckDBPyRelation:
    """User SQL on a new cursor of the user database, over the views' copies."""
    cursor = _DATABASE.cursor()
    for name, source in sources.items():
        cursor.register(name, source)
    return cursor.sql(sql, params=params) if params else cursor.sql(sql)


class _UserDatabase:
    """The process's user database, made on first use (and again in a forked child)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._pid = 0
        # A connection inherited over fork is never used nor closed: closing (or
        # collecting) one whose threads stayed in the parent crashes the child.
        self._inherited: list[duckdb.DuckDBPyConnection] = []

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None or self._pid != os.getpid():
                if self._con is not None:
                    self._inherited.append(self._con)
                self._con, self._pid = _connect(), os.getpid()
            return self._con.cursor()


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb  # noqa: PLC0415  # loaded with the catalog

    con = duckdb.connect()
    # GLOBAL: every cursor starts from these. Then no file, extension or network access,
    # and no SET that would give it back.
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    con.execute("SET GLOBAL python_enable_replacements = false")  # no Python variable is a table
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


_DATABASE: Final = _UserDatabase()
