"""A run table's runs: filtered and sorted in DuckDB, cut into pages.

A :class:`RunSet` keeps two DuckDB temp tables in its own cursor on the store's catalog
(a cursor has its own temp schema, so ``canvasback.sql`` never sees them):

* the *wide* table: one row per run in scope, with an integer ``rid``, every attribute
  and one column per metric, param or tag shown. Joining the catalog's string-keyed
  long tables is what costs time at 100,000 runs, so it happens here, once per column
  set, scope or refresh;
* the *order* table ``(rid, pos)``: the runs that pass the filter, in sort order,
  rebuilt when the filter or sort changes, from the wide table's columns.

A page at any offset is then a range scan on ``pos`` joined on the integer ``rid``.
Every value goes into SQL as a bound parameter; the only identifiers built from user
text are quoted column names.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from canvasback.store import layout, liveness
from canvasback.tracking.filter import ATTRIBUTES
from canvasback.tracking.filter_sql import compile_filter
from canvasback.tracking.queries.search import quote_identifier

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pyarrow as pa

    from canvasback.store import Store
    from canvasback.store.cursors import Cursor
    from canvasback.store.reader import Catalog
    from canvasback.tracking.filter import Entity, Expr

ColumnType = Literal["number", "text", "time", "status"]

PREFIXES: Final[dict[str, Entity]] = {"metrics": "metric", "params": "param", "tags": "tag"}
ENTITY_TABLES: Final[dict[str, str]] = {
    "metric": "latest_metrics",
    "param": "params",
    "tag": "tags",
}
_ATTRIBUTE_TYPES: Final[dict[str, ColumnType]] = {
    "start_time": "time",
    "end_time": "time",
    "status": "status",
}
TABLE_ATTRIBUTES: Final = tuple(
    a for a in layout.RUN_ATTRIBUTES if a not in ("lifecycle_stage", "artifact_uri")
)
"""Attributes offered as columns: lifecycle_stage is always "active" in the table, and
artifact_uri is a long path nobody sorts by (both still filter)."""

RUN_NAME_TAG: Final = "mlflow.runName"


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
    """Maps (entity, key) to a SQL value on wide-table alias ``w``, joining what it lacks.

    As a filter's column function it hides NaN metrics (NaN compares with nothing, as in
    search_runs); :meth:`raw` gives the stored value, for sorting.
    """

    def __init__(self, held: dict[str, Column], physical: dict[str, str]) -> None:
        self.held = held
        self.physical = physical
        self.joins: list[str] = []
        self.params: list[Any] = []
        self._aliases: dict[tuple[str, str], str] = {}

    def __call__(self, entity: Entity, key: str) -> str:
        value = self.raw(entity, key)
        return f"nullif({value}, 'NaN'::DOUBLE)" if entity == "metric" else value

    def raw(self, entity: Entity, key: str) -> str:
        """The value as stored, NaN included."""
        if entity == "attribute":
            return f"w.{key}"
        for column in self.held.values():
            if (column.entity, column.key) == (entity, key):
                return f"w.{self.physical[column.name]}"
        alias = self._aliases.get((entity, key))
        if alias is None:
            alias = self._aliases[(entity, key)] = f"j{len(self._aliases)}"
            self.joins.append(
                f"LEFT JOIN (SELECT run_id, value FROM {ENTITY_TABLES[entity]} WHERE key = ?) "
                f"{alias} ON {alias}.run_id = w.run_id"
            )
            self.params.append(key)
        return f"{alias}.value"


class RunSet:
    """A widget's runs: the wide table, the current order, and the queries over them.

    Parameters
    ----------
    store
        The store whose catalog is queried; :meth:`refresh` loads new files from disk.

    """

    def __init__(self, store: Store) -> None:
        self.store = store
        tag = secrets.token_hex(6)
        self.wide = f"_canvasback_runs_{tag}"
        self.order = f"_canvasback_order_{tag}"
        self.held: dict[str, Column] = {}
        """Metric, param and tag columns the wide table holds, by name."""
        self.physical: dict[str, str] = {}
        """The wide table's column of each held name."""
        self.scope: list[str] = []
        self.total = 0
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

    def source(self) -> str:
        """FROM clause of the ordered runs: alias ``s`` (rid, pos) joined to ``w`` (wide)."""
        return f"{self.order} s JOIN {self.wide} w ON w.rid = s.rid"

    def value(self, column: Column) -> str | None:
        """SQL value of a column on alias ``w``; None if the wide table lacks it."""
        if column.entity == "attribute":
            return f"w.{column.key}"
        if column.name in self.held:
            return f"w.{self.physical[column.name]}"
        return None

    # -- the wide table --------------------------------------------------------------
    def lacks(self, columns: Iterable[Column]) -> bool:
        """Whether a metric, param or tag column is missing from the wide table."""
        return any(c.entity != "attribute" and c.name not in self.held for c in columns)

    def load(self, experiment_ids: list[str], columns: Iterable[Column]) -> None:
        """Build the wide table of the active runs of these experiments (all if empty).

        ``rid`` numbers the runs newest first (then by id): the default order, and the
        tie-breaker of every sort, as in MLflow. Rows are joined on ``rid`` by hash, so
        the table's own row order does not matter and is not paid for. The values come
        from the catalog's wide run table (one column per key): one scan, no pivot.
        """
        catalog = self.catalog
        held = {c.name: c for c in columns if c.entity != "attribute"}
        # Numbered, not named: keys are case-sensitive, DuckDB's column names are not.
        physical = {name: f"c{i}" for i, name in enumerate(held)}
        scope, params = "true", []
        if experiment_ids:
            scope, params = "list_contains(?, b.experiment_id)", [experiment_ids]
        selects = []
        for name, column in held.items():
            stored = catalog.key_column(name)
            missing = "NULL::DOUBLE" if column.entity == "metric" else "NULL::VARCHAR"
            selects.append(f"{f'b.{stored}' if stored else missing} AS {physical[name]}")
        run_name = catalog.key_column(f"tags.{RUN_NAME_TAG}")
        named = f"coalesce(b.{run_name}, b.run_name)" if run_name else "b.run_name"
        attributes = [
            f"{liveness.status_sql('b')} AS status" if a == "status" else f"b.{a}"
            for a in ATTRIBUTES
            if a != "run_name"
        ]
        self.rows(
            f"""
            CREATE OR REPLACE TEMP TABLE {self.wide} AS
            SELECT (row_number() OVER (ORDER BY b.start_time DESC NULLS LAST, b.run_id) - 1)
                       ::INTEGER AS rid,
                   {named} AS run_name, {", ".join(attributes)}
                   {"".join(", " + s for s in selects)}
            FROM {catalog.runs_table} b
            WHERE b.lifecycle_stage = 'active' AND {scope}
            """,
            params,
        )
        self.held = held
        self.physical = physical
        self.scope = list(experiment_ids)

    # -- the order -------------------------------------------------------------------
    def rebuild(self, expr: Expr | None, sort: list[SortKey]) -> int:
        """Filter and sort the wide table's runs into the order table; returns the count.

        A filter or sort on a column the wide table lacks joins it here instead.
        """
        values = _Values(self.held, self.physical)
        where = ["true"]
        where_params: list[Any] = []
        if expr is not None:
            sql, params = compile_filter(expr, values)
            where = [f"({sql})"]
            where_params = params
        order: list[str] = []
        for key in sort:
            value = values.raw(key.column.entity, key.column.key)
            direction = "DESC" if key.descending else "ASC"
            if key.column.entity == "param":  # numbers by value, then text, as search_runs
                order.append(f"TRY_CAST({value} AS DOUBLE) {direction} NULLS LAST")
            elif key.column.entity == "metric":  # NaN after every number either way, as MLflow
                order.append(f"isnan({value}) NULLS LAST")
            order.append(f"{value} {direction} NULLS LAST")
        order.append("w.rid")
        # Stored in pos order, so that a page's range on pos reads one stretch of rows.
        self.rows(
            f"""
            CREATE OR REPLACE TEMP TABLE {self.order} AS
            SELECT w.rid, (row_number() OVER (ORDER BY {", ".join(order)}) - 1)::INTEGER AS pos
            FROM {self.wide} w {" ".join(values.joins)}
            WHERE {" AND ".join(where)}
            ORDER BY pos
            """,
            [*values.params, *where_params],
        )
        self.total = int(self.rows(f"SELECT count(*) FROM {self.order}")[0][0])
        return self.total

    def ids(self, start: int = 0, stop: int | None = None) -> list[str]:
        """Run ids at positions ``start`` (inclusive) to ``stop`` (exclusive), in order."""
        stop = self.total if stop is None else stop
        rows = self.rows(
            f"SELECT w.run_id FROM {self.source()} WHERE s.pos >= ? AND s.pos < ? ORDER BY s.pos",
            [max(start, 0), max(stop, 0)],
        )
        return [r[0] for r in rows]

    def order_of(self, run_ids: list[str]) -> list[str]:
        """``run_ids`` in table order; those filtered out follow, in the given order."""
        rows = self.rows(
            f"SELECT w.run_id FROM {self.source()} WHERE list_contains(?, w.run_id) ORDER BY s.pos",
            [run_ids],
        )
        shown = [r[0] for r in rows]
        seen = set(shown)
        return shown + [r for r in run_ids if r not in seen]

    def page(self, offset: int, limit: int, columns: Iterable[Column]) -> pa.Table:
        """Rows ``offset``..``offset + limit``: ``run_id`` and each column the table holds."""
        selects = ["w.run_id"]
        for column in columns:
            value = self.value(column)
            if value is not None and column.name != "run_id":
                selects.append(f"{value} AS {quote_identifier(column.name)}")
        start = max(offset, 0)
        return self.arrow(
            f"""
            SELECT {", ".join(selects)}
            FROM (SELECT rid, pos FROM {self.order} WHERE pos >= ? AND pos < ?) s
            JOIN {self.wide} w ON w.rid = s.rid
            ORDER BY s.pos
            """,
            [start, start + max(limit, 0)],
        )

    def rows_of(self, run_ids: list[str], columns: Iterable[Column]) -> pa.Table:
        """The rows of ``run_ids`` the table shows, in table order, with :meth:`page`'s columns."""
        selects = ["w.run_id"]
        for column in columns:
            value = self.value(column)
            if value is not None and column.name != "run_id":
                selects.append(f"{value} AS {quote_identifier(column.name)}")
        fields = ", ".join(selects)
        return self.arrow(
            f"SELECT {fields} FROM {self.source()} WHERE list_contains(?, w.run_id) ORDER BY s.pos",
            [run_ids],
        )

    # -- what columns exist ----------------------------------------------------------
    def available(self, experiment_ids: list[str]) -> list[dict[str, Any]]:
        """Every column the runs of these experiments (all if empty) could show.

        Each is ``{"name", "entity", "type", "distinct"}``; a param is ``number`` when
        every logged value parses as one, so the front end aligns it as a number.
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
            if name.startswith("metrics."):
                aggregates += [f"count({value})", "true", "NULL::BIGINT"]
                continue
            numeric = "false"
            if name.startswith("params."):
                numeric = (
                    f"bool_and(TRY_CAST({value} AS DOUBLE) IS NOT NULL) "
                    f"FILTER (WHERE {value} IS NOT NULL)"
                )
            aggregates += [f"count({value})", numeric, f"count(DISTINCT {value})"]
        found = (
            self.rows(
                f"SELECT {', '.join(aggregates)} FROM {catalog.runs_table} b WHERE {scope}", params
            )[0]
            if names
            else ()
        )
        rows = [
            (PREFIXES[name.split(".", 1)[0]], name.split(".", 1)[1], *found[3 * i + 1 : 3 * i + 3])
            for i, name in enumerate(names)
            if found[3 * i]
        ]
        prefix = {entity: name for name, entity in PREFIXES.items()}
        out: list[dict[str, Any]] = [
            {"name": key, "entity": "attribute", "type": attribute_type(key), "distinct": None}
            for key in TABLE_ATTRIBUTES
        ]
        out += [
            {
                "name": f"{prefix[entity]}.{key}",
                "entity": entity,
                "type": "number" if numeric else "text",
                "distinct": distinct,
            }
            for entity, key, numeric, distinct in rows
        ]
        return out
