"""Reads of single runs and experiments: attributes, data, histories, what exists.

Each function takes a refreshed catalog (``store.read()``); every value is a bound
parameter. A run comes back as plain values (a dict of its attributes; its metrics,
params and tags): the tracking API makes its records of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from canvasback.store import schema

if TYPE_CHECKING:
    import pyarrow as pa

    from canvasback._config import StoreAddress
    from canvasback.store.read.catalog import Catalog

VIEW_TYPES: Final = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}
"""Which runs or experiments a search sees, by MLflow's ``ViewType`` names and numbers."""
LIFECYCLE_FILTER: Final = {
    "ACTIVE_ONLY": "lifecycle_stage = 'active'",
    "DELETED_ONLY": "lifecycle_stage = 'deleted'",
    "ALL": "true",
}
_RUN_COLUMNS: Final = ", ".join(schema.RUN_ATTRIBUTES)
_EMPTY_HISTORY: Final = (
    "SELECT NULL::BIGINT AS step, NULL::BIGINT AS timestamp, NULL::DOUBLE AS value WHERE false"
)


def view_type(value: object) -> str:
    """Normalise MLflow's ViewType (int or name) to its name."""
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in VIEW_TYPES.items():
            if number == value:
                return name
    text = str(getattr(value, "name", value)).upper()
    if text not in VIEW_TYPES:
        msg = f"Invalid run_view_type {value!r}: allowed are {', '.join(VIEW_TYPES)} or 1, 2, 3"
        raise ValueError(msg)
    return text


def run_info(catalog: Catalog, run_id: str, root: StoreAddress) -> dict[str, Any] | None:
    """A run's attributes (``RunInfo``'s fields), None if the store does not hold it."""
    rows = catalog.rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", [str(run_id)])
    if not rows:
        return None
    attributes = dict(zip(schema.RUN_ATTRIBUTES, rows[0], strict=True))
    tag_name = catalog.rows(
        "SELECT value FROM tags WHERE run_id = ? AND key = 'mlflow.runName'", [attributes["run_id"]]
    )
    if tag_name:
        attributes["run_name"] = tag_name[0][0]
    attributes["status"] = attributes["status"] or "RUNNING"
    attributes["artifact_uri"] = f"{root}/{attributes['artifact_uri']}"
    return attributes


def run_data(catalog: Catalog, run_id: str) -> dict[str, dict[str, Any]]:
    """A run's latest metrics, params and tags (``RunData``'s fields), key -> value."""
    metrics = dict(catalog.rows("SELECT key, value FROM latest_metrics WHERE run_id = ?", [run_id]))
    params = dict(catalog.rows("SELECT key, value FROM params WHERE run_id = ?", [run_id]))
    tags = dict(catalog.rows("SELECT key, value FROM tags WHERE run_id = ?", [run_id]))
    return {"metrics": metrics, "params": params, "tags": tags}


def run_experiment(catalog: Catalog, run_id: str) -> str | None:
    """The experiment of a run (the partition of its rows), None if the store lacks it."""
    rows = catalog.rows("SELECT experiment_id FROM runs WHERE run_id = ?", [str(run_id)])
    return str(rows[0][0]) if rows else None


def metric_history(
    catalog: Catalog, run_id: str, key: str, experiment_id: str | None = None
) -> pa.Table:
    """Every point of one metric of one run, ordered by step then timestamp.

    ``experiment_id``: the run's experiment, if known (only its files are read).
    """
    source = catalog.history_source(run_id, experiment_id)
    if source is None:
        return catalog.arrow(_EMPTY_HISTORY)
    table = catalog.arrow(
        f"SELECT step, timestamp, value FROM {source} WHERE run_id = ? AND key = ?",
        [run_id, key],
    )
    return _in_order(table, ["step", "timestamp"])


def metric_points(catalog: Catalog, run_id: str, experiment_id: str | None = None) -> pa.Table:
    """Every point of every metric of one run, ``(key, step, timestamp, value)``.

    Ordered by key, then step, then timestamp: one run's metrics as a long table.
    ``experiment_id``: the run's experiment, if known (only its files are read).
    """
    source = catalog.history_source(run_id, experiment_id)
    if source is None:
        return catalog.arrow(f"SELECT NULL::VARCHAR AS key, * FROM ({_EMPTY_HISTORY})")
    table = catalog.arrow(
        f"SELECT key, step, timestamp, value FROM {source} WHERE run_id = ?", [run_id]
    )
    return _in_order(table, ["key", "step", "timestamp"])


def _in_order(table: pa.Table, columns: list[str]) -> pa.Table:
    """The table sorted by these columns, ascending, nulls last (as SQL's ORDER BY).

    A file's points of a run usually lie in this order already (a compacted file is
    sorted; a flush keeps the order points were logged in), and checking is cheaper
    than sorting, so the table comes back as read when it is in order.
    """
    import pyarrow.compute as pc  # noqa: PLC0415  # loaded with the first history

    if table.num_rows < 2:  # noqa: PLR2004
        return table
    if any(table[name].null_count for name in columns):
        return _sorted(table, columns)
    ordered = None  # per pair of neighbours: row i is not after row i + 1
    for name in reversed(columns):
        column = table[name].combine_chunks()
        before, after = column[:-1], column[1:]
        if ordered is None:
            ordered = pc.less_equal(before, after)
        else:
            tie = pc.and_(pc.equal(before, after), ordered)
            ordered = pc.or_(pc.less(before, after), tie)
    return table if pc.all(ordered).as_py() else _sorted(table, columns)


def _sorted(table: pa.Table, columns: list[str]) -> pa.Table:
    # Arrow's sort is stable and puts nulls last by default, as DuckDB's ORDER BY does.
    return table.sort_by([(name, "ascending") for name in columns])


def runs_with_tag(
    catalog: Catalog, run_ids: list[str], key: str
) -> dict[str, tuple[str, str, str | None]]:
    """(experiment id, lifecycle stage, tag ``key``'s value) of the runs the store holds."""
    rows = catalog.rows(
        "SELECT r.run_id, r.experiment_id, r.lifecycle_stage, t.value FROM runs r "
        "LEFT JOIN tags t ON t.run_id = r.run_id AND t.key = ? "
        "WHERE list_contains(?, r.run_id)",
        [key, run_ids],
    )
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def existing_run_ids(catalog: Catalog, run_ids: list[str]) -> set[str]:
    """Which of these run ids the store holds (deleted runs included)."""
    rows = catalog.rows("SELECT run_id FROM runs WHERE list_contains(?, run_id)", [run_ids])
    return {r[0] for r in rows}


def runs_with_artifact(catalog: Catalog, run_ids: list[str], path: str) -> set[str]:
    """Which of these runs have logged an artifact file at ``path`` (by the index)."""
    rows = catalog.rows(
        "SELECT DISTINCT run_id FROM artifacts WHERE list_contains(?, run_id) AND path = ?",
        [run_ids, path],
    )
    return {r[0] for r in rows}


def experiment_ids(catalog: Catalog) -> set[str]:
    """Ids of every experiment of the store (deleted ones included)."""
    return {r[0] for r in catalog.rows("SELECT experiment_id FROM experiments")}


def metric_rows_in_files(
    catalog: Catalog, paths: list[str], run_id: str, keys: list[str] | None = None
) -> pa.Table:
    """One run's metric points ``(key, step, timestamp, value)`` held in given files.

    The live view reads just the files that appeared since its last look with this.
    """
    sql = "SELECT key, step, timestamp, value FROM read_parquet(?) WHERE run_id = ?"
    params: list[Any] = [paths, run_id]
    if keys is not None:
        sql += " AND list_contains(?, key)"
        params.append(keys)
    return catalog.arrow(sql, params)


def latest_metric_rows(catalog: Catalog, run_id: str) -> list[tuple[str, int, int, float]]:
    """A run's latest point of every metric ``(key, step, timestamp, value)``, by key."""
    rows = catalog.rows(
        "SELECT key, step, timestamp, value FROM latest_metrics WHERE run_id = ? ORDER BY key",
        [run_id],
    )
    return [(str(k), int(s), int(t), float(v)) for k, s, t, v in rows]
