"""Metric histories: one panel per metric key, one line per run, optional EMA smoothing.

A key that no run logged more than once (scikit-learn's usual ``test_acc``) has no line
to draw: its panel is a bar per run of its value instead, as MLflow draws it, rather
than an empty axis around one x. A run with a single point among others' lines is a dot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

import altair as alt
import numpy as np
import pandas as pd

from canvasback.charts._common import (
    finish,
    focus_opacity,
    focus_param,
    pick_over,
    run_color,
    source,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

__all__ = [
    "HISTORY_HOVER",
    "HISTORY_PICK",
    "HISTORY_ZOOM",
    "X_TITLES",
    "ema",
    "history_chart",
    "logged_once",
    "relative_time_unit",
    "smooth_history",
]

HISTORY_PICK: Final = "history_pick"
# Pointer over a panel: the step nearest it, whose every run's value the tooltip lists.
HISTORY_HOVER: Final = "history_hover"
# A drag across a panel: the x range to zoom into (the widget fetches it anew).
HISTORY_ZOOM: Final = "history_zoom"

X_TITLES: Final = {"step": "step", "wall_time": "wall time", "relative_time": "relative time"}

# (largest span in seconds it suits, divisor, unit) for the relative-time axis.
_TIME_UNITS: Final = ((120.0, 1.0, "s"), (7200.0, 60.0, "min"), (172800.0, 3600.0, "h"))

MAX_SMOOTHING: Final = 0.999


def ema(values: npt.ArrayLike, weight: float, counts: npt.ArrayLike | None = None) -> np.ndarray:
    """TensorBoard's debiased exponential moving average of ``values``.

    ``weight`` in [0, 1) is the smoothing slider: 0 leaves values as they are. With
    ``counts``, ``values[i]`` is the mean of ``counts[i]`` consecutive points (a bucket of
    a downsampled series) and is weighted as that many points, so the result matches
    smoothing the full-resolution series, whatever the downsampling kept.
    """
    if not 0.0 <= weight <= MAX_SMOOTHING:
        msg = f"smoothing must be between 0 and {MAX_SMOOTHING}, not {weight!r}"
        raise ValueError(msg)
    data = np.asarray(values, dtype="float64")
    sizes = np.ones_like(data) if counts is None else np.asarray(counts, dtype="float64")
    out = np.empty_like(data)
    level = 0.0
    seen = 0.0
    # A plain loop: the recurrence is sequential, and downsampled series are short.
    for i, (value, size) in enumerate(zip(data.tolist(), sizes.tolist(), strict=True)):
        keep = weight**size
        level = level * keep + (1.0 - keep) * value
        seen += size
        debias = 1.0 - weight**seen
        out[i] = level / debias if debias > 0 else value
    return out


def smooth_history(history: pd.DataFrame, smoothing: float) -> pd.DataFrame:
    """``history`` with a ``smoothed`` column: the EMA of each (run, key) series.

    Rows of a downsampled history (see ``canvasback.widgets._history``) carry the point
    count ``n`` and ``mean`` of their bucket on the bucket's last row; the EMA runs over
    those buckets and its value lands on that row, other rows get null. A history without
    ``n`` is smoothed point by point. Rows must be sorted by x within each series.
    """
    out = history.copy()
    if smoothing <= 0 or out.empty:
        out["smoothed"] = np.nan
        return out
    if "n" in out.columns and "mean" in out.columns:
        has = out["n"].notna().to_numpy()
        values = out["mean"].to_numpy(dtype="float64", na_value=np.nan)
        counts = out["n"].to_numpy(dtype="float64", na_value=np.nan)
    else:
        has = np.ones(len(out), dtype=bool)
        values = out["value"].to_numpy(dtype="float64")
        counts = np.ones(len(out))
    smoothed = np.full(len(out), np.nan)
    run = "run_id" if "run_id" in out.columns else "run"
    series = out.groupby([run, "key"], sort=False, observed=True).indices
    for positions in series.values():
        rows = np.asarray(positions)
        mine = rows[has[rows]]
        if len(mine):
            smoothed[mine] = ema(values[mine], smoothing, counts[mine])
    out["smoothed"] = smoothed
    return out


def relative_time_unit(max_seconds: float) -> tuple[float, str]:
    """The divisor and unit that keep a relative-time axis readable (s, min, h or d)."""
    for limit, divisor, unit in _TIME_UNITS:
        if max_seconds <= limit:
            return divisor, unit
    return 86400.0, "d"


def _panel_layout(keys: int) -> tuple[int, int, int]:
    """Columns, panel width and height for ``keys`` panels in a ~900 px wide output."""
    if keys <= 1:
        return 1, 680, 260
    if keys <= 4:  # noqa: PLR2004 - two columns up to a 2x2 grid
        return 2, 360, 210
    return 3, 240, 170


def history_chart(
    history: pd.DataFrame,
    *,
    runs: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    x: str = "step",
    x_title: str | None = None,
    smoothing: float = 0.0,
    log_y: bool = False,
    name: str = "history",
    inline: bool = False,
    interactive: bool = True,
    x_range: tuple[float, float] | None = None,
) -> alt.ConcatChart:
    """Metric histories overlaid per run, one panel per metric key.

    ``history`` has columns ``run`` (label), ``key``, ``x``, ``value`` and,
    when ``smoothing > 0``, ``smoothed`` (added with :func:`smooth_history` if missing).
    With smoothing the raw line stays faintly behind the smoothed one, as in TensorBoard.
    ``x`` is ``step``, ``wall_time`` (x in epoch milliseconds) or ``relative_time``.
    The rows are the named dataset ``name``; ``inline=True`` embeds them too.
    Clicking a line or a legend entry selects its run (parameter ``history_pick``);
    ``interactive=False`` leaves out what only a live chart needs (for static images).
    Interactive charts also show, on hover, every run's value at the nearest x, and
    report a drag across a panel as the interval parameter ``history_zoom``;
    ``x_range`` fixes the x axis to a zoomed range. ``colors`` are the runs' colours, in
    the order of ``runs``.
    """
    if x not in X_TITLES:
        msg = f"x must be one of {', '.join(X_TITLES)}, not {x!r}"
        raise ValueError(msg)
    if smoothing > 0 and "smoothed" not in history.columns:
        history = smooth_history(history, smoothing)
    labels = list(runs) if runs is not None else list(dict.fromkeys(history["run"]))
    panels = list(keys) if keys is not None else list(dict.fromkeys(history["key"]))
    columns, width, height = _panel_layout(len(panels))
    x_type: Literal["temporal", "quantitative"] = "temporal" if x == "wall_time" else "quantitative"
    x_scale = alt.Scale(domain=list(x_range)) if x_range is not None else alt.Undefined
    x_enc = alt.X(
        "x", type=x_type, title=x_title or X_TITLES[x], axis=alt.Axis(tickCount=6), scale=x_scale
    )
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False, nice=True)
    # A panel's title sits above everything the panel draws: flush end labels and
    # clipped lines keep that the plot's top edge, so the titles of a row stay in line.
    y_axis = alt.Axis(tickCount=5, labelFlush=True)
    y_enc = alt.Y("value:Q", title=None, scale=y_scale, axis=y_axis)
    color = run_color(labels, colors=colors)
    tooltip: list[Any] = [
        alt.Tooltip("run:N"),
        alt.Tooltip("key:N", title="metric"),
    ]
    base = alt.Chart().encode(x=x_enc, color=color, detail="run:N")
    if log_y:  # a log scale cannot place zero or negative values
        base = base.transform_filter("datum.value > 0")
    smoothed = smoothing > 0
    once = logged_once(history)
    cells = []
    # One view per key rather than a facet: a facet's wrapped headers are placed from
    # each cell's bounds and drift out of line; a title framed by the group does not.
    for i, key in enumerate(panels):
        if key in once:
            cells.append(_value_cell(i, key, color, labels, width, height))
            continue
        raw = (
            base.mark_line(strokeWidth=1 if smoothed else 1.75, interpolate="linear", clip=True)
            .encode(
                y=y_enc,
                opacity=focus_opacity(0.28, 0.06) if smoothed else focus_opacity(1.0, 0.15),
            )
            .properties(name=f"history_raw_{i}")
        )
        # A run with one point in this key draws no line: a dot shows it.
        dot = (
            base.transform_joinaggregate(points="count()", groupby=["run"])
            .transform_filter("datum.points == 1")
            .mark_point(filled=True, size=36, clip=True)
            .encode(y=y_enc, opacity=focus_opacity(1.0, 0.15))
            .properties(name=f"history_dot_{i}")
        )
        layers = [raw, dot]
        if smoothed:
            smooth = (
                base.transform_filter("isValid(datum.smoothed)")
                .mark_line(strokeWidth=2, clip=True)
                .encode(y=alt.Y("smoothed:Q", title=None), opacity=focus_opacity(1.0, 0.15))
                .properties(name=f"history_smooth_{i}")
            )
            layers.append(smooth)
        if interactive:
            # Below the click targets, so that a line stays clickable over its rules.
            layers.append(_hover_rule(i, labels, x_enc, x_title or X_TITLES[x]))
            # An invisible, wide copy of the line on top makes a 2 px line easy to click.
            hit = (
                base.mark_line(strokeWidth=10, opacity=0, interpolate="linear", clip=True)
                .encode(y=y_enc, tooltip=tooltip)
                .properties(name=f"history_hit_{i}")
            )
            layers.append(hit)
        title = alt.Title(text=key, frame="group", anchor="middle", offset=6, fontSize=12)
        cells.append(
            alt.layer(*layers)
            # A predicate object, not an expression: the key is data, never code.
            .transform_filter(alt.FieldEqualPredicate(field="key", equal=key))
            .properties(width=width, height=height, title=title)
        )
    chart = (
        alt.concat(*cells, columns=columns, spacing={"row": 22, "column": 28}, data=source(name))
        .resolve_scale(y="independent", x="independent", color="shared")
        .add_params(focus_param())
    )
    if interactive:
        # One selection over every panel's click target, declared once at the top.
        lines = [i for i, key in enumerate(panels) if key not in once]
        views = [f"history_hit_{i}" for i in lines]
        picks = [*views, *(f"history_value_{i}" for i, key in enumerate(panels) if key in once)]
        params = [*chart.params, pick_over(HISTORY_PICK, picks, legend=True)]
        if lines:
            hover = alt.TopLevelSelectionParameter(
                name=HISTORY_HOVER,
                select=alt.PointSelectionConfig(
                    type="point", fields=["x"], on="pointermove", nearest=True, clear="pointerout"
                ),
                views=[f"history_hover_{i}" for i in lines],
            )
            zoom = alt.TopLevelSelectionParameter(
                name=HISTORY_ZOOM,
                select=alt.IntervalSelectionConfig(type="interval", encodings=["x"]),
                views=views,
            )
            params += [hover, zoom]
        chart.params = params
    return finish(chart, {name: history}, inline=inline)  # type: ignore[no-any-return]


def logged_once(history: pd.DataFrame) -> set[str]:
    """The keys of ``history`` that no run has more than one point of."""
    if history.empty:
        return set()
    most = history.groupby(["key", "run"], observed=True).size().groupby(level=0).max()
    return {str(key) for key, count in most.items() if count <= 1}


def _value_cell(
    index: int, key: str, color: alt.Color, labels: Sequence[str], width: int, height: int
) -> Any:  # noqa: ANN401 - an Altair layer
    """A key logged once per run: a bar per run of its value, in the runs' colours."""
    value = alt.X("value:Q", title=None, axis=alt.Axis(tickCount=4))
    base = alt.Chart().encode(
        y=alt.Y("run:N", sort=list(labels), title=None, axis=alt.Axis(labelLimit=120)),
        x=value,
    )
    bars = (
        base.mark_bar(cornerRadiusEnd=2, height={"band": 0.7})
        .encode(
            color=color,
            opacity=focus_opacity(1.0, 0.25),
            tooltip=[
                alt.Tooltip("run:N"),
                alt.Tooltip("key:N", title="metric"),
                alt.Tooltip("value:Q", format=".6~g"),
            ],
        )
        .properties(name=f"history_value_{index}")
    )
    text = base.mark_text(align="left", dx=3, fontSize=10, color="#444").encode(
        text=alt.Text("value:Q", format=".4~g")
    )
    title = alt.Title(
        text=key,
        subtitle="logged once: its value per run",
        frame="group",
        anchor="middle",
        offset=6,
        fontSize=12,
        subtitleFontSize=10,
        subtitleColor="#777",
    )
    return (
        alt.layer(bars, text)
        .transform_filter(alt.FieldEqualPredicate(field="key", equal=key))
        .properties(width=width, height=height, title=title)
    )


def _field(label: str) -> str:
    # Vega-Lite reads dots and brackets in a field name as a path: escape them.
    return "".join(f"\\{c}" if c in ".[]\\" else c for c in label)


def _hover_rule(index: int, labels: Sequence[str], x_enc: alt.X, x_title: str) -> alt.Chart:
    """A rule at the x nearest the pointer whose tooltip lists each run's value there."""
    tooltip = [alt.Tooltip("x:Q", title=x_title, format="~g")]
    # field= with a type: a shorthand string would read a colon in a run name as a type.
    tooltip += [
        alt.Tooltip(field=_field(label), type="quantitative", title=label, format=".4~g")
        for label in labels
    ]
    rule: alt.Chart = (
        alt.Chart()
        .transform_pivot("run", value="value", groupby=["x"])
        .mark_rule(color="#888", strokeWidth=1)
        .encode(
            x=x_enc,
            opacity=alt.condition(
                alt.param(HISTORY_HOVER, empty=False), alt.value(0.7), alt.value(0)
            ),
            tooltip=tooltip,
        )
        .properties(name=f"history_hover_{index}")
    )
    return rule


def history_frame(
    table: Any,  # noqa: ANN401 - a pyarrow Table or a DataFrame of downsampled rows
    labels: dict[str, str],
    *,
    x: str = "step",
    smoothing: float = 0.0,
) -> tuple[pd.DataFrame, str]:
    """A downsampled history table ready for :func:`history_chart`, and its x title.

    Adds the ``run`` label column, converts relative time to a readable unit and wall
    time to numbers, and smooths.
    """
    frame = table if isinstance(table, pd.DataFrame) else table.to_pandas()
    frame = frame.astype({"run_id": "string", "key": "string"}).astype(
        {"run_id": object, "key": object}
    )
    frame["run"] = frame["run_id"].map(labels).fillna(frame["run_id"])
    title = X_TITLES.get(x, x)
    if x == "relative_time" and not frame.empty:
        divisor, unit = relative_time_unit(float(frame["x"].max()))
        frame["x"] = frame["x"] / divisor
        title = f"relative time ({unit})"
    frame = smooth_history(frame, smoothing)
    return frame, title
