"""A page of the wide run table: the snapshot's rows by position, the memory's by query.

A search orders run ids and snapshot positions (``Catalog.position_of``), then takes
its page's rows here: those of the snapshot straight from its memory-mapped Arrow file,
in Arrow with no query, and only the rows built in memory from one query. The status
reads as the stale rule says (``liveness.py``).
"""

from __future__ import annotations

import bisect
import itertools
from typing import TYPE_CHECKING

from canvasback.store import liveness
from canvasback.store.read import relations
from canvasback.store.read.catalog_tables import quote_identifier

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from canvasback.store.read.base import SnapshotBase


def select_list(fields: list[tuple[str, str]]) -> str:
    """SELECT list of columns ``(wide column, name)`` of the wide row ``b``, as named.

    The status reads as the stale rule says.
    """
    return ", ".join(
        f"{liveness.status_sql('b') if column == 'status' else f'b.{column}'} "
        f"AS {quote_identifier(name)}"
        for column, name in fields
    )


class WidePages:
    """Pages of a catalog's wide rows over its snapshot base."""

    def __init__(self, con: duckdb.DuckDBPyConnection, base: SnapshotBase) -> None:
        self.con = con
        self.base = base
        self._batches: list[pa.RecordBatch] | None = None
        self._starts: list[int] = []

    def pick(self, positions: list[int]) -> pa.Table:
        """Rows of the snapshot's wide table at these positions, in that order."""
        import pyarrow as pa  # noqa: PLC0415  # loaded with the snapshot

        wide = self.base.wide
        if wide is None:
            msg = "no snapshot under this catalog"
            raise RuntimeError(msg)
        # Row by row from the record batches: Arrow's take on a chunked table would
        # first join the chunks, copying every column of the file.
        if self._batches is None:
            self._batches = wide.to_batches()
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
        picked = pa.Table.from_batches(parts, wide.schema)
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
            select = select_list(fields)
            sql = f"SELECT {select} FROM {relations.WIDE} b WHERE b.run_id IN (SELECT unnest(?))"
            found = self.con.sql(sql, params=[in_memory]).to_arrow_table()
            parts.append(found.cast(parts[0].schema) if parts else found)
        table = pa.concat_tables(parts)
        if in_memory:  # the query's rows come in no given order
            wanted = pa.array([run_id for run_id, _ in picks], pa.string())
            table = table.take(pc.index_in(wanted, value_set=table.column("_id")).drop_null())
        return table.drop_columns(["_id"])
