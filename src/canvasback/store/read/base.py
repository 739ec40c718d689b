"""The snapshot a catalog stands on: its files as SQL sources, and what comes into memory.

With a snapshot (``snapshots.py``) the catalog's in-memory tables hold only the tail:
runs the snapshot does not hold, and runs it holds whose rows the tail touched (those
are *shadowed*, ``shadow.py``). Each run-level table is then read from two places, the
snapshot's file where it lies and the memory, through a union view (``union_views.py``);
the snapshot's wide rows are its memory-mapped Arrow file, paged by position
(``pages.py``). What is not run-level (experiments, writers' heartbeats, a declared
layer's whole tables) is small: it is read into memory whole when the snapshot is
opened. :func:`snapshot_sources` is the reverse: which relation each file of the next
snapshot is written from.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import TYPE_CHECKING

from canvasback.store.read import relations, snapshots
from canvasback.store.read.catalog_tables import sql_list

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from canvasback.store.fs import FileSystem
    from canvasback.store.read.snapshots import Snapshot


class SnapshotBase:
    """The snapshot under a catalog (``snapshot`` None: none, every row is in memory)."""

    def __init__(
        self, fs: FileSystem, con: duckdb.DuckDBPyConnection, snapshot: Snapshot | None
    ) -> None:
        self.fs = fs
        self.con = con
        self.snapshot = snapshot
        self.wide: pa.Table | None = None
        """The snapshot's wide rows, memory-mapped (registered as ``WIDE_BASE``)."""
        # Cursors see the memory-mapped wide table only once it is registered in them.
        self._cursors: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
        if snapshot is not None:
            self.wide = snapshots.open_wide(fs, snapshot)
            con.register(relations.WIDE_BASE, self.wide)

    def source(self, stem: str) -> str:
        """SQL reading one of the snapshot's Parquet files where it lies."""
        if self.snapshot is None:
            msg = "no snapshot under this catalog"
            raise RuntimeError(msg)
        return f"read_parquet({sql_list([self.fs.local_path(self.snapshot.rel(stem))])})"

    def load_whole(self) -> None:
        """Read the snapshot's small tables, and its non-run facts, into memory."""
        if self.snapshot is None:
            return
        for table, stem in snapshots.whole().items():
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {self.source(stem)}")
        self.con.execute(
            f"INSERT INTO {relations.FACTS} BY NAME "
            f"SELECT * FROM {self.source(snapshots.STATE_OTHER)}"
        )

    def running_of_writers(self, writers: list[str]) -> list[str]:
        """Runs the snapshot holds as RUNNING by these writers (a heartbeat moves them)."""
        if self.snapshot is None or not writers:
            return []
        rows = self.con.execute(
            f"SELECT entity_id FROM {self.source(snapshots.STATE_RUNS)} WHERE kind = 'status' "
            "AND value = 'RUNNING' AND list_contains(?, writer)",
            [writers],
        ).fetchall()
        return [r[0] for r in rows]

    # -- cursors ---------------------------------------------------------------------
    def attach(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Let a cursor of the catalog's connection read the views."""
        if self.wide is not None:
            cursor.register(relations.WIDE_BASE, self.wide)
        self._cursors.add(cursor)

    def move_cursors(self, other: SnapshotBase) -> None:
        """Hand the cursors to the base that replaces this one (a newer snapshot)."""
        for cursor in list(self._cursors):
            with contextlib.suppress(Exception):  # a cursor closed meanwhile
                other.attach(cursor)


def snapshot_sources() -> dict[str, str]:
    """What a snapshot's files hold: file stem -> the SELECT over the catalog's state."""
    kinds = sql_list(list(snapshots.RUN_EVENT_KINDS))
    sources = {
        stem: f"SELECT * FROM {relations.union_view(table)} ORDER BY {column}"
        for table, (stem, column) in snapshots.split().items()
        if table != relations.FACTS
    }
    sources[snapshots.STATE_RUNS] = (
        f"SELECT * FROM {relations.union_view(relations.FACTS)} "
        f"WHERE list_contains({kinds}, kind) ORDER BY entity_id, kind, key"
    )
    sources[snapshots.STATE_OTHER] = (
        f"SELECT * FROM {relations.FACTS} WHERE NOT list_contains({kinds}, kind)"
    )
    for table, stem in snapshots.whole().items():
        sources[stem] = f"SELECT * FROM {table}"
    sources[snapshots.WIDE_STEM] = f"SELECT * FROM {relations.RUNS_WIDE} ORDER BY run_id"
    return sources
