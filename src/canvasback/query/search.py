"""Run search: a filter, an order and a page, over the catalog's wide run table.

Every value goes into SQL as a bound parameter; identifiers that are built from keys are
quoted. Column names of the search frame follow MLflow (``metrics.acc``, ``params.lr``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from canvasback.exceptions import InvalidInputError
from canvasback.query import answers
from canvasback.query import filter as run_filter
from canvasback.query.filter_sql import compile_filter
from canvasback.query.runs import LIFECYCLE_FILTER, view_type
from canvasback.store import liveness, schema
from canvasback.store.read import pages
from canvasback.store.read.relations import RUNS_WIDE
from canvasback.store.read.wide import READ_FROM

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    import pyarrow as pa

    from canvasback._config import StoreAddress
    from canvasback.store.read.catalog import Catalog

ENTITY_PREFIX: Final = {"metric": "metrics", "param": "params", "tag": "tags"}
SEARCHED_TABLES: Final = READ_FROM
"""The tables a run search reads (through the wide run table): a store's read for one
refreshes these alone (``Store.read``)."""
# MLflow's frame shows these attributes, in this order, before the key columns.
_FRAME_ATTRIBUTES: Final = (
    "run_id",
    "experiment_id",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
    "run_name",
    "lifecycle_stage",
)
assert set(_FRAME_ATTRIBUTES) <= set(schema.RUN_ATTRIBUTES)  # noqa: S101  # one list of attributes


class _Columns:
    """Columns of the wide run table for the (entity, key) pairs a filter or order uses."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def raw(self, entity: str, key: str) -> str:
        """The value as stored, NaN included (for ordering)."""
        if entity == "attribute":
            return liveness.status_sql("b") if key == "status" else f"b.{key}"
        column = self.catalog.key_column(f"{ENTITY_PREFIX[entity]}.{key}")
        if column is None:  # no run has it: every run is missing it
            return "NULL::DOUBLE" if entity == "metric" else "NULL::VARCHAR"
        return f"b.{column}"

    def __call__(self, entity: str, key: str) -> str:
        col = self.raw(entity, key)
        if entity == "metric":  # NaN compares with nothing (IEEE), and sorts last
            return f"nullif({col}, 'NaN'::DOUBLE)"
        return col


def check_page_size(name: str, value: object) -> None:
    """Refuse a ``max_results`` or ``offset`` that is not a non-negative 64-bit integer."""
    if value is not None and (not isinstance(value, int) or not 0 <= value <= schema.INT64_MAX):
        msg = (
            f"Invalid {name} {value!r}: a non-negative integer up to {schema.INT64_MAX} is required"
        )
        raise InvalidInputError(msg)


def filtered_where(
    view: object,
    alias: str,
    experiment_ids: list[str] | None,
    expr: run_filter.Expr | None,
    columns: Callable[[run_filter.Entity, str], str],
) -> tuple[list[str], list[Any]]:
    """WHERE terms and their parameters: lifecycle view, experiments, a parsed filter.

    Runs and experiments are filtered alike; ``alias`` is the table whose
    ``experiment_id`` is scoped, ``columns`` maps the filter's keys.
    """
    where = [LIFECYCLE_FILTER[view_type(view)]]
    params: list[Any] = []
    if experiment_ids is not None:
        where.append(f"list_contains(?, {alias}.experiment_id)")
        params.append(experiment_ids)
    if expr is not None:
        sql, filter_params = compile_filter(expr, columns)
        where.append(f"({sql})")
        params.extend(filter_params)
    return where, params


def sort_terms(entity: str, value: str, *, descending: bool) -> list[str]:
    """ORDER BY terms of one sort key over ``value``; runs without a value sort last."""
    direction = "DESC" if descending else "ASC"
    if entity == "param":  # numbers by value, then text
        return [
            f"TRY_CAST({value} AS DOUBLE) {direction} NULLS LAST",
            f"{value} {direction} NULLS LAST",
        ]
    if entity == "metric":  # NaN after every number either way, as in MLflow
        return [f"isnan({value}) NULLS LAST", f"{value} {direction} NULLS LAST"]
    return [f"{value} {direction} NULLS LAST"]


def select_runs(
    catalog: Catalog,
    *,
    experiment_ids: list[str] | None,
    filter_string: str | None = None,
    run_view_type: object = "ACTIVE_ONLY",
    order_by: list[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[str]:
    """Ids of the runs that match a filter, in the requested order (a page of them).

    ``experiment_ids=None`` means every experiment. Runs without a value in an ordering
    column sort last; ties go to the newest run first, then by id, as in MLflow.
    """
    sql, params = _search_sql(
        catalog, "b.run_id", experiment_ids, filter_string, run_view_type, order_by, limit, offset
    )
    return [r[0] for r in catalog.rows(sql, params)]


def _search_sql(
    catalog: Catalog,
    select: str,
    experiment_ids: list[str] | None,
    filter_string: str | None,
    run_view_type: object,
    order_by: list[str] | None,
    limit: int | None,
    offset: int,
) -> tuple[str, list[Any]]:
    """One query over the wide run table: filter, order, page."""
    check_page_size("max_results", limit)
    check_page_size("offset", offset)
    expr = run_filter.parse_filter(filter_string)
    keys = run_filter.parse_order_by(order_by)
    columns = _Columns(catalog)
    where, params = filtered_where(run_view_type, "b", experiment_ids, expr, columns)
    order: list[str] = []
    for k in keys:
        col = columns(k.entity, k.key) if k.entity == "attribute" else columns.raw(k.entity, k.key)
        order += sort_terms(k.entity, col, descending=not k.ascending)
    order += ["b.start_time DESC", "b.run_id"]
    page = "LIMIT ? OFFSET ?" if limit is not None else "OFFSET ?"
    params += [*([limit] if limit is not None else []), offset]
    sql = (
        f"SELECT {select} FROM {RUNS_WIDE} b WHERE {' AND '.join(where)} "
        f"ORDER BY {', '.join(order)} {page}"
    )
    return sql, params


def search_runs_table(
    catalog: Catalog,
    root: StoreAddress,
    *,
    experiment_ids: list[str],
    filter_string: str | None,
    run_view_type: object,
    max_results: int,
    order_by: list[str] | None,
) -> pa.Table:
    """Runs that match, as an Arrow table with MLflow's columns, in the requested order."""
    sql, params = _search_sql(
        catalog,
        f"b.run_id, {catalog.position_of('b')}",
        experiment_ids,
        filter_string,
        run_view_type,
        order_by,
        max_results,
        0,
    )

    fields = _frame_fields(catalog)

    # Order and page on run ids first, then read whole rows for just that page: the
    # sort then carries one id per run, not every column of the table. With no snapshot
    # every row is in memory, and one query (filter, order, page, columns) costs less
    # than two: DuckDB's cost per statement is most of a small search's.
    def page() -> pa.Table:
        if catalog.snapshot is None:
            select = pages.select_list(fields)
            one_sql, one_params = _search_sql(
                catalog,
                select,
                experiment_ids,
                filter_string,
                run_view_type,
                order_by,
                max_results,
                0,
            )
            return _shaped(catalog.arrow(one_sql, one_params), root)
        picks = catalog.rows(sql, params)
        return _shaped(catalog.wide_page(fields, picks), root)

    # Both queries see one state: no refresh comes between them. The same search of the
    # same state gives the answer it gave (``answers.py``).
    key = (sql, repr(params), tuple(fields), str(root))
    return catalog.atomically(lambda: answers.remembered(catalog, key, page))


def search_runs(
    catalog: Catalog,
    root: StoreAddress,
    *,
    experiment_ids: list[str],
    filter_string: str | None,
    run_view_type: object,
    max_results: int,
    order_by: list[str] | None,
) -> pd.DataFrame:
    """Runs that match, as a DataFrame with MLflow's columns, in the requested order."""
    table = search_runs_table(
        catalog,
        root,
        experiment_ids=experiment_ids,
        filter_string=filter_string,
        run_view_type=run_view_type,
        max_results=max_results,
        order_by=order_by,
    )
    return _to_pandas(table)


def runs_frame(catalog: Catalog, root: StoreAddress, run_ids: list[str]) -> pd.DataFrame:
    """Runs (in the given order) with one column per metric, param and tag key they have."""

    def page() -> pa.Table:
        return catalog.wide_page(_frame_fields(catalog), catalog.picks_of(run_ids))

    return _to_pandas(_shaped(catalog.atomically(page), root))


def _frame_fields(catalog: Catalog) -> list[tuple[str, str]]:
    """The frame's columns: (column of the wide run table, name in the frame)."""
    keys = [
        (column, name)
        for prefix in ENTITY_PREFIX.values()
        for name in catalog.key_columns(prefix)
        if (column := catalog.key_column(name)) is not None
    ]
    return [*((a, a) for a in _FRAME_ATTRIBUTES), *keys]


def _shaped(table: pa.Table, root: StoreAddress) -> pa.Table:
    """MLflow's columns: UTC times, absolute artifact URIs, only the keys the runs have."""
    import pyarrow as pa  # noqa: PLC0415  # loaded already: the table came from DuckDB
    import pyarrow.compute as pc  # noqa: PLC0415

    keys = table.column_names[len(_FRAME_ATTRIBUTES) :]
    table = table.drop_columns([k for k in keys if table.column(k).null_count == len(table)])
    utc = pa.timestamp("ms", tz="UTC")
    for name in ("start_time", "end_time"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pc.cast(table.column(name), utc))
    i = table.schema.get_field_index("artifact_uri")
    uris = pc.binary_join_element_wise(str(root), table.column("artifact_uri"), "/")
    return table.set_column(i, "artifact_uri", uris)


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """The shaped table as MLflow's DataFrame, converted once."""
    # Shaped in Arrow, converted once: pandas work per column costs more than the query.
    # One block per column: joining the float columns into one block costs more than it saves.
    frame: pd.DataFrame = table.to_pandas(split_blocks=True)
    return frame
