"""Read queries of the tracking API: runs, experiments, histories and search.

Every value goes into SQL as a bound parameter; identifiers that are built from keys are
quoted. Column names of the search frame follow MLflow (``metrics.acc``, ``params.lr``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvasback.store.wide import WIDE
from canvasback.tracking import filter as flt
from canvasback.tracking.entities import Experiment, RunData, RunInfo, view_type
from canvasback.tracking.filter_sql import compile_filter

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd
    import pyarrow as pa

    from canvasback.store.reader import Catalog

_RUN_COLUMNS = (
    "run_id, run_name, experiment_id, status, start_time, end_time, lifecycle_stage, "
    "artifact_uri, user_id, parent_run_id"
)
_LIFECYCLE_FILTER = {
    "ACTIVE_ONLY": "lifecycle_stage = 'active'",
    "DELETED_ONLY": "lifecycle_stage = 'deleted'",
    "ALL": "true",
}
_ENTITY_PREFIX = {"metric": "metrics", "param": "params", "tag": "tags"}
_FRAME_ATTRIBUTES = (
    "run_id",
    "experiment_id",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
    "run_name",
    "lifecycle_stage",
)


def quote_identifier(name: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def experiments(
    catalog: Catalog, *, experiment_ids: list[str] | None = None, view_type: object = "ALL"
) -> list[Experiment]:
    """Experiments, oldest first, with their tags."""
    where = [_LIFECYCLE_FILTER[_view(view_type)]]
    params: list[Any] = []
    if experiment_ids is not None:
        where.append("list_contains(?, experiment_id)")
        params.append(experiment_ids)
    rows = catalog.rows(
        "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time "
        f"FROM experiments WHERE {' AND '.join(where)} "
        "ORDER BY creation_time, TRY_CAST(experiment_id AS BIGINT)",
        params,
    )
    tags: dict[str, dict[str, str]] = {}
    for eid, key, value in catalog.rows("SELECT experiment_id, key, value FROM experiment_tags"):
        tags.setdefault(eid, {})[key] = value
    return [
        Experiment(eid, name, loc, stage, created, tags.get(eid, {}))
        for eid, name, loc, stage, created in rows
    ]


def _view(value: object) -> str:
    return view_type(value)


def run_info(catalog: Catalog, run_id: str, root: Path) -> RunInfo | None:
    """A run's attributes, None if the store does not hold it."""
    rows = catalog.rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", [str(run_id)])
    if not rows:
        return None
    (rid, name, eid, status, start, end, stage, uri, user, parent) = rows[0]
    tag_name = catalog.rows(
        "SELECT value FROM tags WHERE run_id = ? AND key = 'mlflow.runName'", [rid]
    )
    return RunInfo(
        run_id=rid,
        run_name=tag_name[0][0] if tag_name else name,
        experiment_id=eid,
        status=status or "RUNNING",
        start_time=start,
        end_time=end,
        lifecycle_stage=stage,
        artifact_uri=str(root / uri),
        user_id=user,
        parent_run_id=parent,
    )


def run_data(catalog: Catalog, run_id: str) -> RunData:
    """A run's latest metrics, params and tags."""
    metrics = dict(catalog.rows("SELECT key, value FROM latest_metrics WHERE run_id = ?", [run_id]))
    params = dict(catalog.rows("SELECT key, value FROM params WHERE run_id = ?", [run_id]))
    tags = dict(catalog.rows("SELECT key, value FROM tags WHERE run_id = ?", [run_id]))
    return RunData(metrics=metrics, params=params, tags=tags)


def metric_history(catalog: Catalog, run_id: str, key: str) -> pa.Table:
    """Every point of one metric of one run, ordered by step then timestamp."""
    with catalog.lock:
        source = catalog.history_source(run_id)
        if source is None:
            return catalog.arrow(
                "SELECT NULL::BIGINT AS step, NULL::BIGINT AS timestamp, "
                "NULL::DOUBLE AS value WHERE false"
            )
        return catalog.arrow(
            f"SELECT step, timestamp, value FROM {source} WHERE run_id = ? AND key = ? "
            "ORDER BY step, timestamp",
            [run_id, key],
        )


class _Columns:
    """Columns of the wide run table for the (entity, key) pairs a filter or order uses."""

    def __init__(self, catalog: Catalog) -> None:
        self.present = catalog.wide.columns
        self.joins: list[str] = []  # the wide table needs none; kept for one query shape
        self.params: list[Any] = []

    def raw(self, entity: str, key: str) -> str:
        """The value as stored, NaN included (for ordering)."""
        if entity == "attribute":
            return f"b.{key}"
        name = f"{_ENTITY_PREFIX[entity]}.{key}"
        if name not in self.present:  # no run has it: every run is missing it
            return "NULL::DOUBLE" if entity == "metric" else "NULL::VARCHAR"
        return f"b.{quote_identifier(name)}"

    def __call__(self, entity: str, key: str) -> str:
        col = self.raw(entity, key)
        if entity == "metric":  # NaN compares with nothing (IEEE), and sorts last
            return f"nullif({col}, 'NaN'::DOUBLE)"
        return col


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
    for name, value in (("max_results", limit), ("offset", offset)):
        if value is not None and (not isinstance(value, int) or value < 0):
            msg = f"Invalid {name} {value!r}: a non-negative integer is required"
            raise ValueError(msg)
    expr = flt.parse_filter(filter_string)
    keys = flt.parse_order_by(order_by)
    columns = _Columns(catalog)
    where = [_LIFECYCLE_FILTER[_view(run_view_type)]]
    params: list[Any] = []
    if experiment_ids is not None:
        where.append("list_contains(?, b.experiment_id)")
        params.append(experiment_ids)
    if expr is not None:
        sql, filter_params = compile_filter(expr, columns)
        where.append(f"({sql})")
        params.extend(filter_params)
    order: list[str] = []
    for k in keys:
        col = columns(k.entity, k.key) if k.entity == "attribute" else columns.raw(k.entity, k.key)
        direction = "ASC" if k.ascending else "DESC"
        if k.entity == "param":  # numbers by value, then text
            order.append(f"TRY_CAST({col} AS DOUBLE) {direction} NULLS LAST")
        elif k.entity == "metric":  # NaN after every number either way, as in MLflow
            order.append(f"isnan({col}) NULLS LAST")
        order.append(f"{col} {direction} NULLS LAST")
    order += ["b.start_time DESC", "b.run_id"]
    page = "LIMIT ? OFFSET ?" if limit is not None else "OFFSET ?"
    params += [*([limit] if limit is not None else []), offset]
    sql = (
        f"SELECT {select} FROM {WIDE} b WHERE {' AND '.join(where)} "
        f"ORDER BY {', '.join(order)} {page}"
    )
    return sql, params


def search_runs(
    catalog: Catalog,
    root: Path,
    *,
    experiment_ids: list[str],
    filter_string: str | None,
    run_view_type: object,
    max_results: int,
    order_by: list[str] | None,
) -> pd.DataFrame:
    """Runs that match, as a DataFrame with MLflow's columns, in the requested order."""
    import pandas as pd  # noqa: PLC0415  # pandas loads on first search, not at import

    sql, params = _search_sql(
        catalog,
        "b.rowid",
        experiment_ids,
        filter_string,
        run_view_type,
        order_by,
        max_results,
        0,
    )
    # Order and page on row ids first, then read whole rows for just that page: the
    # sort then carries one number per run, not every column of the table.
    with catalog.lock:
        rowids = [r[0] for r in catalog.rows(sql, params)]
        table = catalog.arrow(
            f"SELECT b.rowid AS _row, {_frame_columns(catalog)} FROM {WIDE} b "
            "WHERE b.rowid IN (SELECT unnest(?))",
            [rowids],
        )
    order = pd.Index(table.column("_row").to_numpy()).get_indexer(rowids)
    return _to_frame(table.drop_columns(["_row"]).take(order), root)


def runs_frame(catalog: Catalog, root: Path, run_ids: list[str]) -> pd.DataFrame:
    """Runs (in the given order) with one column per metric, param and tag key they have."""
    import pandas as pd  # noqa: PLC0415  # pandas loads on first search, not at import

    table = catalog.arrow(
        f"SELECT {_frame_columns(catalog)} FROM {WIDE} b WHERE run_id IN (SELECT unnest(?))",
        [run_ids],
    )
    order = pd.Index(table.column("run_id").to_numpy(zero_copy_only=False)).get_indexer(run_ids)
    return _to_frame(table.take(order[order >= 0]), root)


def _frame_columns(catalog: Catalog) -> str:
    keys = [
        "b." + quote_identifier(name)
        for prefix in _ENTITY_PREFIX.values()
        for name in catalog.wide.key_columns(prefix)
    ]
    return ", ".join((*(f"b.{a}" for a in _FRAME_ATTRIBUTES), *keys))


def _to_frame(table: pa.Table, root: Path) -> pd.DataFrame:
    """MLflow's frame: UTC times, absolute artifact URIs, only the keys the runs have."""
    import pyarrow as pa  # noqa: PLC0415  # loaded already: the table came from DuckDB
    import pyarrow.compute as pc  # noqa: PLC0415

    # Shaped in Arrow, converted once: pandas work per column costs more than the query.
    keys = table.column_names[len(_FRAME_ATTRIBUTES) :]
    table = table.drop_columns([k for k in keys if table.column(k).null_count == len(table)])
    utc = pa.timestamp("ms", tz="UTC")
    for name in ("start_time", "end_time"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pc.cast(table.column(name), utc))
    i = table.schema.get_field_index("artifact_uri")
    uris = pc.binary_join_element_wise(str(root), table.column("artifact_uri"), "/")
    table = table.set_column(i, "artifact_uri", uris)
    frame: pd.DataFrame = table.to_pandas()
    return frame
