"""Shadowed runs: a snapshot's run whose rows are copied into memory before new ones merge.

When the tail touches a run the snapshot holds (a new param, a status event, a metric),
its rows in every run-level table are first copied from the snapshot into memory
(:meth:`Shadow.hydrate`), so every merge rule (first param wins, last event wins, the
latest metric by step) runs on the whole run exactly as without a snapshot; from then
on the union views (``union_views.py``) leave the snapshot's rows of that run out. A
run purged from the store is hidden the same way, with nothing copied.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from canvasback.store.read import relations, snapshots
from canvasback.store.read.catalog_tables import sql_list

if TYPE_CHECKING:
    import duckdb

    from canvasback.store.read.base import SnapshotBase
    from canvasback.store.read.union_views import UnionViews

# Positions into the snapshot's wide rows stay valid while the epoch stays the same.
_EPOCHS = itertools.count()


class Shadow:
    """The runs of a snapshot whose rows are in memory, or hidden (``SHADOW``)."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, base: SnapshotBase, views: UnionViews
    ) -> None:
        self.con = con
        self.base = base
        self.views = views
        self._shadowed: set[str] = set()  # as the shadow table holds them
        self._not_held: set[str] = set()  # ids found not to be runs of the snapshot
        self.epoch = next(_EPOCHS)
        """Changes when a snapshot row stops being the run's row (shadowed or hidden)."""
        con.execute(f"CREATE OR REPLACE TABLE {relations.SHADOW} (id VARCHAR)")

    def hydrate(self, ids: list[str]) -> list[str]:
        """Copy the snapshot's rows of these runs (or entities) into memory.

        Returns the ids shadowed by this call (those not shadowed before).
        """
        fresh = self._unshadowed_runs(ids)
        if not fresh:
            return []
        con, hydrate = self.con, relations.HYDRATE
        con.execute(f"CREATE OR REPLACE TEMP TABLE {hydrate} AS SELECT unnest(?) AS id", [fresh])
        for table, (stem, column) in snapshots.split().items():
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM {self.base.source(stem)} "
                f"WHERE {column} IN (SELECT id FROM {hydrate})"
            )
        con.execute(f"DROP TABLE {hydrate}")
        self._shadow(fresh)
        return fresh

    def hide(self, run_ids: list[str]) -> None:
        """Hide the snapshot's rows of runs purged from the store."""
        fresh = self._unshadowed_runs(run_ids)
        if fresh:
            self._shadow(fresh)

    def _unshadowed_runs(self, ids: list[str]) -> list[str]:
        """Those of ``ids`` that are runs the snapshot holds rows of, not shadowed yet.

        The snapshot's wide table holds its runs, and its manifest lists those it holds
        rows of but no run row: their rows too are the snapshot's, and must be hidden
        before a row of theirs is merged.
        """
        import pyarrow as pa  # noqa: PLC0415  # loaded with the snapshot
        import pyarrow.compute as pc  # noqa: PLC0415

        ids = [i for i in set(ids) if i not in self._shadowed and i not in self._not_held]
        snapshot, wide = self.base.snapshot, self.base.wide
        if snapshot is None or wide is None or not ids:
            return []
        column = wide.column("run_id")
        found = pc.filter(column, pc.is_in(column, value_set=pa.array(ids, pa.string())))
        held = [str(v) for v in found.to_pylist()]
        held += [i for i in ids if i in snapshot.runs_without_row]
        # A run the snapshot lacks stays new to it: its next rows need no scan of the ids.
        self._not_held.update(set(ids).difference(held))
        return held

    def _shadow(self, ids: list[str]) -> None:
        first = not self._shadowed
        self.con.execute(f"INSERT INTO {relations.SHADOW} SELECT unnest(?)", [ids])
        self._shadowed.update(ids)
        self.epoch = next(_EPOCHS)
        if first:
            self.views.hiding = True
            self.views.create()

    def resync(self) -> None:
        """After a rolled-back merge: what is shadowed is what the table says."""
        rows = (
            self.con.execute(f"SELECT id FROM {relations.SHADOW}").fetchall()
            if self.base.snapshot is not None
            else []
        )
        was = bool(self._shadowed)
        self._shadowed = {r[0] for r in rows}
        self.epoch = next(_EPOCHS)
        if was != bool(self._shadowed):
            self.views.hiding = bool(self._shadowed)
            self.views.create()

    def runs_without_row(self) -> list[str]:
        """Runs the catalog holds rows of (params, events, ...) but no run row.

        Those in memory, and the snapshot's own not shadowed (a shadowed run's rows are
        all in memory). A snapshot lists them: a reader of it then knows their rows
        are the snapshot's.
        """
        kinds = sql_list(list(snapshots.RUN_EVENT_KINDS))
        runs = relations.rows("runs")
        parts = [
            f"SELECT {column} AS id FROM {table}"
            + (f" WHERE list_contains({kinds}, kind)" if table == relations.FACTS else "")
            for table, (_stem, column) in snapshots.split().items()
            if table != runs
        ]
        rows = self.con.execute(
            f"SELECT DISTINCT id FROM ({' UNION ALL '.join(parts)}) "
            f"WHERE id NOT IN (SELECT run_id FROM {runs})"
        ).fetchall()
        snapshot = self.base.snapshot
        inherited = snapshot.runs_without_row - self._shadowed if snapshot else frozenset()
        return sorted({r[0] for r in rows} | inherited)
