"""A snapshot under the catalog's in-memory tables: each run-level table is a union view.

The catalog resolves segments into in-memory tables (``_runs``, ``_params``, ``_state``,
``_latest_metrics``, the wide ``_wide``...). With a snapshot (``snapshots.py``) those
tables hold only the tail: runs that the snapshot does not hold, and runs it holds that
the tail touched. Such a run is *shadowed*: before any of its new rows is merged, its
rows are copied from the snapshot into memory (:meth:`Overlay.hydrate`), so every merge
rule (first param wins, last event wins, the latest metric by step) runs on the whole
run exactly as without a snapshot, and the snapshot's rows of that run are hidden.

Each view ``<table>_v`` is then the snapshot's rows of the runs not shadowed, plus the
in-memory rows. Non-run facts (experiments, writers' heartbeats, the registry) are few:
they are read into memory whole when a snapshot is opened.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import weakref
from typing import TYPE_CHECKING, Final

from canvasback.store import events, liveness, snapshots, wide
from canvasback.store.catalog_tables import quote_identifier, sql_list

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from canvasback.store.fs import LocalFileSystem
    from canvasback.store.snapshots import Snapshot

SHADOW: Final = "_shadow"
WIDE_BASE: Final = "_wide_base"
WIDE_VIEW: Final = "_wide_v"
# Positions into the snapshot's wide rows stay valid while the epoch stays the same.
_EPOCHS = itertools.count()


def view_of(table: str) -> str:
    """The union view of a run-level table (``_params`` -> ``_params_v``)."""
    return f"{table}_v"


class Overlay:
    """The snapshot a catalog stands on (or none) and the views over it and memory."""

    def __init__(
        self, fs: LocalFileSystem, con: duckdb.DuckDBPyConnection, base: Snapshot | None
    ) -> None:
        self.fs = fs
        self.con = con
        self.base = base
        self.wide_base: pa.Table | None = None
        self._batches: list[pa.RecordBatch] | None = None
        self._shadowed: set[str] = set()  # as the shadow table holds them
        self._not_held: set[str] = set()  # ids found not to be runs of the snapshot
        self._tail = False  # the wide table in memory has had rows: the view unions it
        self._starts: list[int] = []
        self.epoch = next(_EPOCHS)
        """Changes when a snapshot row stops being the run's row (shadowed or hidden)."""
        # Cursors see the memory-mapped wide table only once it is registered in them.
        self._cursors: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
        con.execute(f"CREATE OR REPLACE TABLE {SHADOW} (id VARCHAR)")
        if base is not None:
            self.wide_base = snapshots.open_wide(fs, base)
            con.register(WIDE_BASE, self.wide_base)

    # -- files -----------------------------------------------------------------------
    def _source(self, stem: str) -> str:
        if self.base is None:
            msg = "no snapshot under this catalog"
            raise RuntimeError(msg)
        return f"read_parquet({sql_list([self.fs.local_path(self.base.rel(stem))])})"

    def load_whole(self) -> None:
        """Read the snapshot's small tables, and its non-run facts, into memory."""
        if self.base is None:
            return
        for table, stem in snapshots.WHOLE.items():
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {self._source(stem)}")
        self.con.execute(
            f"INSERT INTO _state BY NAME SELECT * FROM {self._source(snapshots.STATE_OTHER)}"
        )

    # -- views -----------------------------------------------------------------------
    def create_views(self) -> None:
        """(Re)create every union view; the wide one follows the wide table's columns."""
        for table, (stem, column) in snapshots.SPLIT.items():
            body = f"SELECT * FROM {table}"
            if self.base is not None:
                body = (
                    f"SELECT * FROM {self._source(stem)}{self._unshadowed(column)} "
                    f"UNION ALL BY NAME {body}"
                )
            self.con.execute(f"CREATE OR REPLACE VIEW {view_of(table)} AS {body}")
        self.create_wide_view()

    def create_wide_view(self, *, tail: bool = False) -> None:
        """(Re)create the wide view, when a key's column or the first row in memory comes.

        Until the wide table in memory has a row (``tail``), a search scans the snapshot's.
        """
        self._tail = self._tail or tail
        body = f"SELECT * FROM {wide.WIDE}"
        if self.base is not None:
            body = f"SELECT * FROM {WIDE_BASE}{self._unshadowed('run_id')}"
            if self._tail:
                body += f" UNION ALL BY NAME SELECT * FROM {wide.WIDE}"
        self.con.execute(f"CREATE OR REPLACE VIEW {WIDE_VIEW} AS {body}")

    def follow_tail(self) -> None:
        """After the wide table in memory changed: the view unions it once it has rows."""
        if self.base is not None and not self._tail:
            self.create_wide_view(tail=True)

    def _unshadowed(self, column: str) -> str:
        # No anti-join while nothing is shadowed: the usual tail holds only new runs.
        return f" WHERE {column} NOT IN (SELECT id FROM {SHADOW})" if self._shadowed else ""

    def attach(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Let a cursor of the catalog's connection read the views."""
        if self.wide_base is not None:
            cursor.register(WIDE_BASE, self.wide_base)
        self._cursors.add(cursor)

    def move_cursors(self, other: Overlay) -> None:
        """Hand the cursors to the overlay that replaces this one (a newer snapshot)."""
        for cursor in list(self._cursors):
            with contextlib.suppress(Exception):  # a cursor closed meanwhile
                other.attach(cursor)

    def pick(self, positions: list[int]) -> pa.Table:
        """Rows of the snapshot's wide table at these positions, in that order."""
        import pyarrow as pa  # noqa: PLC0415  # loaded with the snapshot

        if self.wide_base is None:
            msg = "no snapshot under this catalog"
            raise RuntimeError(msg)
        # Row by row from the record batches: Arrow's take on a chunked table would
        # first join the chunks, copying every column of the file.
        if self._batches is None:
            self._batches = self.wide_base.to_batches()
            self._starts = list(
                itertools.accumulate((b.num_rows for b in self._batches), initial=0)
            )
        by_batch: dict[int, list[tuple[int, int]]] = {}  # batch -> (place, row in batch)
        for place, position in enumerate(positions):
            i = bisect.bisect_right(self._starts, position) - 1
            by_batch.setdefault(i, []).append((place, position - self._starts[i]))
        parts, places = [], []
        for i, rows in by_batch.items():
            parts.append(self._batches[i].take(pa.array([row for _, row in rows])))
            places += [place for place, _ in rows]
        picked = pa.Table.from_batches(parts, self.wide_base.schema)
        # Taken batch by batch; put back in the order asked for.
        back = sorted(range(len(places)), key=places.__getitem__)
        return picked.take(pa.array(back, pa.int64()))

    def page(
        self,
        fields: list[tuple[str, str]],
        positions: list[int],
        types: dict[str, pa.DataType],
    ) -> pa.Table:
        """:meth:`pick` of columns ``(wide column, name)``, renamed; status as it reads.

        A key column newer than the snapshot is null here, of its type in ``types``.
        """
        import pyarrow as pa  # noqa: PLC0415  # loaded with the snapshot

        picked = self.pick(positions)
        columns = []
        for column, _ in fields:
            if column not in picked.column_names:
                columns.append(pa.chunked_array([pa.nulls(picked.num_rows, types[column])]))
                continue
            values = picked.column(column)
            if pa.types.is_dictionary(values.type):  # as the file keeps few-valued text
                values = values.cast(values.type.value_type)
            if column == "status":
                values = liveness.status_arrow(
                    values, picked.column("last_seen"), picked.column("heartbeat_ms")
                )
            columns.append(values)
        return pa.table(columns, names=[name for _, name in fields])

    def rows_of(
        self,
        fields: list[tuple[str, str]],
        picks: list[tuple[str, int | None]],
        types: dict[str, pa.DataType],
    ) -> pa.Table:
        """Columns ``(wide column, name)`` of runs, in the order of ``picks``.

        A run with a position (in the snapshot's file) is taken from the file, with no
        query; only those in memory (position None) are selected in DuckDB.
        """
        import pyarrow as pa  # noqa: PLC0415  # loaded with the snapshot or the query
        import pyarrow.compute as pc  # noqa: PLC0415

        fields = [("run_id", "_id"), *fields]
        positions = [p for _, p in picks if p is not None]
        in_memory = [run_id for run_id, p in picks if p is None]
        parts = [self.page(fields, positions, types)] if positions else []
        if in_memory or not parts:
            select = ", ".join(
                f"{liveness.status_sql('b') if column == 'status' else f'b.{column}'} "
                f"AS {quote_identifier(name)}"
                for column, name in fields
            )
            sql = f"SELECT {select} FROM {wide.WIDE} b WHERE b.run_id IN (SELECT unnest(?))"
            found = self.con.sql(sql, params=[in_memory]).to_arrow_table()
            parts.append(found.cast(parts[0].schema) if parts else found)
        table = pa.concat_tables(parts)
        if in_memory:  # the query's rows come in no given order
            wanted = pa.array([run_id for run_id, _ in picks], pa.string())
            table = table.take(pc.index_in(wanted, value_set=table.column("_id")).drop_null())
        return table.drop_columns(["_id"])

    # -- shadowing -------------------------------------------------------------------
    def hydrate(self, ids: list[str]) -> list[str]:
        """Copy the snapshot's rows of these runs (or entities) into memory.

        Returns the ids shadowed by this call (those not shadowed before).
        """
        fresh = self._unshadowed_runs(ids)
        if not fresh:
            return []
        con = self.con
        con.execute("CREATE OR REPLACE TEMP TABLE _hydrate AS SELECT unnest(?) AS id", [fresh])
        for table, (stem, column) in snapshots.SPLIT.items():
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM {self._source(stem)} "
                f"WHERE {column} IN (SELECT id FROM _hydrate)"
            )
        con.execute("DROP TABLE _hydrate")
        self._shadow(fresh)
        return fresh

    def _unshadowed_runs(self, ids: list[str]) -> list[str]:
        """Those of ``ids`` that are runs the snapshot holds rows of, not shadowed yet.

        The snapshot's wide table holds its runs, and its manifest lists those it holds
        rows of but no run row: their rows too are the snapshot's, and must be hidden
        before a row of theirs is merged.
        """
        import pyarrow as pa  # noqa: PLC0415  # loaded with the snapshot
        import pyarrow.compute as pc  # noqa: PLC0415

        ids = [i for i in set(ids) if i not in self._shadowed and i not in self._not_held]
        if self.base is None or self.wide_base is None or not ids:
            return []
        column = self.wide_base.column("run_id")
        found = pc.filter(column, pc.is_in(column, value_set=pa.array(ids, pa.string())))
        held = [str(v) for v in found.to_pylist()]
        held += [i for i in ids if i in self.base.runs_without_row]
        # A run the snapshot lacks stays new to it: its next rows need no scan of the ids.
        self._not_held.update(set(ids).difference(held))
        return held

    def runs_without_row(self) -> list[str]:
        """Runs the catalog holds rows of (params, events, ...) but no run row.

        Those in memory, and the snapshot's own not shadowed (a shadowed run's rows are
        all in memory). A snapshot lists them: a reader of it then knows their rows
        are the snapshot's.
        """
        kinds = sql_list(list(snapshots.RUN_EVENT_KINDS))
        parts = [
            f"SELECT {column} AS id FROM {table}"
            + (f" WHERE list_contains({kinds}, kind)" if table == events.STATE_TABLE else "")
            for table, (_stem, column) in snapshots.SPLIT.items()
            if table != "_runs"
        ]
        rows = self.con.execute(
            f"SELECT DISTINCT id FROM ({' UNION ALL '.join(parts)}) "
            "WHERE id NOT IN (SELECT run_id FROM _runs)"
        ).fetchall()
        inherited = self.base.runs_without_row - self._shadowed if self.base else frozenset()
        return sorted({r[0] for r in rows} | inherited)

    def _shadow(self, ids: list[str]) -> None:
        first = not self._shadowed
        self.con.execute(f"INSERT INTO {SHADOW} SELECT unnest(?)", [ids])
        self._shadowed.update(ids)
        self.epoch = next(_EPOCHS)
        if first:
            self.create_views()

    def resync(self) -> None:
        """After a rolled-back merge: what is shadowed is what the table says."""
        rows = self.con.execute(f"SELECT id FROM {SHADOW}").fetchall() if self.base else []
        was = bool(self._shadowed)
        self._shadowed = {r[0] for r in rows}
        self.epoch = next(_EPOCHS)
        if was != bool(self._shadowed):
            self.create_views()

    def running_of_writers(self, writers: list[str]) -> list[str]:
        """Runs the snapshot holds as RUNNING by these writers (a heartbeat moves them)."""
        if self.base is None or not writers:
            return []
        rows = self.con.execute(
            f"SELECT entity_id FROM {self._source('state_runs')} WHERE kind = 'status' "
            "AND value = 'RUNNING' AND list_contains(?, writer)",
            [writers],
        ).fetchall()
        return [r[0] for r in rows]

    def hide(self, run_ids: list[str]) -> None:
        """Hide the snapshot's rows of runs purged from the store."""
        fresh = self._unshadowed_runs(run_ids)
        if fresh:
            self._shadow(fresh)


def snapshot_sources() -> dict[str, str]:
    """What a snapshot's files hold: file stem -> the SELECT over the catalog's state."""
    kinds = sql_list(list(snapshots.RUN_EVENT_KINDS))
    sources = {
        stem: f"SELECT * FROM {view_of(table)} ORDER BY {column}"
        for table, (stem, column) in snapshots.SPLIT.items()
        if table != events.STATE_TABLE
    }
    sources["state_runs"] = (
        f"SELECT * FROM {view_of(events.STATE_TABLE)} WHERE list_contains({kinds}, kind) "
        "ORDER BY entity_id, kind, key"
    )
    sources[snapshots.STATE_OTHER] = (
        f"SELECT * FROM {events.STATE_TABLE} WHERE NOT list_contains({kinds}, kind)"
    )
    for table, stem in snapshots.WHOLE.items():
        sources[stem] = f"SELECT * FROM {table}"
    sources["wide"] = f"SELECT * FROM {WIDE_VIEW} ORDER BY run_id"
    return sources
