"""A run table's runs: filtered and sorted in DuckDB, cut into pages.

The values come from the catalog's wide run table (one row per run, one column per key),
read where it lies: the snapshot's memory-mapped rows and the tail in memory. A
:class:`RunSet` keeps one DuckDB temp table in its own cursor on the store's catalog (a
cursor has its own temp schema, so ``canvasback.sql`` never sees it): the *order*
``(pos, run_id, src)`` of the runs that pass the filter, rebuilt when the filter or sort
changes. ``src`` is the run's position in the snapshot's file, so a page at any offset
is a range of ``pos`` whose rows are taken straight from the mapped file; no run's
columns are copied.

Every value goes into SQL as a bound parameter; the only identifiers built from user
text are quoted column names.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from canvasback.query import metric_goal
from canvasback.query.filter import ATTRIBUTES
from canvasback.query.search import ENTITY_PREFIX, filtered_where, sort_terms
from canvasback.store import liveness, schema
from canvasback.store.read.relations import RUNS_WIDE

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pyarrow as pa

    from canvasback.query.filter import Entity, Expr
    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog
    from canvasback.store.read.cursors import Cursor

ColumnType = Literal["number", "text", "time", "status"]

PREFIXES: Final[dict[str, Entity]] = {"metrics": "metric", "params": "param", "tags": "tag"}
_ATTRIBUTE_TYPES: Final[dict[str, ColumnType]] = {
    "start_time": "time",
    "end_time": "time",
    "status": "status",
}
TABLE_ATTRIBUTES: Final = tuple(
    a for a in schema.RUN_ATTRIBUTES if a not in ("lifecycle_stage", "artifact_uri")
)
"""Attributes offered as columns: lifecycle_stage is always "active" in the table, and
artifact_uri is a long path nobody sorts by (both still filter)."""

RUN_NAME_TAG: Final = schema.RUN_NAME_TAG


@dataclass(frozen=True)
class Column:
    """A table column: ``metrics.acc``, ``params.lr``, ``tags.team`` or an attribute."""

    name: str
    entity: Entity
    key: str


def parse_column(name: str) -> Column:
    """The column a name stands for; ValueError for anything else."""
    prefix, dot, key = name.partition(".")
    if dot and key and prefix in PREFIXES:
        return Column(name, PREFIXES[prefix], key)
    if name in ATTRIBUTES:
        return Column(name, "attribute", name)
    msg = (
        f"unknown column {name!r}: use metrics.<key>, params.<key>, tags.<key> "
        f"or one of {', '.join(ATTRIBUTES)}"
    )
    raise ValueError(msg)


def attribute_type(key: str) -> ColumnType:
    """How the front end shows an attribute."""
    return _ATTRIBUTE_TYPES.get(key, "text")


@dataclass(frozen=True)
class SortKey:
    """One sort column and its direction."""

    column: Column
    descending: bool


class _Values:
    """Maps (entity, key) to a SQL value on the catalog's wide run table (alias ``w``).

    As a filter's column function it hides NaN metrics (NaN compares with nothing, as in
    search_runs); :meth:`raw` gives the stored value, for sorting.
    """

    def __init__(self, catalog: Catalog, alias: str = "w") -> None:
        self.catalog = catalog
        self.alias = alias

    def __call__(self, entity: Entity, key: str) -> str:
        value = self.raw(entity, key)
        return f"nullif({value}, 'NaN'::DOUBLE)" if entity == "metric" else value

    def raw(self, entity: Entity, key: str) -> str:
        """The value as stored, NaN included; attributes as the table shows them."""
        w = self.alias
        if entity == "attribute":
            if key == "status":
                return liveness.status_sql(w)
            if key == "run_name":
                run_name = self.catalog.key_column(f"tags.{RUN_NAME_TAG}")
                return f"coalesce({w}.{run_name}, {w}.run_name)" if run_name else f"{w}.run_name"
            return f"{w}.{key}"
        stored = self.catalog.key_column(f"{ENTITY_PREFIX[entity]}.{key}")
        if stored is None:  # no run has it: every run is missing it
            return "NULL::DOUBLE" if entity == "metric" else "NULL::VARCHAR"
        return f"{w}.{stored}"


class RunSet:
    """A widget's runs: the scope, the current order, and the queries over them.

    Parameters
    ----------
    store
        The store whose catalog is queried; :meth:`refresh` loads new files from disk.

    """

    def __init__(self, store: Store) -> None:
        self.store = store
        token = secrets.token_hex(6)
        self.order = f"_canvasback_order_{token}"
        self.held = f"_canvasback_held_{token}"
        self._held: list[str] = []
        self.scope: list[str] = []
        self.total = 0
        self._where: tuple[str, list[Any]] = ("false", [])
        self._epoch: int | None = None
        self._cursor: Cursor | None = None

    # -- plumbing --------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        """The store's catalog (created on first use, not refreshed)."""
        return self.store.catalog

    def _con(self) -> Cursor:
        if self._cursor is None:
            self._cursor = self.catalog.cursor()
        return self._cursor

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query in this table's cursor and return Arrow."""
        return self._con().arrow(sql, params)

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query in this table's cursor and return tuples."""
        return self._con().rows(sql, params)

    def refresh(self) -> None:
        """Load what other processes (and this one) wrote since the last read."""
        self.store.read()

    def close(self) -> None:
        """Close the cursor; its temp tables go with it."""
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        self._held = []

    def source(self) -> tuple[str, list[Any]]:
        """FROM clause of the runs that pass the filter (alias ``w``), and its parameters.

        A filtered scan of the wide run table: aggregating over it costs a tenth of
        joining the order's million ids back to their rows.
        """
        where, params = self._where
        return f"{RUNS_WIDE} w WHERE {where}", list(params)

    def value(self, column: Column) -> str:
        """SQL value of a column on alias ``w`` (NULL where no run has the key)."""
        values = _Values(self.catalog)
        return values.raw(column.entity, column.key)

    # -- scope and order -------------------------------------------------------------
    def load(self, experiment_ids: list[str]) -> None:
        """Show the active runs of these experiments (all if empty) from the next rebuild."""
        self.scope = list(experiment_ids)

    def rebuild(self, expr: Expr | None, sort: list[SortKey]) -> int:
        """Filter and sort the runs in scope into the order table; returns the count.

        Runs without a value sort last; ties go to the newest run, then by id, as in
        MLflow.
        """
        catalog = self.catalog
        values = _Values(catalog)
        where, params = filtered_where("ACTIVE_ONLY", "w", self.scope or None, expr, values)
        order: list[str] = []
        for key in sort:
            value = values.raw(key.column.entity, key.column.key)
            order += sort_terms(key.column.entity, value, descending=key.descending)
        order += ["w.start_time DESC NULLS LAST", "w.run_id"]
        condition = " AND ".join(where)

        def build() -> int:
            # Stored in pos order, so that a page's range on pos reads one stretch of rows.
            self.rows(
                f"""
                CREATE OR REPLACE TEMP TABLE {self.order} AS
                SELECT (row_number() OVER (ORDER BY {", ".join(order)}) - 1)::INTEGER AS pos,
                       w.run_id, {catalog.position_of("w")} AS src
                FROM {RUNS_WIDE} w WHERE {condition}
                ORDER BY pos
                """,
                params,
            )
            # The positions hold for the catalog's state they were read in.
            self._epoch = catalog.wide_epoch
            return int(self.rows(f"SELECT count(*) FROM {self.order}")[0][0])

        self.total = catalog.atomically(build)
        self._where = (condition, params)
        return self.total

    def ids(self, start: int = 0, stop: int | None = None) -> list[str]:
        """Run ids at positions ``start`` (inclusive) to ``stop`` (exclusive), in order."""
        stop = self.total if stop is None else stop
        rows = self.rows(
            f"SELECT run_id FROM {self.order} WHERE pos >= ? AND pos < ? ORDER BY pos",
            [max(start, 0), max(stop, 0)],
        )
        return [r[0] for r in rows]

    def newest(self, limit: int) -> list[str]:
        """The ``limit`` newest runs that pass the filter, newest first, whatever the order."""
        source, params = self.source()
        rows = self.rows(
            f"SELECT w.run_id FROM {source} "
            "ORDER BY w.start_time DESC NULLS LAST, w.run_id LIMIT ?",
            [*params, max(limit, 0)],
        )
        return [r[0] for r in rows]

    def order_of(self, run_ids: list[str]) -> list[str]:
        """``run_ids`` in table order; those filtered out follow, in the given order."""
        rows = self.rows(
            f"SELECT run_id FROM {self.order} WHERE list_contains(?, run_id) ORDER BY pos",
            [run_ids],
        )
        shown = [r[0] for r in rows]
        seen = set(shown)
        return shown + [r for r in run_ids if r not in seen]

    def count_shown(self, run_ids: list[str]) -> int:
        """How many of ``run_ids`` pass the filter (the rest are hidden by it).

        The ids stay in a temp table of the cursor until other ids are asked about: a
        table's selection is counted again at every change of the filter, and sending a
        million ids to DuckDB takes a second where joining them takes milliseconds.
        """
        if not run_ids:
            return 0
        if run_ids != self._held:
            self.rows(
                f"CREATE OR REPLACE TEMP TABLE {self.held} AS "
                "SELECT DISTINCT unnest(?::VARCHAR[]) AS run_id",
                [run_ids],
            )
            self._held = list(run_ids)
        # A semi join: list_contains would scan the whole list once per run.
        rows = self.rows(
            f"SELECT count(*) FROM {self.order} WHERE run_id IN (SELECT run_id FROM {self.held})"
        )
        return int(rows[0][0])

    def page(self, offset: int, limit: int, columns: Iterable[Column]) -> pa.Table:
        """Rows ``offset``..``offset + limit``: ``run_id`` and each of ``columns``."""
        start = max(offset, 0)
        picks = self.rows(
            f"SELECT run_id, src FROM {self.order} WHERE pos >= ? AND pos < ? ORDER BY pos",
            [start, start + max(limit, 0)],
        )
        return self._rows(picks, columns)

    def rows_of(self, run_ids: list[str], columns: Iterable[Column]) -> pa.Table:
        """The rows of ``run_ids`` the table shows, in table order, with :meth:`page`'s columns."""
        picks = self.rows(
            f"SELECT run_id, src FROM {self.order} WHERE list_contains(?, run_id) ORDER BY pos",
            [run_ids],
        )
        return self._rows(picks, columns)

    def _rows(self, picks: list[tuple[Any, ...]], columns: Iterable[Column]) -> pa.Table:
        """``run_id`` and ``columns`` of the picked runs, in the order picked."""
        import pyarrow as pa  # noqa: PLC0415  # loaded with the catalog
        import pyarrow.compute as pc  # noqa: PLC0415

        catalog = self.catalog
        run_name_tag = catalog.key_column(f"tags.{RUN_NAME_TAG}")
        wanted = [c for c in columns if c.name != "run_id"]
        fields = [("run_id", "run_id")]
        for column in wanted:
            stored = column.key if column.entity == "attribute" else catalog.key_column(column.name)
            if stored is not None:
                fields.append((stored, column.name))
        if run_name_tag is not None:
            fields.append((run_name_tag, RUN_NAME_TAG))
        picked = [(str(r[0]), None if r[1] is None else int(r[1])) for r in picks]
        table = catalog.wide_page(fields, picked, self._epoch)
        out = [table.column("run_id")]
        for column in wanted:
            if column.name not in table.column_names:  # no run has the key
                kind = pa.float64() if column.entity == "metric" else pa.string()
                out.append(pa.chunked_array([pa.nulls(table.num_rows, kind)]))
            elif column.name == "run_name" and run_name_tag is not None:
                # The name set by a tag wins over the one the run began with, as in MLflow.
                out.append(pc.coalesce(table.column(RUN_NAME_TAG), table.column("run_name")))
            else:
                out.append(table.column(column.name))
        return pa.table(out, names=["run_id", *(c.name for c in wanted)])

    # -- what columns exist ----------------------------------------------------------
    def available(self, experiment_ids: list[str]) -> list[dict[str, Any]]:
        """Every column the runs of these experiments (all if empty) could show.

        Each is ``{"name", "entity", "type"}``; a param is ``number`` when every logged
        value parses as one, so the front end aligns it as a number. A metric whose
        better direction is known (:mod:`canvasback.query.metric_goal`: a sweep's goal,
        else its name) also has ``"better": "lower"`` or ``"higher"``.
        """
        # One scan of the catalog's wide run table (a column per key) summarises them all.
        catalog = self.catalog
        scope, params = "true", []
        if experiment_ids:
            scope, params = "list_contains(?, b.experiment_id)", [experiment_ids]
        names = catalog.key_columns()
        aggregates = []
        for name in names:
            value = f"b.{catalog.key_column(name)}"
            numeric = "false"
            if name.startswith("metrics."):
                numeric = "true"
            elif name.startswith("params."):
                # Counting the values that parse reads each value once, as bool_and would.
                numeric = f"count(TRY_CAST({value} AS DOUBLE)) = count({value})"
            aggregates += [f"count({value})", numeric]
        sweep_goal = catalog.key_column(f"tags.{metric_goal.SWEEP_METRIC_TAG}")
        if sweep_goal is not None:
            aggregates.append(
                f"list(DISTINCT b.{sweep_goal}) FILTER (WHERE b.{sweep_goal} IS NOT NULL)"
            )
        found = (
            self.rows(f"SELECT {', '.join(aggregates)} FROM {RUNS_WIDE} b WHERE {scope}", params)[0]
            if names
            else ()
        )
        declared = metric_goal.declared_goals(found[-1] or ()) if sweep_goal is not None else {}
        out: list[dict[str, Any]] = [
            {"name": key, "entity": "attribute", "type": attribute_type(key)}
            for key in TABLE_ATTRIBUTES
        ]
        for i, name in enumerate(names):
            if not found[2 * i]:
                continue
            prefix, _, key = name.partition(".")
            column: dict[str, Any] = {
                "name": name,
                "entity": PREFIXES[prefix],
                "type": "number" if found[2 * i + 1] else "text",
            }
            goal = metric_goal.better(key, declared) if prefix == "metrics" else None
            if goal is not None:
                column["better"] = goal
            out.append(column)
        return out
