"""User SQL (``canvasback.sql``) runs in a DuckDB database of its own, never on the catalog's.

The catalog's tables are what every other read of the API answers from, so user SQL
must not be able to reach them, whatever the statement. It runs in a second DuckDB
database of this process (its own ``duckdb.connect()``), where the public views a query
names are read-only copies: the catalog's rows as Arrow tables, and ``metrics`` as a
pyarrow dataset over the same Parquet files the catalog reads (read lazily, with the
query's columns and filters pushed down). A query that names no view copies nothing.
The copies are kept (:class:`ViewCopies`) while the catalog's views answer the same.

Files: that database reads any file the user can (``read_csv``, ``read_parquet``,
``read_json``, ``glob``, a path in ``FROM``), as DuckDB always does. It writes none:
DuckDB cannot grant reading without writing (``allowed_directories`` grants both), so
the statements that write files or bring in code are refused before any statement of
the text runs (:func:`check`), judged by DuckDB's own parser. Settings are locked too,
and no extension is installed or loaded, by a statement or automatically.

The relation returned is DuckDB's own: its methods are the user's Python calls on this
database, and are not checked. ``.query()`` runs any SQL there (a ``COPY`` in it writes a
file, as in the user's own ``duckdb.connect()``), ``.write_parquet()`` writes where it is
told; neither reaches the catalog. Tables made there are the user's own: they stay for
later ``sql()`` calls of the process and touch nothing else. Each query gets a cursor of
its own, with the views' copies, so a relation keeps answering over the state it was
made from.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeAlias

from canvasback.exceptions import MlflowException
from canvasback.store import declarations, layout, liveness
from canvasback.store.read import wide
from canvasback.store.read.catalog_tables import views
from canvasback.store.read.relations import RUNS_WIDE

if TYPE_CHECKING:
    from collections.abc import Mapping

    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as ds

    from canvasback.store.fs import FileSystem

    Source: TypeAlias = pa.Table | ds.Dataset

METRICS: Final = "metrics"
RUNS: Final = "runs"
_WORDS: Final = frozenset({"identifier", "keyword"})  # token kinds a view name can be
# ``runs`` is kept as stored: its status is the stale rule's at the time of each query.
_LIVENESS: Final = ("last_seen", "heartbeat_ms")
_RUNS_STORED: Final = (
    f"SELECT {', '.join(f'w.{a}' for a in (*wide.ATTRIBUTES, *_LIVENESS))} FROM {RUNS_WIDE} w"
)

# Statement types run as they are: queries, and statements on the user database's own
# tables. A type not listed (one a later DuckDB adds) is refused until judged.
_RUN: Final = frozenset(
    {
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE_INTO",
        "CREATE",
        "CREATE_FUNC",
        "DROP",
        "ALTER",
        "TRANSACTION",
        "ANALYZE",
        "VACUUM",
        "CALL",  # what a CALL could change is a setting: locked
        "VARIABLE_SET",
        "EXECUTE",  # of a statement PREPARE'd, which was checked
    }
)
_SHOWN: Final = 80  # characters of a refused statement shown in the error
_WRAPPERS: Final = frozenset({"EXPLAIN", "PREPARE"})  # judged by the statement they wrap
_VARIABLE: Final = "VARIABLE"  # SET VARIABLE / RESET VARIABLE: a value, not a setting
_SETTINGS_WHY: Final = (
    "the settings of the sql() database are fixed (SET, RESET, USE and PRAGMA are not "
    "run; SET VARIABLE is); to look at the views use DESCRIBE runs, SHOW TABLES, or a "
    "pragma_ table function such as SELECT * FROM pragma_version()"
)
_WHY: Final = {
    "COPY": (
        "COPY reads or writes a file as a statement, and sql() writes no file; read a "
        "file in a query instead, and into a table with "
        "CREATE TABLE t AS FROM read_csv('labels.csv')"
    ),
    "EXPORT": "EXPORT DATABASE writes files",
    "IMPORT": "IMPORT DATABASE runs the statements a folder's files hold",
    "ATTACH": "ATTACH opens, or makes, a database file",
    "DETACH": "no database is attached to detach",
    "INSTALL": "installing an extension writes code to disk",
    "FORCE": "installing an extension writes code to disk",
    "LOAD": "loading an extension brings in code",
    "UPDATE": "updating extensions writes code to disk",
    "SET": _SETTINGS_WHY,
    "RESET": _SETTINGS_WHY,
    "USE": _SETTINGS_WHY,
    "PRAGMA": _SETTINGS_WHY,
}
ALLOWED: Final = (
    "sql() runs queries (SELECT, FROM, WITH, PIVOT, DESCRIBE, SHOW, SUMMARIZE, and "
    "EXPLAIN [ANALYZE] of a statement it runs), which read any file you can read "
    "(read_csv, read_parquet, read_json, glob), and statements on its own database's "
    "tables (CREATE, INSERT, UPDATE, DELETE, DROP, ALTER, ...); for anything else, use "
    "your own duckdb.connect() over a result's .to_arrow_table()"
)


class StatementRefusedError(MlflowException, PermissionError):
    """A statement given to ``sql()`` that writes files or brings in code: none runs."""


@functools.cache
def public_views() -> frozenset[str]:
    """The views user SQL sees: the catalog's views not marked internal, and ``metrics``."""
    return frozenset({METRICS, *(name for name in views() if not name.startswith("_"))})


def _tokens(sql: str) -> list[tuple[int, str, str]]:
    """DuckDB's tokens of a text: ``(start, kind, text)``, comments left out."""
    import duckdb  # noqa: PLC0415  # loaded with the catalog

    tokens = duckdb.tokenize(sql)
    ends = [start for start, _kind in tokens[1:]]
    ends.append(len(sql))
    return [
        (start, kind.name, sql[start:end].strip())
        for (start, kind), end in zip(tokens, ends, strict=False)  # no tokens: no words
        if kind.name != "comment"
    ]


def views_named(sql: str) -> list[str]:
    """The public views a query may read: every word of it spelled like one.

    Lexed, not parsed: a word in any statement (PIVOT, EXPLAIN, several statements)
    counts, and one that only looks like a view name (a column alias) costs a copy.
    """
    found: set[str] = set()
    for _start, kind, text in _tokens(sql):
        if kind not in _WORDS:
            continue
        word = text.lower()
        if len(word) > 1 and word[0] == word[-1] == '"':
            word = word[1:-1].replace('""', '"')
        if word in public_views():
            found.add(word)
    return sorted(found)


# -- which statements run ----------------------------------------------------------------
def check(sql: str) -> None:
    """Refuse the text if any statement of it writes files or brings in code.

    Every statement is judged before any runs, by its type as DuckDB's parser gives it;
    EXPLAIN and PREPARE by the statement they wrap. A text DuckDB cannot parse is left
    for DuckDB to say so when it runs.
    """
    for text, kind in _statements(sql, sql):
        _check_one(text, kind, text)


def _statements(sql: str, shown: str) -> list[tuple[str, str]]:
    """Each statement of a text with its type; ``[]`` for a text DuckDB cannot parse."""
    import duckdb  # noqa: PLC0415  # loaded with the catalog

    try:
        return [(s.query, s.type.name) for s in duckdb.extract_statements(sql)]
    except duckdb.Error:
        return []  # a syntax error: DuckDB names it when the query is made
    except ValueError as exc:  # a statement type this DuckDB's Python API cannot name
        _refuse(shown, f"DuckDB gives it a type sql() does not know ({exc})")


def _check_one(text: str, kind: str, shown: str) -> None:
    """Judge one statement; ``shown`` is the statement as the user wrote it."""
    words = [t.upper() for _s, k, t in _tokens(text) if k != "operator" or t != ";"]
    if kind in _RUN:
        return
    if kind == "SET" and words[:2] in (["SET", _VARIABLE], ["RESET", _VARIABLE]):
        return
    if kind == "MULTI" and words[:1] == ["PIVOT"]:  # the values' type, then the query
        return
    if kind in _WRAPPERS:
        wrapped = _statements(text[_header_end(text, kind) :], shown)
        if len(wrapped) != 1:
            _refuse(shown, f"the statement this {kind} wraps could not be told apart")
        _check_one(*wrapped[0], shown)
        return
    first = words[0] if words else kind
    _refuse(shown, _WHY.get(first, f"{first} statements ({kind}) are not among those it runs"))


def _header_end(text: str, kind: str) -> int:
    """Where the statement an EXPLAIN or a PREPARE wraps starts in its text.

    After ``EXPLAIN [ANALYZE] [(options)]``, or ``PREPARE name [(types)] AS``.
    """
    tokens = _tokens(text)
    words = [t.upper() for _s, _k, t in tokens]

    def word(at: int) -> str:
        return words[at] if at < len(words) else ""

    at = 2 if kind == "PREPARE" else 1  # past the keyword (and the prepared name)
    if kind == "EXPLAIN" and word(at) in ("ANALYZE", "ANALYSE"):
        at += 1
    if word(at) == "(":
        depth = 1
        while depth and at + 1 < len(words):
            at += 1
            depth += words[at].count("(") - words[at].count(")")
        at += 1
    if kind == "PREPARE" and word(at) == "AS":
        at += 1
    return tokens[at][0] if at < len(tokens) else len(text)


def _refuse(text: str, why: str) -> NoReturn:
    shown = " ".join(text.split())
    shown = shown if len(shown) <= _SHOWN else shown[: _SHOWN - 3] + "..."
    msg = f"sql() does not run the statement {shown!r}: {why}. {ALLOWED}."
    raise StatementRefusedError(msg)


# -- the views' copies -------------------------------------------------------------------
class ViewCopies:
    """The copies of a catalog's views that user SQL reads, kept while its views stand still.

    A view is copied the first time a query names it, and the copy is given to every
    later query while the catalog's ``views_version`` is the same; once it changes, every
    copy is let go (only the copies of one state are kept). Called with the catalog's
    lock held.
    """

    def __init__(self) -> None:
        self._version: int | None = None
        self._copies: dict[str, Source] = {}
        self.made = 0
        """How many copies were made (a measure of the work done, for tests)."""

    def for_query(
        self,
        sql: str,
        con: duckdb.DuckDBPyConnection,
        fs: FileSystem,
        metric_rels: list[str],
        version: int,
    ) -> dict[str, Source]:
        """The copies of the views ``sql`` names, as the catalog answers at ``version``.

        ``metric_rels`` are the files the catalog's ``metrics`` view reads.
        """
        if version != self._version:
            self._version, self._copies = version, {}
        sources: dict[str, Source] = {}
        for name in views_named(sql):
            if name not in self._copies:
                self._copies[name] = _copy(name, con, fs, metric_rels)
                self.made += 1
            sources[name] = self._copies[name]
        if RUNS in sources:
            sources[RUNS] = _runs_now(sources[RUNS])
        return sources


def _copy(
    name: str,
    con: duckdb.DuckDBPyConnection,
    fs: FileSystem,
    metric_rels: list[str],
) -> Source:
    if name == METRICS:
        return metric_files(fs, metric_rels)
    sql = _RUNS_STORED if name == RUNS else f"SELECT * FROM {name}"
    return con.sql(sql).to_arrow_table()


def _runs_now(stored: Source) -> pa.Table:
    """The ``runs`` view from its stored copy: the status read as the stale rule says now."""
    import pyarrow as pa  # noqa: PLC0415  # loaded with the copy

    if not isinstance(stored, pa.Table):  # a dataset only for ``metrics``
        msg = "the runs view is copied as a table"
        raise TypeError(msg)
    status = liveness.status_arrow(
        stored.column("status"), stored.column("last_seen"), stored.column("heartbeat_ms")
    )
    at = stored.schema.get_field_index("status")
    return stored.set_column(at, "status", status).drop_columns(list(_LIVENESS))


def metric_files(fs: FileSystem, rels: list[str]) -> ds.Dataset:
    """The ``metrics`` view over these segment files, as the catalog reads it.

    The experiment id is the file's partition (``metrics/exp=<id>/...``), as for the
    catalog's hive partitioning.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.dataset as ds  # noqa: PLC0415
    import pyarrow.fs as pafs  # noqa: PLC0415

    prefix = f"{layout.PARTITION_KEY}="
    stored = declarations.table(METRICS).arrow_schema()
    schema = pa.schema([pa.field("experiment_id", pa.string()), *stored])
    partitions = [
        ds.field("experiment_id") == rel.split("/")[1].removeprefix(prefix) for rel in rels
    ]
    return ds.FileSystemDataset.from_paths(
        fs.local_paths(rels),
        schema=schema,
        format=ds.ParquetFileFormat(),
        filesystem=pafs.LocalFileSystem(),
        partitions=partitions,
    )


# -- the user database -------------------------------------------------------------------
def relation(
    sql: str, params: list[Any] | None, sources: Mapping[str, Source]
) -> duckdb.DuckDBPyRelation:
    """User SQL (passed by :func:`check`) on a new cursor of the user database."""
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

    con = duckdb.connect(
        config={
            "python_enable_replacements": False,  # no Python variable is a table
            # No extension comes in but those built in (parquet, json, icu): none is
            # downloaded or loaded from disk, and none can be trusted later on.
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_extension_repositories": "forbidden",
            "allow_persistent_secrets": False,  # a persistent secret is a file
        }
    )
    con.execute("SET GLOBAL TimeZone = 'UTC'")  # GLOBAL: every cursor starts from it
    con.execute("SET lock_configuration = true")  # then no setting changes, by any statement
    return con


_DATABASE: Final = _UserDatabase()
