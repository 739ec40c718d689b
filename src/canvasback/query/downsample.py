"""The one min/max-preserving downsampler of metric histories: stored and streaming.

Every chart of a history goes through this module: the comparison charts and the run
table's sparklines through :func:`downsample` (in DuckDB, over the stored files), and
the live view of a training run through :class:`StreamSketch` (in Python, fed the
points of each new segment as it appears, so a poll never re-reads the whole run).

Stored histories.

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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from canvasback.store.read.catalog import Catalog

__all__ = [
    "DEFAULT_MAX_POINTS",
    "MIN_POINTS",
    "X_AXES",
    "StreamSketch",
    "XAxis",
    "downsample",
    "points_per_series",
    "raw_point_count",
    "run_histories",
]

XAxis = Literal["step", "wall_time", "relative_time"]
X_AXES: Final[tuple[str, ...]] = get_args(XAxis)

DEFAULT_MAX_POINTS: Final = 1000
# Four points per bucket; fewer than this many buckets would draw a blocky envelope.
_MIN_BUCKETS: Final = 16
MIN_POINTS: Final = 4 * _MIN_BUCKETS

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
    sources: list[str] = []
    params: list[object] = []
    key_list = ", ".join("?" * len(keys))
    # A run's rows lie in its experiment's partition alone: its history reads those files.
    experiment_of = dict(
        catalog.rows(
            "SELECT run_id, experiment_id FROM runs WHERE list_contains(?, run_id)", [run_ids]
        )
    )
    for code, run_id in enumerate(run_ids):
        source = catalog.history_source(run_id, experiment_of.get(run_id))
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


def run_histories(catalog: Catalog, run_id: str, max_points: int = MIN_POINTS) -> pa.Table:
    """Every metric of one run by step, ``(key, step, value)``, downsampled: sparklines."""
    keys = [
        r[0]
        for r in catalog.rows(
            "SELECT DISTINCT key FROM latest_metrics WHERE run_id = ? ORDER BY key", [run_id]
        )
    ]
    table = downsample(catalog, [run_id], keys, x="step", max_points=max(max_points, MIN_POINTS))
    return pa.table(
        {
            "key": table.column("key").cast(pa.string()),
            "step": table.column("x").cast(pa.int64()),
            "value": table.column("value"),
        }
    )


# -- streaming -------------------------------------------------------------------------
SKETCH_BUCKETS: Final = 64
"""Buckets of a streaming sketch: a sparkline is ~200 px wide."""


class StreamSketch:
    """The same min/max bucketing, fed a series a piece at a time, in bounded memory.

    Each bucket keeps the point with the smallest and the one with the largest value,
    so spikes stay visible however far the series is downsampled; when the series
    outgrows ``SKETCH_BUCKETS`` buckets their width doubles. Points may come in any
    order and any number of times.
    """

    __slots__ = ("buckets", "width")

    def __init__(self) -> None:
        self.width = 1
        self.buckets: dict[int, tuple[int, float, int, float]] = {}  # (x@min, min, x@max, max)

    def add(self, xs: NDArray[np.int64], values: NDArray[np.float64]) -> None:
        """Fold in points; non-finite values are left out, as :func:`downsample` does."""
        finite = np.isfinite(values)
        xs, values = xs[finite], values[finite]
        if xs.size == 0:
            return
        lo, hi = int(xs.min()), int(xs.max())
        if self.buckets:
            lo = min(lo, min(self.buckets) * self.width)
            hi = max(hi, max(self.buckets) * self.width)
        width = self.width
        while hi // width - lo // width >= SKETCH_BUCKETS:
            width *= 2
        if width != self.width:
            self._regroup(width)
        index = xs // width
        order = np.lexsort((values, index))  # by bucket, then by value within a bucket
        index, xs, values = index[order], xs[order], values[order]
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        ends = np.r_[starts[1:], index.size] - 1
        for first, last in zip(starts.tolist(), ends.tolist(), strict=True):
            low = (int(xs[first]), float(values[first]))
            high = (int(xs[last]), float(values[last]))
            self._merge(int(index[first]), (*low, *high))

    def _regroup(self, width: int) -> None:
        factor = width // self.width
        old, self.buckets, self.width = self.buckets, {}, width
        for index, bucket in old.items():
            self._merge(index // factor, bucket)

    def _merge(self, index: int, bucket: tuple[int, float, int, float]) -> None:
        held = self.buckets.get(index)
        if held is None:
            self.buckets[index] = bucket
            return
        low = bucket[:2] if bucket[1] < held[1] else held[:2]
        high = bucket[2:] if bucket[3] > held[3] else held[2:]
        self.buckets[index] = (*low, *high)

    def points(self) -> list[tuple[int, float]]:
        """The kept points in x order (at most ``2 * SKETCH_BUCKETS``)."""
        out: list[tuple[int, float]] = []
        for index in sorted(self.buckets):
            x_low, low, x_high, high = self.buckets[index]
            out.extend(sorted({(x_low, low), (x_high, high)}))
        return out
