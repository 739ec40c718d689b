"""A model's evaluation as charts: confusion matrix, curves, residuals, feature importance.

Pure, as the rest of the package: each function takes the rows of one plot (worked out
by ``canvasback.models.evaluation``) and returns an Altair chart that reads them from a
dataset named after the plot (:data:`PLOTS`), carried inline by default so that the
chart renders, saves and displays on its own. A run's saved chart spec therefore holds
its rows under that name, which is what :func:`overlay_evaluation` draws several runs'
curves from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

import altair as alt
import pandas as pd

from canvasback.charts._common import (
    finish,
    focus_opacity,
    focus_param,
    palette,
    pick,
    run_color,
    source,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CURVE_PLOTS",
    "EVALUATION_PICK",
    "PLOTS",
    "confusion_matrix_chart",
    "curve_chart",
    "feature_importance_chart",
    "overlay_evaluation",
    "predicted_vs_actual_chart",
    "residuals_chart",
]

PLOTS: Final = (
    "confusion_matrix",
    "roc",
    "pr",
    "calibration",
    "feature_importance",
    "residuals",
    "predicted_vs_actual",
)
"""Every plot's name, which is also the name of the dataset its chart reads."""

EVALUATION_PICK: Final = "evaluation_pick"

CURVE_PLOTS: Final = ("roc", "pr", "calibration")
"""Plots of curves (columns ``class``, ``curve``, ``x``, ``y``): several runs overlay."""

_CURVES: Final = {
    # plot: (title, x title, y title, the reference line's two ends)
    "roc": ("ROC curve", "False positive rate", "True positive rate", ((0, 0), (1, 1))),
    "pr": ("Precision recall curve", "Recall", "Precision", ((0, 1), (1, 0))),
    "calibration": (
        "Calibration curve",
        "Mean predicted probability",
        "Fraction of positives",
        ((0, 0), (1, 1)),
    ),
}
_SQUARE: Final = 300
_REFERENCE: Final = "reference"
_GREY: Final = "#9a9a9a"


def _unit_axes(x_title: str, y_title: str) -> tuple[alt.X, alt.Y]:
    """Both axes of a curve: rates and probabilities, from 0 to 1."""
    unit = alt.Scale(domain=[0, 1])
    return alt.X("x:Q", title=x_title, scale=unit), alt.Y("y:Q", title=y_title, scale=unit)


def _reference_line(plot: str, x: alt.X, y: alt.Y) -> tuple[alt.Chart, pd.DataFrame]:
    """The dashed line a curve is read against (chance, or perfect calibration).

    It takes the curves' own axes: two layers' axes that differ are drawn twice.
    """
    (x0, y0), (x1, y1) = _CURVES[plot][3]
    ends = pd.DataFrame({"x": [x0, x1], "y": [y0, y1]})
    line = (
        alt.Chart(source(_REFERENCE))
        .mark_line(color=_GREY, strokeDash=[4, 4], strokeWidth=1)
        .encode(x=x, y=y)
    )
    return line, ends


def _interpolation(plot: str) -> Literal["linear", "step-after"]:
    """ROC and PR curves are steps; a calibration curve joins its bins' points."""
    return "linear" if plot == "calibration" else "step-after"


def _check_plot(plot: str, allowed: Sequence[str]) -> None:
    if plot not in allowed:
        msg = f"Unknown plot {plot!r}: use one of {', '.join(map(repr, allowed))}"
        raise ValueError(msg)


def _title(text: str, subtitle: str | None) -> alt.TitleParams:
    return alt.TitleParams(text, subtitle=subtitle or alt.Undefined, subtitleColor="#666")


def curve_chart(
    curves: pd.DataFrame, plot: str, *, subtitle: str | None = None, inline: bool = True
) -> alt.LayerChart:
    """A ROC, precision-recall or calibration chart: one line per ``curve`` label.

    ``curves`` has columns ``class``, ``curve`` (the legend's text, such as
    ``AUC=0.953``), ``x`` and ``y``, in drawing order within each curve.
    """
    _check_plot(plot, CURVE_PLOTS)
    title, x_title, y_title, _ = _CURVES[plot]
    labels = list(dict.fromkeys(curves["curve"]))
    interpolate = _interpolation(plot)
    x, y = _unit_axes(x_title, y_title)
    lines = (
        alt.Chart(source(plot))
        .mark_line(interpolate=interpolate, strokeWidth=2, point=plot == "calibration")
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "curve:N",
                sort=labels,
                scale=alt.Scale(domain=labels, range=palette(len(labels))),
                # Under the chart: inside it, a legend hides part of some curve.
                legend=alt.Legend(
                    title=None, orient="bottom", direction="vertical", labelLimit=300
                ),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("curve:N"),
                alt.Tooltip("x:Q", title=x_title, format=".3f"),
                alt.Tooltip("y:Q", title=y_title, format=".3f"),
            ],
        )
    )
    reference, ends = _reference_line(plot, x, y)
    rows = curves.assign(order=range(len(curves)))
    chart = alt.layer(reference, lines).properties(
        title=_title(title, subtitle), width=_SQUARE, height=_SQUARE
    )
    return finish(chart, {plot: rows, _REFERENCE: ends}, inline=inline)  # type: ignore[no-any-return]


def confusion_matrix_chart(
    cells: pd.DataFrame,
    classes: Sequence[str],
    *,
    subtitle: str | None = None,
    inline: bool = True,
) -> alt.LayerChart:
    """The confusion matrix, each cell's share of its true class (rows sum to 1).

    ``cells`` has one row per (``actual``, ``predicted``) pair with its ``count`` and
    ``share``; ``classes`` orders both axes.
    """
    order = [str(c) for c in classes]
    side = max(160, min(520, 46 * len(order)))
    base = alt.Chart(source("confusion_matrix")).encode(
        x=alt.X("predicted:N", sort=order, title="Predicted label", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("actual:N", sort=order, title="True label"),
    )
    cells_mark = base.mark_rect().encode(
        color=alt.Color(
            "share:Q",
            scale=alt.Scale(scheme="blues", domain=[0, 1]),
            legend=alt.Legend(title="share", format=".0%"),
        ),
        tooltip=[
            alt.Tooltip("actual:N", title="true label"),
            alt.Tooltip("predicted:N", title="predicted"),
            alt.Tooltip("count:Q"),
            alt.Tooltip("share:Q", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=11 if len(order) <= 10 else 8).encode(  # noqa: PLR2004
        text=alt.Text("share:Q", format=".2f"),
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#222")),
    )
    chart = alt.layer(cells_mark, text).properties(
        title=_title("Normalized confusion matrix", subtitle), width=side, height=side
    )
    return finish(chart, {"confusion_matrix": cells}, inline=inline)  # type: ignore[no-any-return]


def _scatter(
    points: pd.DataFrame,
    plot: str,
    x: tuple[str, str],
    y: tuple[str, str],
    reference: pd.DataFrame,
    *,
    title: str,
    subtitle: str | None,
    inline: bool,
) -> alt.LayerChart:
    """Dots, and a dashed reference drawn from its own rows in the dots' fields.

    The reference's rows are not the dots': a line drawn from those would be drawn once
    per dot (a thousand dashed lines to rasterize into each PNG).
    """
    x_axis = alt.X(f"{x[0]}:Q", title=x[1], scale=alt.Scale(zero=False))
    y_axis = alt.Y(f"{y[0]}:Q", title=y[1], scale=alt.Scale(zero=False))
    dots = (
        alt.Chart(source(plot))
        .mark_circle(size=14, opacity=0.45, color=palette(1)[0])
        .encode(
            x=x_axis,
            y=y_axis,
            tooltip=[
                alt.Tooltip(f"{x[0]}:Q", title=x[1], format=".4~g"),
                alt.Tooltip(f"{y[0]}:Q", title=y[1], format=".4~g"),
            ],
        )
    )
    lines = alt.Chart(source(_REFERENCE))
    if x[0] in reference:
        line = lines.mark_line(color=_GREY, strokeDash=[4, 4]).encode(x=x_axis, y=y_axis)
    else:  # a level: a rule across the whole width
        line = lines.mark_rule(color=_GREY, strokeDash=[4, 4]).encode(y=y_axis)
    chart = alt.layer(dots, line).properties(
        title=_title(title, subtitle), width=_SQUARE + 60, height=_SQUARE
    )
    data = {plot: points, _REFERENCE: reference}
    return finish(chart, data, inline=inline)  # type: ignore[no-any-return]


def residuals_chart(
    points: pd.DataFrame, *, subtitle: str | None = None, inline: bool = True
) -> alt.LayerChart:
    """Residuals (true minus predicted) against the prediction, around a zero line.

    ``points`` has columns ``predicted`` and ``residual`` (a sample, for big data).
    """
    return _scatter(
        points,
        "residuals",
        ("predicted", "Predicted value"),
        ("residual", "Residual (true - predicted)"),
        pd.DataFrame({"residual": [0.0]}),
        title="Residuals",
        subtitle=subtitle,
        inline=inline,
    )


def predicted_vs_actual_chart(
    points: pd.DataFrame, *, subtitle: str | None = None, inline: bool = True
) -> alt.LayerChart:
    """Predicted against true values, with the line where they are equal.

    ``points`` has columns ``actual`` and ``predicted`` (a sample, for big data).
    """
    values = pd.concat([points["actual"], points["predicted"]])
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    return _scatter(
        points,
        "predicted_vs_actual",
        ("actual", "True value"),
        ("predicted", "Predicted value"),
        pd.DataFrame({"actual": [low, high], "predicted": [low, high]}),
        title="Predicted vs true",
        subtitle=subtitle,
        inline=inline,
    )


def feature_importance_chart(
    importances: pd.DataFrame,
    *,
    value_title: str = "importance",
    subtitle: str | None = None,
    inline: bool = True,
) -> alt.Chart:
    """One bar per feature, the most important on top (``feature``, ``importance``)."""
    order = list(importances.sort_values("importance", ascending=False)["feature"])
    chart = (
        alt.Chart(source("feature_importance"))
        .mark_bar(color=palette(1)[0], cornerRadiusEnd=2)
        .encode(
            x=alt.X("importance:Q", title=value_title, axis=alt.Axis(tickCount=5, format="~g")),
            y=alt.Y("feature:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
            tooltip=[alt.Tooltip("feature:N"), alt.Tooltip("importance:Q", format=".4~g")],
        )
        .properties(
            title=_title("Feature importance", subtitle), width=_SQUARE, height=alt.Step(16)
        )
    )
    return finish(chart, {"feature_importance": importances}, inline=inline)  # type: ignore[no-any-return]


def overlay_evaluation(
    curves: pd.DataFrame,
    plot: str = "roc",
    *,
    runs: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    inline: bool = True,
    interactive: bool = False,
) -> alt.LayerChart:
    """One plot's curves of several runs in one chart, a colour per run.

    ``curves`` has columns ``run`` (the run's label), ``class``, ``x`` and ``y``: the
    rows of each run's evaluation chart of ``plot`` (``roc``, ``pr`` or
    ``calibration``). A multiclass model's curves (one per class) differ by dash.
    ``runs`` orders the legend and ``colors`` gives each run's colour, in that order.
    Like the other charts of runs it declares ``focus``; ``interactive`` adds a click
    selection of runs (``evaluation_pick``, on curves and legend).
    """
    _check_plot(plot, CURVE_PLOTS)
    title, x_title, y_title, _ = _CURVES[plot]
    labels = list(runs) if runs is not None else list(dict.fromkeys(curves["run"]))
    classes = list(dict.fromkeys(curves["class"])) if "class" in curves else []
    interpolate = _interpolation(plot)
    x, y = _unit_axes(x_title, y_title)
    encoding: dict[str, Any] = {
        "x": x,
        "y": y,
        "color": run_color(labels, colors=colors),
        "opacity": focus_opacity(1.0, 0.2),
        "order": alt.Order("order:Q"),
        "tooltip": [
            alt.Tooltip("run:N"),
            alt.Tooltip("class:N"),
            alt.Tooltip("x:Q", title=x_title, format=".3f"),
            alt.Tooltip("y:Q", title=y_title, format=".3f"),
        ],
    }
    if len(classes) > 1:
        encoding["strokeDash"] = alt.StrokeDash("class:N", sort=classes, title="class")
    else:
        encoding["detail"] = "class:N"
    lines = (
        alt.Chart(source(plot))
        .mark_line(interpolate=interpolate, strokeWidth=2, point=plot == "calibration")
        .encode(**encoding)
        .add_params(focus_param())
    )
    if interactive:
        lines = lines.add_params(pick(EVALUATION_PICK, legend=True))
    reference, ends = _reference_line(plot, x, y)
    rows = curves.assign(order=range(len(curves)))
    chart = alt.layer(reference, lines).properties(
        title=_title(title, f"{len(labels)} runs"), width=_SQUARE + 40, height=_SQUARE
    )
    return finish(chart, {plot: rows, _REFERENCE: ends}, inline=inline)  # type: ignore[no-any-return]
