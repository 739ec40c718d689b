"""Metric histories of many runs, downsampled in DuckDB without losing spikes.

A chart a few hundred pixels wide cannot show 100,000 points per line, and sending them
would make the widget state megabytes large. So each (run, key) series is cut into
equal-width buckets along the x axis and each bucket keeps four points: its first and
last (the line enters and leaves the bucket where the data does) and its lowest and
highest (M4, Jugel et al., VLDB 2014). Unlike averaging or LTTB's one point per bucket,
a single spike always survives. A series with at most ``max_points`` points is returned
exactly.

Each bucket's last row also carries the bucket's point count and mean, which is what an
exponential moving average needs to smooth the full-resolution series rather than the
four sampled points (see :func:`canvasback.charts.smooth_history`).

Everything runs as one query over ``Catalog.history_source`` of each run, with run ids,
keys and sizes as bound parameters. Series are grouped by small integer codes rather
than by the run id and key strings: hashing a million strings costs more than the rest
of the query together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, get_args

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from canvasback.store.reader import Catalog

__all__ = [
    "DEFAULT_MAX_POINTS",
    "X_AXES",
    "XAxis",
    "downsample",
    "points_per_series",
    "raw_point_count",
]

XAxis = Literal["step", "wall_time", "relative_time"]
X_AXES: Final[tuple[str, ...]] = get_args(XAxis)

DEFAULT_MAX_POINTS: Final = 1000
# Four points per bucket; fewer than this many buckets would draw a blocky envelope.
_MIN_BUCKETS: Final = 16

# x per axis. Wall time stays in epoch milliseconds (Vega-Lite reads numbers as such);
# relative time is seconds since the run's first point among the fetched keys, as
# TensorBoard's "relative" axis.
_X_EXPRESSIONS: Final = {
    "step": "SELECT r, k, value, CAST(step AS DOUBLE) AS x FROM src",
    "wall_time": "SELECT r, k, value, CAST(timestamp AS DOUBLE) AS x FROM src",
    "relative_time": (
        "SELECT s.r, s.k, s.value, (s.timestamp - t.t0) / 1000.0 AS x FROM src s "
        "JOIN (SELECT r, min(timestamp) AS t0 FROM src GROUP BY r) t USING (r)"
    ),
}

# A series at most ``max_points`` long is bucketed by its own x values, which keeps every
# point (one per bucket; repeated steps keep their extremes). Longer ones get ``buckets``
# equal-width buckets. ``n`` and ``mean`` sit on the bucket's last row only.
_M4: Final = """
WITH src AS ({sources}),
pts AS ({points}),
stats AS (
    SELECT r, k, count(*) AS total, min(x) AS lo, max(x) - min(x) AS span
    FROM pts GROUP BY r, k
),
agg AS (
    SELECT p.r, p.k,
           CASE WHEN s.total <= ? THEN p.x
                WHEN s.span = 0 THEN 0
                ELSE least(floor((p.x - s.lo) / s.span * ?), ? - 1) END AS bucket,
           count(*) AS n, avg(p.value) AS mean,
           min(p.x) AS x_first, arg_min(p.value, p.x) AS v_first,
           max(p.x) AS x_last, arg_max(p.value, p.x) AS v_last,
           arg_min(p.x, p.value) AS x_low, min(p.value) AS v_low,
           arg_max(p.x, p.value) AS x_high, max(p.value) AS v_high
    FROM pts p JOIN stats s USING (r, k)
    GROUP BY ALL
),
corners AS (
    SELECT r, k,
           unnest([x_first, x_low, x_high, x_last]) AS x,
           unnest([v_first, v_low, v_high, v_last]) AS value,
           unnest([NULL, NULL, NULL, n]) AS n,
           unnest([NULL, NULL, NULL, mean]) AS mean
    FROM agg
)
SELECT r, k, x, value, max(n) AS n, max(mean) AS mean
FROM corners GROUP BY r, k, x, value
ORDER BY r, k, x, value
"""

_SCHEMA: Final = pa.schema(
    [
        ("run_id", pa.dictionary(pa.int32(), pa.string())),
        ("key", pa.dictionary(pa.int32(), pa.string())),
        ("x", pa.float64()),
        ("value", pa.float64()),
        ("n", pa.int64()),
        ("mean", pa.float64()),
    ]
)


def points_per_series(series: int, *, budget: int, max_points: int = DEFAULT_MAX_POINTS) -> int:
    """Points per series so that ``series`` of them stay near ``budget`` points in all.

    Never more than ``max_points`` and never so few that a line loses its shape.
    """
    floor = 4 * _MIN_BUCKETS
    if series <= 0:
        return max_points
    return max(floor, min(max_points, budget // series))


def downsample(
    catalog: Catalog,
    run_ids: Sequence[str],
    keys: Sequence[str],
    *,
    x: str = "step",
    max_points: int = DEFAULT_MAX_POINTS,
    x_range: tuple[float, float] | None = None,
) -> pa.Table:
    """Histories of ``keys`` for ``run_ids``, at most about ``max_points`` rows per series.

    Returns a table sorted by run, key and x with columns ``run_id`` and ``key``
    (dictionary-encoded, in the order given), ``x``, ``value``, and ``n`` / ``mean``: on
    the last row of each bucket the number and mean of the raw points it stands for,
    null elsewhere. Non-finite values are left out (a chart cannot draw them).
    ``x_range`` restricts the series to ``lo <= x <= hi`` before bucketing, for zooming.

    The caller refreshes the catalog first (``store.read()``).
    """
    if x not in _X_EXPRESSIONS:
        msg = f"x must be one of {', '.join(X_AXES)}, not {x!r}"
        raise ValueError(msg)
    if max_points < 4 * _MIN_BUCKETS:
        msg = f"max_points must be at least {4 * _MIN_BUCKETS}, not {max_points}"
        raise ValueError(msg)
    run_ids = list(dict.fromkeys(str(r) for r in run_ids))
    keys = list(dict.fromkeys(str(k) for k in keys))
    if not run_ids or not keys:
        return _SCHEMA.empty_table()
    buckets = max_points // 4
    with catalog.lock:
        sources: list[str] = []
        params: list[object] = []
        key_list = ", ".join("?" * len(keys))
        for code, run_id in enumerate(run_ids):
            source = catalog.history_source(run_id)
            if source is None:  # no metric file can hold this run
                continue
            # The code is a literal int from enumerate(); everything else is bound.
            sources.append(
                f"SELECT {code}::INTEGER AS r, list_position(?, key)::INTEGER - 1 AS k, "
                f"step, timestamp, value FROM {source} "
                f"WHERE run_id = ? AND key IN ({key_list}) AND isfinite(value)"
            )
            params += [keys, run_id, *keys]
        if not sources:
            return _SCHEMA.empty_table()
        points = _X_EXPRESSIONS[x]
        if x_range is not None:
            points = f"SELECT * FROM ({points}) WHERE x BETWEEN ? AND ?"
            params += [float(x_range[0]), float(x_range[1])]
        sql = _M4.format(sources=" UNION ALL ".join(sources), points=points)
        raw = catalog.arrow(sql, [*params, max_points, buckets, buckets])
    return pa.table(
        [
            pa.DictionaryArray.from_arrays(raw["r"].combine_chunks(), pa.array(run_ids)),
            pa.DictionaryArray.from_arrays(raw["k"].combine_chunks(), pa.array(keys)),
            raw["x"].cast(pa.float64()),
            raw["value"].cast(pa.float64()),
            raw["n"].cast(pa.int64()),
            raw["mean"].cast(pa.float64()),
        ],
        schema=_SCHEMA,
    )


def raw_point_count(table: pa.Table) -> int:
    """How many stored points a downsampled table stands for."""
    total = pc.sum(table["n"]).as_py()
    return int(total or 0)
