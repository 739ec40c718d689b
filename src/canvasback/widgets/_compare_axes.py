"""What the Compare charts put on their axes.

The history's x: relative time in the unit that suits it, kept while zoomed; the
scatter's x: the param it shows by default; the metrics charted by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pyarrow.compute as pc

from canvasback import charts
from canvasback.charts.runs import varies
from canvasback.widgets._system_strip import is_system_key

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["chart_history", "default_metrics", "default_scatter_param"]

_UNITS: Final = {1.0: "s", 60.0: "min", 3600.0: "h", 86400.0: "d"}


def default_metrics(metrics: list[str], count: int) -> list[str]:
    """The first ``count`` of the runs' own metrics; system metrics only if there are no others.

    A run that logs system metrics has a dozen ``system/*`` keys: charted by default, they
    would push its own metrics out. Chosen by name, they chart like any metric.
    """
    own = [m for m in metrics if not is_system_key(m)]
    return (own or metrics)[:count]


def default_scatter_param(frame: pd.DataFrame, params: list[str]) -> str:
    """The numeric param with the most distinct values: the likeliest thing swept."""
    varying = [p for p in params if varies(frame[f"params.{p}"])]
    numeric = [p for p in varying if charts.numeric_values(frame[f"params.{p}"]) is not None]
    ranked = sorted(numeric, key=lambda p: -frame[f"params.{p}"].nunique())
    return next(iter(ranked or varying or params), "")


def _top(table: pa.Table) -> float:
    value = pc.max(table.column("x")).as_py() if table.num_rows else None
    return float(value) if value is not None else 0.0


def chart_history(
    table: pa.Table,
    names: dict[str, str],
    *,
    x: str,
    smoothing: float,
    zoomed: bool,
    divisor: float,
) -> tuple[pd.DataFrame, str, float]:
    """The history as charted, its x title, and the relative-time divisor it used.

    Relative time is charted in the unit that suits the whole history (s, min, h, d);
    a zoomed range keeps that unit (``divisor``) rather than one for its own span.
    """
    if x == "relative_time" and not zoomed and table.num_rows:
        divisor = charts.relative_time_unit(_top(table))[0]
    frame, title = charts.history_frame(table, names, x=x, smoothing=smoothing)
    if x == "relative_time" and zoomed and not frame.empty:
        own = charts.relative_time_unit(_top(table))[0]
        frame["x"] = frame["x"] * own / divisor
        title = f"relative time ({_UNITS.get(divisor, 's')})"
    return frame, title, divisor
