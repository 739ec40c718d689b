"""Aggregates over a run set, computed in DuckDB: what a run table's headers show.

Column header summaries (a histogram for numbers, the top values for text), per-group
statistics for "group by", and one run's detail with downsampled metric histories.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, Final

from canvasback.query.downsample import run_histories
from canvasback.query.run_set import RUN_NAME_TAG, Column, RunSet
from canvasback.store.read.catalog_tables import quote_identifier

if TYPE_CHECKING:
    import pyarrow as pa

HISTOGRAM_BINS: Final = 20
TOP_VALUES: Final = 5
# A numeric param with this few values reads better as its values than as a histogram.
FEW_VALUES: Final = 8
MAX_GROUPS: Final = 1000
SPARK_POINTS: Final = 128


def summary_kind(column: Column, column_type: str) -> str:
    """``histogram``, ``top`` or ``none`` (a run id or name has nothing to summarise).

    A numeric param with few values is shown by its values instead: :func:`summaries`
    counts them.
    """
    if column.entity == "attribute" and column.key in ("run_id", "run_name"):
        return "none"
    if column_type in ("number", "time"):
        return "histogram"
    return "top"


def nice_edges(lo: float, hi: float, bins: int = HISTOGRAM_BINS) -> list[float]:
    """Round bin edges covering [lo, hi]: a step of 1, 2 or 5 times a power of ten.

    The last edge is above ``hi``, so every bin is half-open, ``[edge, next edge)``, just
    as the filter clause a brushed range becomes.
    """
    span = hi - lo
    magnitude = max(abs(lo), abs(hi))
    if span > 0:
        # Never finer than a millionth of a millionth of the values: a double could
        # not tell such edges apart.
        raw = max(span / bins, magnitude * 1e-12, sys.float_info.min)
    else:
        raw = max(magnitude / 10, sys.float_info.min) if magnitude else 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    step = next((m * power for m in (1, 2, 5) if m * power >= raw), 10 * power)
    # Rounded to the step's own decimals: 0.30000000000000004 would make an ugly clause,
    # and significant digits would merge the edges of millisecond timestamps.
    decimals = max(0, 1 - math.floor(math.log10(step)))
    start = math.floor(lo / step)
    edges = [round(start * step, decimals)]
    if edges[0] > lo:  # lo / step rounded up by a hair
        edges[0] = round((start - 1) * step, decimals)
    while edges[-1] <= hi or len(edges) < 2:  # noqa: PLR2004 - at least one bin
        edge = round((start + len(edges)) * step, decimals)
        edges.append(max(edge, math.nextafter(edges[-1], math.inf)))
    return edges


def summaries(runs: RunSet, columns: list[tuple[Column, str]]) -> dict[str, dict[str, Any]]:
    """Summaries of ``(column, kind)`` pairs over the current runs, keyed by column name.

    Each pass reads the filtered runs once for all columns of a kind. A numeric param
    with at most :data:`FEW_VALUES` distinct values gets its top values, not a histogram.
    """
    out: dict[str, dict[str, Any]] = {c.name: {"kind": "none"} for c, _ in columns}
    numeric = [(c, runs.value(c)) for c, kind in columns if kind == "histogram"]
    text = [(c, runs.value(c)) for c, kind in columns if kind == "top"]
    if numeric:
        histograms, few = _histograms(runs, numeric)
        out.update(histograms)
        text += few
    if text:
        out.update(_top_values(runs, text))
    return out


def _histograms(
    runs: RunSet, columns: list[tuple[Column, str]]
) -> tuple[dict[str, dict[str, Any]], list[tuple[Column, str]]]:
    """Histograms of numeric columns, and the params among them with few values."""
    source, source_params = runs.source()
    values = ", ".join(f"TRY_CAST({v} AS DOUBLE) AS x{i}" for i, (_, v) in enumerate(columns))
    aggregates = ", ".join(
        f"min(x{i}) FILTER (WHERE isfinite(x{i})), max(x{i}) FILTER (WHERE isfinite(x{i})), "
        f"count(*) FILTER (WHERE x{i} IS NULL OR NOT isfinite(x{i})), "
        + (f"count(DISTINCT x{i})" if column.entity == "param" else "NULL")
        for i, (column, _) in enumerate(columns)
    )
    stats = runs.rows(f"SELECT {aggregates} FROM (SELECT {values} FROM {source})", source_params)
    out: dict[str, dict[str, Any]] = {}
    edges: dict[str, list[float]] = {}
    few: list[tuple[Column, str]] = []
    for i, (column, value) in enumerate(columns):
        lo, hi, missing, distinct = stats[0][4 * i : 4 * i + 4]
        if distinct is not None and distinct <= FEW_VALUES:
            few.append((column, value))
            continue
        entry: dict[str, Any] = {"kind": "histogram", "edges": [], "counts": [], "missing": missing}
        if lo is not None:
            edges[f"x{i}"] = nice_edges(float(lo), float(hi))
            entry.update(min=lo, max=hi, edges=edges[f"x{i}"])
            entry["counts"] = [0] * (len(edges[f"x{i}"]) - 1)
        out[column.name] = entry
    if not edges:
        return out, few
    # A value's bin is the last edge at or below it: the very comparison the brushed
    # filter clause makes, so a bar's count is what brushing it selects. Division finds
    # the bin up to rounding; comparing with the neighbouring edges makes it exact.
    rows = runs.rows(
        f"""
        WITH v AS (SELECT {values} FROM {source}),
        u AS (SELECT * FROM v UNPIVOT (x FOR c IN ({", ".join(edges)}))),
        e AS (SELECT unnest(?::VARCHAR[]) AS c, unnest(?::DOUBLE[][]) AS edges,
                     unnest(?::DOUBLE[]) AS step),
        g AS (SELECT u.c, u.x, e.edges,
                     least(greatest(floor((u.x - e.edges[1]) / e.step)::INTEGER, 0),
                           len(e.edges) - 2) AS b
              FROM u JOIN e ON e.c = u.c WHERE isfinite(u.x))
        SELECT c, b - (x < edges[b + 1])::INTEGER + (x >= edges[b + 2])::INTEGER AS bin,
               count(*)
        FROM g GROUP BY ALL
        """,
        [
            *source_params,
            list(edges),
            list(edges.values()),
            [e[1] - e[0] for e in edges.values()],
        ],
    )
    for c, bin_index, count in rows:
        counts = out[columns[int(c[1:])][0].name]["counts"]
        counts[min(max(bin_index, 0), len(counts) - 1)] += count  # edges cover every value
    return out, few


def _top_values(runs: RunSet, columns: list[tuple[Column, str]]) -> dict[str, dict[str, Any]]:
    source, source_params = runs.source()
    values = ", ".join(f"CAST({v} AS VARCHAR) AS x{i}" for i, (_, v) in enumerate(columns))
    names = ", ".join(f"x{i}" for i in range(len(columns)))
    rows = runs.rows(
        f"""
        WITH v AS (SELECT {values} FROM {source}),
        u AS (SELECT * FROM v UNPIVOT INCLUDE NULLS (x FOR c IN ({names}))),
        g AS (SELECT c, x, count(*) AS n FROM u GROUP BY c, x)
        SELECT c, x, n, count(*) OVER w AS distinct_values, sum(n) OVER w AS total
        FROM g WINDOW w AS (PARTITION BY c)
        QUALIFY row_number() OVER (PARTITION BY c ORDER BY n DESC, x NULLS LAST) <= ?
        ORDER BY c, n DESC, x NULLS LAST
        """,
        [*source_params, TOP_VALUES],
    )
    out: dict[str, dict[str, Any]] = {
        column.name: {"kind": "top", "values": [], "distinct": 0, "total": 0}
        for column, _ in columns
    }
    for c, value, n, distinct, total in rows:
        entry = out[columns[int(c[1:])][0].name]
        entry.update(distinct=distinct, total=int(total))
        entry["values"].append({"value": value, "count": n})
    return out


def groups(
    runs: RunSet, group_by: Column, metrics: list[Column], limit: int = MAX_GROUPS
) -> tuple[pa.Table, int]:
    """One row per value of ``group_by``: run count, then min/mean/max of each metric.

    Returns the table (largest groups first, at most ``limit``) and the number of groups.
    Metric fields are named ``<column>:min``, ``<column>:mean`` and ``<column>:max``,
    over the runs with a number (NaN skipped); a metric no run has gives nulls.
    """
    source, params = runs.source()
    value = runs.value(group_by)
    selects = [f'CAST({value} AS VARCHAR) AS "group"', "count(*) AS runs"]
    for column in metrics:
        metric = runs.value(column)
        for stat, fn in (("min", "min"), ("mean", "avg"), ("max", "max")):
            # A diverged run (NaN) must not turn its whole group's statistics into NaN.
            value_ = f"nullif({metric}, 'NaN'::DOUBLE)"
            selects.append(f"{fn}({value_}) AS {quote_identifier(f'{column.name}:{stat}')}")
    table = runs.arrow(
        f"""
        SELECT {", ".join(selects)}, count(*) OVER () AS groups
        FROM {source}
        GROUP BY 1 ORDER BY runs DESC, 1 NULLS LAST LIMIT ?
        """,
        [*params, limit],
    )
    count = int(table.column("groups")[0].as_py()) if table.num_rows else 0
    return table.drop_columns(["groups"]), count


def run_detail(
    runs: RunSet, run_id: str, max_points: int = SPARK_POINTS
) -> tuple[dict[str, Any], pa.Table]:
    """A run's attributes, params, tags, latest metrics and artifacts, and its histories.

    The histories come as ``(key, step, value)``, at most about ``max_points`` points
    per key, downsampled as the comparison charts are (:func:`downsample`), so a spike
    survives.
    """
    found = runs.rows(
        "SELECT coalesce(n.value, r.run_name), r.status, r.start_time, r.end_time, "
        "r.experiment_id, e.name, r.user_id, r.parent_run_id, r.lifecycle_stage "
        f"FROM runs r LEFT JOIN tags n ON n.run_id = r.run_id AND n.key = '{RUN_NAME_TAG}' "
        "LEFT JOIN experiments e ON e.experiment_id = r.experiment_id WHERE r.run_id = ?",
        [run_id],
    )
    if not found:
        msg = f"run {run_id!r} is not in the store"
        raise LookupError(msg)
    fields = (
        *("run_name", "status", "start_time", "end_time", "experiment_id"),
        *("experiment_name", "user_id", "parent_run_id", "lifecycle_stage"),
    )
    detail: dict[str, Any] = {"run_id": run_id, **dict(zip(fields, found[0], strict=True))}
    for field in ("params", "tags"):
        rows = runs.rows(f"SELECT key, value FROM {field} WHERE run_id = ? ORDER BY key", [run_id])
        detail[field] = [{"key": k, "value": v} for k, v in rows]
    rows = runs.rows(
        "SELECT key, value, step FROM latest_metrics WHERE run_id = ? ORDER BY key", [run_id]
    )
    detail["metrics"] = [{"key": k, "value": json_number(v), "step": s} for k, v, s in rows]
    rows = runs.rows("SELECT path, size FROM artifacts WHERE run_id = ? ORDER BY path", [run_id])
    detail["artifacts"] = [{"path": p, "size": size} for p, size in rows]
    rows = runs.rows(
        "SELECT name, digest, context, source, profile FROM datasets WHERE run_id = ? "
        "ORDER BY name, context",
        [run_id],
    )
    detail["datasets"] = [
        {"name": n, "digest": d, "context": c, "source": s, "profile": p} for n, d, c, s, p in rows
    ]
    return detail, run_histories(runs.catalog, run_id, max_points)


def json_number(value: float | None) -> float | str | None:
    """A float for JSON, which has no NaN or infinity: those become their names."""
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
