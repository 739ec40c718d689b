"""The DuckDB side of the store: a catalog over a snapshot and the newer segment files.

Run-level state (experiments, runs, params, resolved events, artifacts, the latest
value of every metric, and a wide table of one row per run that searches read) starts
from the newest snapshot (``snapshots.py``), read where it lies, and the catalog merges
the segments the snapshot does not hold into in-memory DuckDB tables (``merge.py``),
incrementally: each refresh loads only new files, and rebuilds the wide rows of just
the runs it touched (``wide.py``). Views join the two (``union_views.py``). Metric
histories stay in Parquet, read through an explicit file list. Every public read
refreshes first, so other processes' writes show up; a newer snapshot is moved onto,
and the first reader of a long tail writes the next one.

Views (what ``canvasback.sql`` sees): ``experiments``, ``runs``, ``params``, ``tags``,
``metrics``, ``latest_metrics``, ``artifacts``. Times are milliseconds since the epoch.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, TypeVar

from canvasback.store import declarations
from canvasback.store.integrity import CorruptSegmentWarning, UnreadableSegmentWarning
from canvasback.store.leases import Lease, lease
from canvasback.store.read import (
    listing,
    merge,
    relations,
    segments,
    snapshots,
    user_sql,
    wide,
)
from canvasback.store.read.base import SnapshotBase, snapshot_sources
from canvasback.store.read.catalog_tables import create_tables, views
from canvasback.store.read.cursors import Cursor, log_statement
from canvasback.store.read.loading import CheckedLoads
from canvasback.store.read.memo import Memo
from canvasback.store.read.metric_files import MetricFiles
from canvasback.store.read.pages import WidePages
from canvasback.store.read.segments import Changes, TableIndex
from canvasback.store.read.shadow import Shadow
from canvasback.store.read.snapshot_write import write as write_snapshot_files
from canvasback.store.read.union_views import UnionViews

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    import duckdb
    import pyarrow as pa

    from canvasback.store.fs import FileSystem

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["Catalog", "CorruptSegmentWarning", "UnreadableSegmentWarning"]


class Catalog:
    """In-memory DuckDB over a store's live files; refreshed before every read."""

    def __init__(self, fs: FileSystem, *, use_snapshots: bool | None = None) -> None:
        import duckdb  # noqa: PLC0415  # DuckDB loads on first read, not at import

        self.fs = fs
        self.lock = threading.RLock()
        self.con = duckdb.connect(config={"python_enable_replacements": False})
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET parquet_metadata_cache = true")  # snapshot files never change
        if use_snapshots is None:
            use_snapshots = snapshots.enabled()
        self.use_snapshots = use_snapshots
        self._snapshot_refused = False
        self._snapshots_mtime: int | None = None
        # The highest snapshot generation listed before the last refresh: this catalog
        # holds every row of those, so a snapshot of it is the next generation.
        self._generation = 0
        self.base = SnapshotBase(fs, self.con, None)
        self.views_version = 0  # moves whenever what the views answer may have changed
        self.view_copies = user_sql.ViewCopies()
        self.memo = Memo(self.lock, lambda: self.views_version)
        self._listers: ThreadPoolExecutor | None = None  # an object store's listings
        self._setup(self._newer_snapshot())

    def _setup(self, base: snapshots.Snapshot | None) -> None:
        """Start from a snapshot (or from nothing): every table empty, then its rows."""
        self.views_version += 1
        self.tables = [t.name for t in declarations.tables()]
        self.indexes = {t: TableIndex(self.fs, t) for t in self.tables}
        covered = base.covered if base is not None else {}
        self._loaded: dict[str, set[str]] = {t: set(covered.get(t, ())) for t in self.tables}
        self.loads = CheckedLoads(self.fs, self.indexes, self._load)
        self.metric_files = MetricFiles(self.fs, self.con)
        self.tail_files = 0  # files loaded on top of the snapshot
        self.first_refresh = True
        create_tables(self.con)
        new_base = SnapshotBase(self.fs, self.con, base)
        self.base.move_cursors(new_base)
        self.base = new_base
        new_base.load_whole()
        self.wide = wide.WideRuns(self.con, base.wide_columns if base is not None else ())
        self.views = UnionViews(self.con, new_base)
        self.shadow = Shadow(self.con, new_base, self.views)
        self.pages = WidePages(self.con, new_base)
        self.views.create()
        self._dirty: set[str] = set()  # runs whose wide rows need rebuilding
        self._keys: set[str] = set()  # key columns the merged rows hold (new ones added)
        for view, body in views().items():
            self.con.execute(f"CREATE OR REPLACE VIEW {view} AS {body}")
        self._set_metrics_view()

    @property
    def snapshot(self) -> str | None:
        """The name of the snapshot this catalog stands on, if any."""
        return self.base.snapshot.name if self.base.snapshot is not None else None

    # -- refresh ---------------------------------------------------------------------
    def refresh(self, tables: Collection[str] | None = None) -> None:
        """Load every file that appeared since the last refresh.

        ``tables``: only those (the rest keep what they hold, and are read at a later
        refresh), as a read that needs no other asks, e.g. a search of the wide run
        table (``wide.READ_FROM``): each table is a listing, on object storage a request.
        The first refresh on a snapshot reads every table.
        """
        with self.lock:
            unapplied = self._listed(None if self.first_refresh else tables)
            try:
                for table in [t for t in self.tables if t in unapplied]:
                    index = self.indexes[table]
                    while changes := unapplied[table]:
                        self._apply(table, changes)
                        unapplied[table] = Changes()
                        # A corrupt compacted file was moved aside (its inputs are live
                        # again), or a file was replaced before it was read: list again.
                        again = index.stale or table in self.loads.vanished
                        self.loads.vanished.discard(table)
                        if again:
                            unapplied[table] = index.refresh()
            except BaseException:
                self._offer_again(unapplied)
                raise
            grew = bool(self._dirty)
            self.wide.update(self._dirty, self._keys)
            self._keys = set()
            if self._dirty:
                self._dirty = set()
                self.views.follow_tail()
            if self.wide.added:
                self.views.create_wide()
                self.wide.added = False
            if self.fs.remote:
                self._hold_copies()
            first, self.first_refresh = self.first_refresh, False
            if (
                self.use_snapshots
                and not self._snapshot_refused
                and (
                    (first and self.tail_files >= snapshots.after_files())
                    or (grew and self._tail_is_long())
                )
            ):
                self._snapshot_for_the_next_reader()

    def _listed(self, only: Collection[str] | None) -> dict[str, Changes]:
        """Every table's changes (or ``only`` those), after moving onto a newer snapshot.

        On object storage the snapshots' manifests and the tables are listed at once
        (``listing.py``): one round trip when nothing changed. A newer snapshot found so
        is moved onto, and its tail listed anew, whole (what was listed was the old one's).
        """
        if not self.fs.remote:
            self._follow_snapshots()
            only = None if self.first_refresh else only
            return listing.in_order(self.indexes, self._offer_again, only)
        if self._listers is None:  # a thread for each table, and one for the manifests
            workers = len(self.tables) + 1
            self._listers = ThreadPoolExecutor(workers, thread_name_prefix="canvasback-list")
        manifests = self._listers.submit(self._newer_snapshot)
        try:
            listed = listing.at_once(self.indexes, self._listers, self._offer_again, only)
        finally:
            wait([manifests])
        try:
            newer = manifests.result()
        except BaseException:
            self._offer_again(listed)
            raise
        if newer is None:
            return listed
        self._setup(newer)
        return listing.at_once(self.indexes, self._listers, self._offer_again)

    def _offer_again(self, unapplied: dict[str, Changes]) -> None:
        """Offer changes listed but never merged (a later step failed) at the next refresh.

        A refresh that fails midway (a listing or a download cut short) must leave no
        file's rows out for good: the files it found are found again.
        """
        for table, changes in unapplied.items():
            index, loaded = self.indexes[table], self._loaded[table]
            for rel in changes.new:
                if rel not in loaded:
                    index.forget(rel, retry=True)
            still = [rel for rel in changes.gone if rel in loaded]
            if still:  # reported gone again once the index is worked out anew
                index.live.update(still)
                index.stale = True

    def _hold_copies(self) -> None:
        """Mark the local copies the views read as in use, so no cache sweep removes them.

        A store on object storage is read through copies in a cache shared by the
        machine's processes, bounded in size (``fs/object_cache.py``); a copy gone anyway
        (the cache folder emptied) is fetched again, to the same path.
        """
        held = list(self.metric_rels)
        if self.base.snapshot is not None:
            held += [f"{self.base.snapshot.folder}/{f}" for f in self.base.snapshot.files]
        self.fs.local_paths(held)

    def _tail_is_long(self) -> bool:
        base = self.base.wide
        ((held,),) = self.con.execute(f"SELECT count(*) FROM {relations.WIDE}").fetchall()
        return int(held) >= snapshots.after_runs(0 if base is None else base.num_rows)

    def _follow_snapshots(self) -> None:
        """Move onto a newer snapshot when one appears (the old one is deleted later)."""
        newer = self._newer_snapshot()
        if newer is not None:
            self._setup(newer)

    def _newer_snapshot(self) -> snapshots.Snapshot | None:
        """The newest snapshot if it is newer than this catalog's; notes the generation.

        A local folder is listed only when its time moved; object storage has no folder
        times, so its manifests are listed (one request) at every refresh.
        """
        if not self.fs.remote:
            mtime = self.fs.stat_mtime_ns(snapshots.SNAPSHOTS_DIR)
            if mtime is None or mtime == self._snapshots_mtime:
                return None
            self._snapshots_mtime = mtime
        names = snapshots.manifest_names(self.fs)
        if names:
            self._generation = max(self._generation, snapshots.generation_of(names[0]))
        if not self.use_snapshots:
            return None
        base = self.base.snapshot
        return snapshots.newest(self.fs, names, above=base.generation if base else 0)

    def _snapshot_for_the_next_reader(self) -> None:
        # This reader paid for a long tail; the next one starts from what it resolved.

        with lease(self.fs, "snapshot") as held:
            if held is not None:
                try:
                    self.write_snapshot(f"r{os.getpid()}", held)
                except OSError as exc:  # a read-only store, a full disk: reading goes on
                    log.warning("canvasback: no snapshot written (%s)", exc)
                    self._snapshot_refused = True  # said once; this reader stops trying

    def write_snapshot(self, writer_id: str, held: Lease | None = None) -> str | None:
        """Write the state this catalog holds as the next snapshot; returns its name.

        None if another catalog wrote that generation first: this one then moves onto
        it at the next refresh, as onto any newer snapshot. Under a lease (``held``),
        also None if the lease was taken over before the snapshot was published.
        """
        with self.lock:
            name = write_snapshot_files(
                self.fs,
                self.con,
                generation=self._generation + 1,
                writer_id=writer_id,
                covered={t: set(rels) for t, rels in self._loaded.items()},
                wide_columns=self.wide.described(),
                sources=snapshot_sources(),
                runs_without_row=self.shadow.runs_without_row(),
                commit=None if held is None else held.commit,
            )
            self._setup_after_writing(name)
            return name

    def _setup_after_writing(self, name: str | None) -> None:
        # Stand on what was just written: the same rows, with nothing in memory. (If
        # another catalog wrote this generation, or a later one, it is followed.)
        self._snapshots_mtime = None  # list the snapshots again at the next refresh
        base = self.base.snapshot
        written = None
        if name is not None:
            written = snapshots.newest(self.fs, above=base.generation if base else 0)
        if written is not None and written.name == name:
            self._generation = max(self._generation, written.generation)
            self._setup(written)
            if not self.fs.remote:
                self._snapshots_mtime = self.fs.stat_mtime_ns(snapshots.SNAPSHOTS_DIR)
        self.refresh()

    def _apply(self, table: str, changes: Changes) -> None:
        """Merge a table's new files, each row once: none a snapshot or a load gave."""
        self.views_version += 1  # rows loaded or forgotten, runs shadowed, metric files
        loaded, accepted = self._loaded[table], self.indexes[table].accepted
        fresh = [rel for rel in changes.new if rel not in loaded]  # else a snapshot has it
        purged = {r for rel in fresh if rel in accepted for r in accepted[rel].purged_run_ids}
        # A compacted file whose inputs are (partly) here: the files of the rest of its rows.
        rests = {
            r: segments.remainder(self.fs, accepted[r], loaded) for r in fresh if r in accepted
        }
        for rel in changes.gone:
            loaded.discard(rel)
            self.metric_files.forget(rel)
        if purged:
            self._forget_runs(sorted(purged))
        whole = [rel for rel in fresh if rests.get(rel) is None]
        for rel, rest in rests.items():
            if rest is not None and self._load_quietly(table, rest):
                self._replaced(table, rel)
            elif rest is not None:
                whole.append(rel)
        for rel in self.loads.load(table, whole):
            self._replaced(table, rel)
            self.tail_files += self.base.snapshot is not None
        if table == "metrics":
            self._set_metrics_view()

    def _replaced(self, table: str, rel: str) -> None:
        """A file's rows are here; a compacted file's inputs are now named by it."""
        loaded = self._loaded[table]
        loaded.add(rel)
        sidecar = self.indexes[table].accepted.get(rel)
        if sidecar is not None:
            loaded.difference_update(sidecar.inputs)

    def _load_quietly(self, table: str, rels: list[str]) -> bool:
        """Load files that a compacted file replaced; False if one is gone or unreadable."""
        if rels:
            try:
                self._load(table, rels)
            except Exception:  # noqa: BLE001  # the compacted file holds the same rows
                return False
            self.tail_files += len(rels) * (self.base.snapshot is not None)
        return True

    def _load(self, table: str, rels: list[str]) -> None:
        paths = self.fs.local_paths(rels)
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            merged = merge.merge_files(con, self.shadow, table, paths)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            self.shadow.resync()
            raise
        self._dirty.update(merged.runs)
        self._keys.update(merged.keys)

    def _forget_runs(self, run_ids: list[str]) -> None:
        self.shadow.hide(run_ids)
        self.wide.forget(run_ids)
        self._dirty.difference_update(run_ids)
        in_memory = [
            (relations.rows(t.name), t.run_column)
            for t in declarations.tables()
            if t.keys and t.run_column
        ]
        in_memory += [(relations.LATEST, "run_id"), (relations.FACTS, "entity_id")]
        for name, column in in_memory:
            self.con.execute(f"DELETE FROM {name} WHERE list_contains(?, {column})", [run_ids])

    def _set_metrics_view(self) -> None:
        live = self._live_metric_files()
        while gone := self.metric_files.create_view(live):
            self.loads.forget_vanished("metrics", gone)
            live = self._live_metric_files()
        self.metric_rels = live  # the files the metrics view reads

    def _live_metric_files(self) -> list[str]:
        return sorted(self.indexes["metrics"].live & self._loaded["metrics"])

    # -- queries ---------------------------------------------------------------------
    def metric_paths_for_run(self, run_id: str, experiment_id: str | None = None) -> list[str]:
        """Local paths of the metric files that may hold rows of one run.

        ``experiment_id``: the run's experiment, if known (only its partition is read).
        Compaction deletes replaced files only after minutes: a query just after finds them.
        """
        with self.lock:
            return self.metric_files.paths_for_run(run_id, self._live_metric_files(), experiment_id)

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query (no refresh) and return an Arrow table."""
        log_statement(sql, params)
        with self.lock:
            return self.con.sql(sql, params=params or None).to_arrow_table()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query (no refresh) and return Python tuples."""
        log_statement(sql, params)
        with self.lock:
            return self.con.execute(sql, params or []).fetchall()

    def history_source(self, run_id: str, experiment_id: str | None = None) -> str | None:
        """A read_parquet() source over the files ``metric_paths_for_run`` names."""
        with self.lock:
            live = self._live_metric_files()
            return self.metric_files.source_for_run(run_id, live, experiment_id)

    def position_of(self, alias: str) -> str:
        """SQL of a wide row's position in the snapshot's file (NULL for rows in memory)."""
        if self.base.snapshot is None:
            return "NULL::BIGINT"
        return f"{alias}.{snapshots.POSITION}"

    def picks_of(self, run_ids: list[str]) -> list[tuple[str, int | None]]:
        """The runs of ``run_ids`` the store has, in that order, with their positions."""
        with self.lock:
            where = "WHERE b.run_id IN (SELECT unnest(?))"
            sql = f"SELECT run_id, {self.position_of('b')} FROM {relations.RUNS_WIDE} b {where}"
            found = dict(self.rows(sql, [run_ids]))
        return [(run_id, found[run_id]) for run_id in run_ids if run_id in found]

    @property
    def wide_epoch(self) -> int:
        """Positions from :meth:`position_of` hold while this stays the same."""
        return self.shadow.epoch

    def wide_page(
        self,
        fields: list[tuple[str, str]],
        picks: list[tuple[str, int | None]],
        epoch: int | None = None,
    ) -> pa.Table:
        """Columns ``(wide column, name)`` of runs found with their positions, in order.

        Positions (from :meth:`position_of`) take the snapshot's rows straight from its
        memory-mapped file, with no query; only rows in memory are selected in DuckDB.
        Positions found under another :attr:`wide_epoch` than ``epoch`` are not used:
        the runs are found again by id. The status column reads as the stale rule says.
        """
        import pyarrow as pa  # noqa: PLC0415  # loaded with the snapshot or the query

        with self.lock:
            if epoch is not None and epoch != self.shadow.epoch:
                picks = self.picks_of([run_id for run_id, _ in picks])
            types = {
                self.wide.physical[n]: pa.float64() if t == "DOUBLE" else pa.string()
                for n, t in self.wide.columns.items()
            }
            return self.pages.rows_of(fields, picks, types)

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
            cursor = self.con.cursor()
            self.base.attach(cursor)
            return Cursor(self.lock, cursor)

    def relation(self, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyRelation:
        """A lazy relation for user SQL, in a DuckDB database of its own (``user_sql.py``).

        Statements writing files are refused. The views it names are copied out in one
        state (``metrics``: its files), or the copies of the same state are taken again.
        """
        user_sql.check(sql)
        with self.lock:
            version, rels = self.views_version, self.metric_rels
            sources = self.view_copies.for_query(sql, self.con, self.fs, rels, version)
        return user_sql.relation(sql, params, sources)

    def close(self) -> None:
        """Close the DuckDB connection."""
        with self.lock:
            self.con.close()
            if self._listers is not None:
                self._listers.shutdown()
