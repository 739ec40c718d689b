"""The DuckDB side of the store: an in-memory catalog over the live segment files.

Run-level tables (experiments, runs, params, resolved events, artifacts and the latest
value of every metric) are small next to metric histories, so the catalog keeps them
as in-memory DuckDB tables, loaded incrementally from new segments and deduplicated on
their natural keys: a row read twice (from a segment and from the compacted file that
replaced it) is kept once. On top of them, a wide table of one row per run (see
``wide.py``) is rebuilt for just the runs a refresh touched; searches read it. Metric
histories stay in Parquet, read through an explicit file list. Every public read
refreshes first, so other processes' writes show up.

Views (what ``canvasback.sql`` sees): ``experiments``, ``runs``, ``params``, ``tags``,
``metrics``, ``latest_metrics``, ``artifacts``. Times are milliseconds since the epoch.
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import TYPE_CHECKING, Any, Final, TypeVar

from canvasback.exceptions import MlflowException
from canvasback.store import events, layout, wide
from canvasback.store.catalog_tables import (
    EMPTY_METRICS,
    LATEST,
    MATERIALIZED,
    PARQUET_ARGS,
    sql_list,
    views,
)
from canvasback.store.integrity import CORRUPT, SOUND, inspect_segment
from canvasback.store.segments import Changes, TableIndex

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pyarrow as pa

    from canvasback.store.fs import LocalFileSystem

log = logging.getLogger(__name__)

T = TypeVar("T")

_READ_ONLY_STATEMENTS: Final = frozenset({"SELECT", "EXPLAIN"})


class ReadOnlyQueryError(MlflowException, ValueError):
    """User SQL that would change the catalog (``canvasback.sql`` only answers queries)."""


class CorruptSegmentWarning(UserWarning):
    """A segment file could not be read; it was moved aside and the rest stays readable."""


class UnreadableSegmentWarning(UserWarning):
    """A segment file could not be opened (permission, I/O error); skipped, retried later."""


class Catalog:
    """In-memory DuckDB over a store's live files; refreshed before every read."""

    def __init__(self, fs: LocalFileSystem) -> None:
        import duckdb  # noqa: PLC0415  # DuckDB loads on first read, not at import

        self.fs = fs
        self.lock = threading.RLock()
        self.con = duckdb.connect(config={"python_enable_replacements": False})
        self.con.execute("SET TimeZone = 'UTC'")
        self.indexes = {t: TableIndex(fs, t) for t in layout.TABLES}
        self._loaded: dict[str, set[str]] = {t: set() for t in layout.TABLES}
        self._unreadable: set[str] = set()  # skipped files already warned about
        self.metric_files: dict[str, tuple[str, str]] = {}  # rel -> (min run_id, max run_id)
        for name, columns, _keys in MATERIALIZED.values():
            self.con.execute(f"CREATE TABLE {name} ({columns})")
        self.con.execute(events.CREATE_STATE)
        self.con.execute(
            f"CREATE TABLE {LATEST} (experiment_id VARCHAR, run_id VARCHAR, key VARCHAR, "
            "step BIGINT, timestamp BIGINT, value DOUBLE)"
        )
        self.wide = wide.WideRuns(self.con)
        self._dirty: set[str] = set()  # runs whose wide rows need rebuilding
        for view, body in views().items():
            self.con.execute(f"CREATE VIEW {view} AS {body}")
        self._set_metrics_view()

    # -- refresh ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Load every file that appeared since the last refresh."""
        with self.lock:
            for table in layout.TABLES:
                index = self.indexes[table]
                changes = index.refresh()
                while changes:
                    self._apply(table, changes)
                    # A corrupt compacted file was moved aside: load its inputs now.
                    changes = index.refresh() if index.stale else Changes()
            if self._dirty:
                self.wide.update(self._dirty)
                self._dirty = set()

    def _apply(self, table: str, changes: Changes) -> None:
        loaded = self._loaded[table]
        to_load: list[str] = []
        purged: set[str] = set()
        for rel in changes.new:
            sidecar = changes.sidecars.get(rel)
            if sidecar is not None:
                purged.update(sidecar.purged_run_ids)
                if set(sidecar.inputs) <= loaded:
                    loaded.add(rel)  # its rows are the inputs' rows, already here
                    continue
            to_load.append(rel)
        for rel in changes.gone:
            loaded.discard(rel)
            self.metric_files.pop(rel, None)
        if purged:
            self._forget_runs(sorted(purged))
        for rel in self._load_checked(table, to_load):
            loaded.add(rel)
        if table == "metrics":
            self._record_ranges([r for r in loaded if r not in self.metric_files])
            self._set_metrics_view()

    def _record_ranges(self, rels: list[str]) -> None:
        # Footer statistics only: lets a one-run history open just the files that hold it.
        if not rels:
            return
        paths = [self.fs.local_path(r) for r in rels]
        ranges = self.con.execute(
            "SELECT file_name, min(stats_min_value), max(stats_max_value) "
            "FROM parquet_metadata(?) WHERE path_in_schema = 'run_id' GROUP BY file_name",
            [paths],
        ).fetchall()
        by_path = dict(zip(paths, rels, strict=True))
        for file_name, lo, hi in ranges:
            self.metric_files[by_path[file_name]] = (lo or "", hi or "\uffff")
        for rel in rels:  # an empty file has no row groups, hence no statistics
            self.metric_files.setdefault(rel, ("", "\uffff"))

    def _load_checked(self, table: str, rels: list[str]) -> list[str]:
        """Load files; a corrupt file is moved aside, an unreadable one skipped for now."""
        if not rels:
            return []
        try:
            self._load(table, rels)
        except Exception:  # noqa: BLE001  # find the bad file(s) one by one
            good: list[str] = []
            for rel in rels:
                try:
                    self._load(table, [rel])
                    good.append(rel)
                except Exception as exc:
                    verdict, why = inspect_segment(self.fs.local_path(rel), table)
                    if verdict == SOUND:
                        raise  # the file is sound: never move good data aside
                    if verdict == CORRUPT:
                        self._quarantine(table, rel, f"{why}; {exc}" if why else str(exc))
                    else:
                        self._skip_unreadable(table, rel, why)
            return good
        self._unreadable.difference_update(rels)
        return rels

    def _skip_unreadable(self, table: str, rel: str, why: str) -> None:
        # Offered again at the next refresh; warned about once, until it is read.
        self.indexes[table].forget(rel, retry=True)
        if rel in self._unreadable:
            return
        self._unreadable.add(rel)
        warnings.warn(
            f"canvasback: segment {rel!r} of table {table!r} cannot be opened now ({why}); "
            "it is left in place, skipped, and tried again at the next refresh.",
            UnreadableSegmentWarning,
            stacklevel=5,
        )

    def _quarantine(self, table: str, rel: str, why: str) -> None:
        try:
            moved = self.fs.move_aside(rel, layout.QUARANTINE_DIR)
        except OSError as exc:  # a read-only store: leave it, but never read it again
            self.indexes[table].forget(rel, ignore=True)
            where = f"it could not be moved aside ({exc}) and is ignored by this reader"
        else:
            self.indexes[table].forget(rel)
            where = f"moved aside to {moved!r}"
        warnings.warn(
            f"canvasback: segment {rel!r} of table {table!r} is corrupt ({why}); "
            f"{where}. Every other row stays readable.",
            CorruptSegmentWarning,
            stacklevel=5,
        )

    def _load(self, table: str, rels: list[str]) -> None:
        paths = [self.fs.local_path(r) for r in rels]
        source = f"read_parquet(?, {PARQUET_ARGS})"
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            if table in MATERIALIZED:
                name, _cols, keys = MATERIALIZED[table]
                cols = [f"n.{f.name}" for f in layout.schema(table)]
                if table != "experiments":  # its rows carry their id; others get it from the path
                    cols.insert(0, "n.exp")
                match = " AND ".join(f"t.{k} = n.{k}" for k in keys)
                # A param is write-once: when two processes logged one key with different
                # values, the first by (timestamp, value) wins, in every reader alike.
                first = " ORDER BY timestamp, value" if table == "params" else ""
                fresh = (
                    f"(SELECT * FROM {source} QUALIFY row_number() OVER "
                    f"(PARTITION BY {', '.join(keys)}{first}) = 1) n"
                )
                if table == "params":
                    con.execute(
                        f"""
                        UPDATE {name} t SET value = n.value, timestamp = n.timestamp
                        FROM {fresh}
                        WHERE {match} AND (n.timestamp, n.value) < (t.timestamp, t.value)
                        """,
                        [paths],
                    )
                con.execute(
                    f"""
                    INSERT INTO {name}
                    SELECT {", ".join(cols)}
                    FROM {fresh}
                    WHERE NOT EXISTS (SELECT 1 FROM {name} t WHERE {match})
                    """,
                    [paths],
                )
                if table in ("runs", "params"):
                    self._dirty.update(
                        r[0]
                        for r in con.execute(
                            f"SELECT DISTINCT run_id FROM {source}", [paths]
                        ).fetchall()
                    )
            elif table == "events":
                touched = events.merge_events(
                    con,
                    f"SELECT exp AS experiment_id, entity_id, kind, key, value, timestamp, "
                    f"writer, seq FROM {source}",
                    [paths],
                )
                self._dirty.update(touched)
                # A heartbeat's entity is a writer: its running runs' last_seen moved.
                self._dirty.update(
                    r[0]
                    for r in con.execute(
                        f"SELECT entity_id FROM {events.STATE_TABLE} WHERE kind = ? "
                        "AND value = 'RUNNING' AND list_contains(?, writer)",
                        [layout.EVENT_STATUS, touched],
                    ).fetchall()
                )
            else:
                self._load_metrics(source, paths)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _load_metrics(self, source: str, paths: list[str]) -> None:
        con = self.con
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _new_latest AS
            SELECT exp AS experiment_id, run_id, key,
                   max(struct_pack(step := step, ts := timestamp, v := value)) AS m
            FROM {source} GROUP BY ALL
            """,
            [paths],
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _merged AS
            SELECT experiment_id, run_id, key, max(m) AS m FROM (
                SELECT experiment_id, run_id, key,
                       struct_pack(step := step, ts := timestamp, v := value) AS m
                FROM {LATEST} l
                WHERE EXISTS (SELECT 1 FROM _new_latest n
                              WHERE n.run_id = l.run_id AND n.key = l.key)
                UNION ALL SELECT * FROM _new_latest
            ) GROUP BY ALL
            """
        )
        con.execute(
            f"DELETE FROM {LATEST} l USING _merged n WHERE n.run_id = l.run_id AND n.key = l.key"
        )
        con.execute(
            f"INSERT INTO {LATEST} SELECT experiment_id, run_id, key, m.step, m.ts, m.v "
            "FROM _merged"
        )
        self._dirty.update(
            r[0] for r in con.execute("SELECT DISTINCT run_id FROM _merged").fetchall()
        )
        con.execute("DROP TABLE _new_latest; DROP TABLE _merged")

    def _forget_runs(self, run_ids: list[str]) -> None:
        self.wide.forget(run_ids)
        self._dirty.difference_update(run_ids)
        for table, (name, _cols, _keys) in MATERIALIZED.items():
            if table != "experiments" and table not in layout.REGISTRY_TABLES:
                self.con.execute(f"DELETE FROM {name} WHERE list_contains(?, run_id)", [run_ids])
        self.con.execute(f"DELETE FROM {LATEST} WHERE list_contains(?, run_id)", [run_ids])
        self.con.execute(
            f"DELETE FROM {events.STATE_TABLE} WHERE list_contains(?, entity_id)", [run_ids]
        )

    def _set_metrics_view(self) -> None:
        live = sorted(self.indexes["metrics"].live & self._loaded["metrics"])
        if not live:
            body = EMPTY_METRICS
        else:
            paths = sql_list([self.fs.local_path(r) for r in live])
            body = (
                "SELECT exp AS experiment_id, run_id, key, step, timestamp, value "
                f"FROM read_parquet({paths}, {PARQUET_ARGS})"
            )
        self.con.execute(f"CREATE OR REPLACE VIEW metrics AS {body}")

    # -- queries ---------------------------------------------------------------------
    def metric_paths_for_run(self, run_id: str) -> list[str]:
        """Local paths of the metric files that may hold rows of one run.

        Compaction deletes the files it replaced only after a grace period of minutes,
        so a query over these paths made just after this call still finds them.
        """
        with self.lock:
            files = sorted(self.metric_files.items())
        return [self.fs.local_path(rel) for rel, (lo, hi) in files if lo <= run_id <= hi]

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query (no refresh) and return an Arrow table."""
        with self.lock:
            return self.con.sql(sql, params=params or None).to_arrow_table()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query (no refresh) and return Python tuples."""
        with self.lock:
            return self.con.execute(sql, params or []).fetchall()

    def history_source(self, run_id: str) -> str | None:
        """A read_parquet() source over the files that may hold a run's metric rows."""
        paths = self.metric_paths_for_run(run_id)
        if not paths:
            return None
        return f"read_parquet({sql_list(paths)}, {PARQUET_ARGS})"

    @property
    def runs_table(self) -> str:
        """The wide run table (one row per run, one column per key) that searches scan."""
        return wide.WIDE

    def key_columns(self, prefix: str | None = None) -> list[str]:
        """Key columns of the wide run table (``metrics.acc``, ...), of one prefix or all."""
        with self.lock:
            if prefix is None:
                return sorted(self.wide.columns)
            return self.wide.key_columns(prefix)

    def key_column(self, name: str) -> str | None:
        """The wide run table's column holding a key (``metrics.acc``); None if no run has it."""
        with self.lock:
            return self.wide.physical.get(name)

    def atomically(self, work: Callable[[], T]) -> T:
        """Run several queries with no refresh in between (row ids stay valid)."""
        with self.lock:
            return work()

    def cursor(self) -> Cursor:
        """A cursor of this catalog: its own temp schema, the catalog's tables and views."""
        with self.lock:
            return Cursor(self, self.con.cursor())

    def relation(self, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyRelation:
        """A lazy relation for user SQL, on a cursor of its own.

        The relation is evaluated later, maybe while another thread (a widget, a live
        view) queries the catalog, so it must not share the catalog's connection.
        """
        with self.lock:
            cursor = self.con.cursor()
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

    def close(self) -> None:
        """Close the DuckDB connection."""
        with self.lock:
            self.con.close()


class Cursor:
    """A DuckDB cursor on a catalog; every query holds the catalog's lock.

    Temp tables made in a cursor are its own (``canvasback.sql`` never sees them) and
    go when it is closed: the run table keeps its per-widget tables in one.
    """

    def __init__(self, catalog: Catalog, con: duckdb.DuckDBPyConnection) -> None:
        self._catalog = catalog
        self._con: duckdb.DuckDBPyConnection | None = con

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            msg = "this catalog cursor is closed"
            raise RuntimeError(msg)
        return self._con

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table."""
        with self._catalog.lock:
            return self._open().sql(sql, params=params or None).to_arrow_table()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query (or a statement) and return Python tuples."""
        with self._catalog.lock:
            return self._open().execute(sql, params or []).fetchall()

    def close(self) -> None:
        """Close the cursor; its temp tables go with it."""
        if self._con is not None:
            with self._catalog.lock:
                self._con.close()
            self._con = None
