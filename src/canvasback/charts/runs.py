"""Run-level charts: parallel coordinates, param-vs-metric scatter, final-value bars.

Each chart comes in two steps: a ``*_data`` function turns a runs frame (the columns of
``search_runs``: ``run_id``, ``run_name``, ``params.<key>``, ``metrics.<key>``) into the
chart's rows, and the chart function describes how to draw rows of that shape. The rows
travel as a named dataset, so the widget can send them as Arrow and a spec never holds
data unless ``inline=True``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

import altair as alt
import numpy as np
import pandas as pd

from canvasback.charts._common import (
    HALO_STYLE,
    finish,
    focus_opacity,
    focus_param,
    pick,
    run_color,
    source,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "BARS_PICK",
    "PARALLEL_PICK",
    "SCATTER_BRUSH",
    "SCATTER_PICK",
    "final_bars",
    "final_values",
    "format_value",
    "numeric_values",
    "parallel_coordinates",
    "parallel_data",
    "param_scatter",
    "scatter_data",
    "varies",
]

PARALLEL_PICK: Final = "parallel_pick"
SCATTER_PICK: Final = "scatter_pick"
SCATTER_BRUSH: Final = "scatter_brush"
BARS_PICK: Final = "bars_pick"

MAX_AXES: Final = 12
MAX_CATEGORY_TICKS: Final = 12
# A positive range wider than this many times reads better on a log axis (learning rates).
LOG_RATIO: Final = 100.0


def format_value(value: object) -> str:
    """A param or metric value as short text: 4 significant digits for floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:  # noqa: PLR2004 - exact in a double
            return str(int(number))
        return f"{number:.4g}"
    return str(value)


def numeric_values(column: pd.Series) -> pd.Series | None:
    """The column as floats if every present value is a number (params are stored as text)."""
    present = column.dropna()
    if present.empty:
        return None
    if present.map(lambda v: isinstance(v, bool) or str(v).lower() in {"true", "false"}).any():
        return None  # booleans read better as categories than as 0 and 1
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.isna().any():
        return None
    return pd.to_numeric(column, errors="coerce").astype("float64")


def varies(column: pd.Series) -> bool:
    """Whether a column holds more than one value across runs (missing counts as one)."""
    return len({None if pd.isna(v) else v for v in column.astype(object)}) > 1


def _wants_log(values: pd.Series) -> bool:
    present = values.dropna()
    if present.empty or (present <= 0).any():
        return False
    return bool(present.max() / present.min() >= LOG_RATIO)


def _axis_columns(
    runs: pd.DataFrame, params: Sequence[str] | None, metrics: Sequence[str] | None
) -> list[tuple[str, str]]:
    """(column, axis title) pairs: params that vary across runs, then metrics."""
    if params is None:
        params = [
            c.removeprefix("params.")
            for c in runs.columns
            if c.startswith("params.") and varies(runs[c])
        ]
    if metrics is None:
        metrics = [c.removeprefix("metrics.") for c in runs.columns if c.startswith("metrics.")]
    params = [p for p in params if f"params.{p}" in runs.columns]
    metrics = [m for m in metrics if f"metrics.{m}" in runs.columns]
    clash = set(params) & set(metrics)
    out = [(f"params.{p}", f"params.{p}" if p in clash else p) for p in params]
    out += [(f"metrics.{m}", f"metrics.{m}" if m in clash else m) for m in metrics]
    return out[:MAX_AXES]


def _normalise(column: pd.Series) -> tuple[list[float | None], list[tuple[float, str]]]:
    """Positions in [0, 1] for a column's values, and the tick labels of its axis."""
    numbers = numeric_values(column)
    if numbers is None:
        categories = sorted({str(v) for v in column.dropna()})
        spread = max(len(categories) - 1, 1)
        where = {c: (i / spread if len(categories) > 1 else 0.5) for i, c in enumerate(categories)}
        positions = [None if pd.isna(v) else where[str(v)] for v in column]
        step = max(1, math.ceil(len(categories) / MAX_CATEGORY_TICKS))
        return positions, [(where[c], c) for c in categories[::step]]
    log = _wants_log(numbers)
    scaled = np.log10(numbers) if log else numbers
    lo, hi = scaled.min(), scaled.max()
    if pd.isna(lo):
        return [None] * len(column), []
    if hi == lo:
        return [None if pd.isna(v) else 0.5 for v in scaled], [(0.5, format_value(numbers.min()))]
    positions = [None if pd.isna(v) else float((v - lo) / (hi - lo)) for v in scaled]
    ticks = [(0.0, format_value(numbers.min())), (1.0, format_value(numbers.max()))]
    if log:
        ticks.append((0.5, format_value(float(10 ** ((lo + hi) / 2)))))
    return positions, ticks


def parallel_data(
    runs: pd.DataFrame,
    labels: dict[str, str],
    *,
    params: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows for :func:`parallel_coordinates`: one per run and axis, plus axis tick labels.

    Every axis is normalised to [0, 1]: numbers linearly (or in log space when positive
    and spread over two orders of magnitude), categories evenly in sorted order. Without
    ``params``, only params that differ between runs get an axis; without ``metrics``,
    every ``metrics.*`` column does. Columns: ``kind`` ("run" or "tick"), ``axis``,
    ``order``, ``pos``, ``text``, ``run``, ``run_id``.
    """
    rows: list[dict[str, Any]] = []
    ids = [str(r) for r in runs["run_id"]]
    for order, (column, title) in enumerate(_axis_columns(runs, params, metrics)):
        positions, ticks = _normalise(runs[column])
        rows.extend(
            {
                "kind": "run",
                "axis": title,
                "order": order,
                "pos": pos,
                "text": format_value(value),
                "run": labels.get(run_id, run_id),
                "run_id": run_id,
            }
            for run_id, pos, value in zip(ids, positions, runs[column], strict=True)
        )
        rows.extend(
            {"kind": "tick", "axis": title, "order": order, "pos": pos, "text": text}
            for pos, text in ticks
        )
    columns = ["kind", "axis", "order", "pos", "text", "run", "run_id"]
    return pd.DataFrame(rows, columns=columns)


def parallel_coordinates(
    data: pd.DataFrame,
    *,
    runs: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    name: str = "parallel",
    inline: bool = False,
    width: int | None = None,
    height: int = 300,
    interactive: bool = True,
) -> alt.LayerChart:
    """Parallel coordinates of params and metrics, one line per run (see :func:`parallel_data`).

    Clicking a line selects its run (parameter ``parallel_pick``).
    """
    run_rows = data[data["kind"] == "run"]
    labels = list(runs) if runs is not None else list(dict.fromkeys(run_rows["run"]))
    axes = list(dict.fromkeys(data.sort_values("order")["axis"]))
    width = width or max(360, min(900, 130 * len(axes)))
    x = alt.X(
        "axis:N",
        sort=axes,
        title=None,
        scale=alt.Scale(padding=0.3),
        axis=alt.Axis(
            orient="top", labelAngle=0, domain=False, ticks=False, labelFontWeight=600,
            labelFontSize=11, labelColor="#333", labelPadding=8, labelLimit=130,
        ),
    )  # fmt: skip
    # Padding keeps the end labels and dots of an axis clear of the chart's edge.
    y_scale = alt.Scale(domain=[0, 1], nice=False, zero=False, padding=10)
    y = alt.Y("pos:Q", scale=y_scale, axis=None)
    base = alt.Chart().encode(x=x)
    runs_only = base.transform_filter("datum.kind === 'run' && isValid(datum.pos)")
    ticks_only = base.transform_filter("datum.kind === 'tick'")
    axis_lines = (
        ticks_only.transform_aggregate(count="count()", groupby=["axis"])
        .mark_rule(color="#c8c8c8", strokeWidth=1)
        .encode(y=alt.YDatum(0, axis=None, scale=y_scale), y2=alt.Y2Datum(1))
    )
    # Under the chart: a wide chart leaves no room beside it, and names stay whole.
    color = run_color(labels, colors=colors, below=width)
    lines = runs_only.mark_line(strokeWidth=2).encode(
        y=y, color=color, detail="run:N", order="order:Q", opacity=focus_opacity(0.9, 0.12)
    )
    dots = runs_only.mark_circle(size=28).encode(
        y=y,
        color=color,
        opacity=focus_opacity(1.0, 0.12),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("axis:N"), alt.Tooltip("text:N", title="value")],
    )
    # An axis's labels sit where the lines cross it: each over a halo of the page's colour.
    tick_halo = (
        ticks_only.mark_text(
            align="left", dx=5, fontSize=10, baseline="middle",
            style=HALO_STYLE, strokeWidth=5, strokeJoin="round",
        )
        .encode(y=y, text="text:N")
        .properties(name="parallel_label_halo")
    )  # fmt: skip
    tick_text = (
        ticks_only.mark_text(align="left", dx=5, fontSize=10, baseline="middle", color="#666")
        .encode(y=y, text="text:N")
        .properties(name="parallel_label")
    )
    layers = [axis_lines, lines, dots, tick_halo, tick_text]
    if interactive:
        hit = (
            runs_only.mark_line(strokeWidth=10, opacity=0)
            .encode(y=y, detail="run:N", order="order:Q", tooltip=[alt.Tooltip("run:N")])
            .add_params(pick(PARALLEL_PICK))
            .properties(name="parallel_hit")
        )
        layers.insert(3, hit)
    chart = (
        alt.layer(*layers, data=source(name))
        .properties(width=width, height=height)
        .add_params(focus_param())
    )
    # The axes are the frame here; a box around them would read as one more axis.
    return finish(chart, {name: data}, inline=inline, frame=False)  # type: ignore[no-any-return]


def scatter_data(
    runs: pd.DataFrame, labels: dict[str, str], param: str, metric: str
) -> pd.DataFrame:
    """Rows for :func:`param_scatter`: ``run``, ``run_id``, ``x`` (the param), ``y`` (the metric).

    ``x`` is numeric when every value of the param is a number, text otherwise. Runs
    without either value are left out.
    """
    param_col, metric_col = f"params.{param}", f"metrics.{metric}"
    ids = [str(r) for r in runs["run_id"]]
    xs: pd.Series = runs[param_col] if param_col in runs.columns else pd.Series([None] * len(ids))
    numbers = numeric_values(xs.reset_index(drop=True))
    x_values = numbers if numbers is not None else xs.reset_index(drop=True).astype(object)
    y_values = (
        pd.to_numeric(runs[metric_col], errors="coerce").reset_index(drop=True)
        if metric_col in runs.columns
        else pd.Series([np.nan] * len(ids))
    )
    frame = pd.DataFrame(
        {
            "run": [labels.get(r, r) for r in ids],
            "run_id": ids,
            "x": x_values,
            "y": y_values.astype("float64"),
        }
    )
    return frame[frame["x"].notna() & frame["y"].notna()].reset_index(drop=True)


# Pixels between the extreme points and the plot's edge: a point stays whole, and a
# brush can start beyond it.
_PAD: Final = 14


def _linear() -> alt.Scale:
    return alt.Scale(zero=False, nice=False, padding=_PAD)


def param_scatter(
    data: pd.DataFrame,
    *,
    x_title: str,
    y_title: str,
    runs: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    log_x: bool | None = None,
    log_y: bool = False,
    name: str = "scatter",
    inline: bool = False,
    interactive: bool = True,
) -> alt.Chart:
    """A param (x) against a metric (y), one point per run (see :func:`scatter_data`).

    A numeric param gets a log axis when its values span two orders of magnitude
    (``log_x=None``). Clicking a point selects its run (``scatter_pick``); dragging a
    rectangle selects every run inside it (``scatter_brush``).
    """
    labels = list(runs) if runs is not None else list(dict.fromkeys(data["run"]))
    numeric = pd.api.types.is_numeric_dtype(data["x"]) if len(data) else True
    if numeric:
        use_log = _wants_log(data["x"]) if log_x is None else log_x
        x_scale = alt.Scale(type="log", padding=_PAD) if use_log else _linear()
        x = alt.X("x:Q", title=x_title, scale=x_scale)
    else:
        x = alt.X("x:N", title=x_title, sort="ascending", axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(type="log", padding=_PAD) if log_y else _linear()
    brush = alt.selection_interval(name=SCATTER_BRUSH, encodings=["x", "y"])
    chart = (
        alt.Chart(source(name))
        .mark_point(filled=True, size=110, stroke="white", strokeWidth=1)
        .encode(
            x=x,
            y=alt.Y("y:Q", title=y_title, scale=y_scale),
            color=run_color(labels, colors=colors, symbol_size=90),
            opacity=focus_opacity(0.95, 0.2),
            tooltip=[
                alt.Tooltip("run:N"),
                alt.Tooltip("x", title=x_title, type="quantitative" if numeric else "nominal"),
                alt.Tooltip("y:Q", title=y_title, format=".4~g"),
            ],
        )
        .add_params(focus_param())
        .properties(width=520, height=320)
    )
    if interactive:
        chart = chart.add_params(pick(SCATTER_PICK, nearest=True), brush)
    return finish(chart, {name: data}, inline=inline)  # type: ignore[no-any-return]


def final_values(
    runs: pd.DataFrame, labels: dict[str, str], metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows for :func:`final_bars`: the latest value of each metric of each run.

    Columns ``run``, ``run_id``, ``key``, ``value``; missing values are left out.
    """
    if metrics is None:
        metrics = [c.removeprefix("metrics.") for c in runs.columns if c.startswith("metrics.")]
    ids = [str(r) for r in runs["run_id"]]
    rows = [
        {"run": labels.get(run_id, run_id), "run_id": run_id, "key": key, "value": float(value)}
        for key in metrics
        if f"metrics.{key}" in runs.columns
        for run_id, value in zip(ids, runs[f"metrics.{key}"], strict=True)
        if value is not None and not pd.isna(value) and math.isfinite(float(value))
    ]
    return pd.DataFrame(rows, columns=["run", "run_id", "key", "value"])


def final_bars(
    data: pd.DataFrame,
    *,
    runs: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    name: str = "finals",
    inline: bool = False,
    interactive: bool = True,
) -> alt.FacetChart:
    """One horizontal bar per run for each metric's latest value; a panel per metric.

    Clicking a bar selects its run (parameter ``bars_pick``).
    """
    labels = list(runs) if runs is not None else list(dict.fromkeys(data["run"]))
    panels = list(keys) if keys is not None else list(dict.fromkeys(data["key"]))
    columns = 1 if len(panels) <= 1 else 2 if len(panels) <= 4 else 3  # noqa: PLR2004
    width = {1: 560, 2: 330, 3: 220}[columns]
    y = alt.Y("run:N", sort=labels, title=None, axis=alt.Axis(labelLimit=150))
    base = alt.Chart().encode(y=y)
    bars = (
        base.mark_bar(cornerRadiusEnd=2, height={"band": 0.72})
        .encode(
            x=alt.X("value:Q", title=None, axis=alt.Axis(tickCount=4)),
            color=run_color(labels, colors=colors, legend=False),
            opacity=focus_opacity(1.0, 0.25),
            tooltip=[
                alt.Tooltip("run:N"),
                alt.Tooltip("key:N", title="metric"),
                alt.Tooltip("value:Q", format=".6~g"),
            ],
        )
        .properties(name="bars_bars")
    )
    if interactive:
        bars = bars.add_params(pick(BARS_PICK))
    # Labels sit beyond the end of the bar, on whichever side it grows.
    text = base.mark_text(
        align=alt.ExprRef("datum.value < 0 ? 'right' : 'left'"),
        dx=alt.ExprRef("datum.value < 0 ? -3 : 3"),
        fontSize=10,
        color="#444",
    ).encode(x="value:Q", text=alt.Text("value:Q", format=".4~g"))
    chart = (
        alt.layer(bars, text, data=source(name))
        .properties(width=width, height=alt.Step(20))
        .facet(
            facet=alt.Facet("key:N", title=None, sort=panels),
            columns=columns,
            spacing={"row": 16, "column": 28},
        )
        .resolve_scale(x="independent")
        .add_params(focus_param())
    )
    return finish(chart, {name: data}, inline=inline)  # type: ignore[no-any-return]
