"""Charts of runs as Altair specs: pure functions from DataFrames to charts.

Nothing here reads the store; the ``Compare`` widget fetches the rows and these functions
describe how to draw them, so the specs can be tested without a store or a browser.

Every chart reads its rows from a *named* dataset (``{"data": {"name": ...}}``), which
lets the widget send rows as Arrow bytes apart from the spec. Pass ``inline=True`` to
get a chart that carries its rows and displays on its own. Every chart colours runs by
label with the same explicit scale (``colors``, one per run in the order of ``runs``, or
the palette's), declares a ``focus`` parameter (the runs to highlight) and a selection
parameter that reports which run was clicked or brushed.

A model's evaluation has its charts here too (``evaluation.py``): confusion matrix,
ROC, precision-recall and calibration curves, residuals, predicted vs true, feature
importance, and ``overlay_evaluation``, one plot's curves of several runs in one chart.

Typical use::

    runs = canvasback.search_runs()
    labels = charts.run_labels(runs)
    rows = charts.final_values(runs, labels, ["accuracy"])
    charts.final_bars(rows, runs=list(labels.values()), inline=True)
"""

from __future__ import annotations

from canvasback.charts._common import (
    CONFIG,
    FOCUS_PARAM,
    palette,
    records,
    run_labels,
)
from canvasback.charts.evaluation import (
    confusion_matrix_chart,
    curve_chart,
    feature_importance_chart,
    overlay_evaluation,
    predicted_vs_actual_chart,
    residuals_chart,
)
from canvasback.charts.history import (
    HISTORY_PICK,
    MAX_SMOOTHING,
    X_TITLES,
    ema,
    history_chart,
    history_frame,
    relative_time_unit,
    smooth_history,
)
from canvasback.charts.params import differing, params_diff, params_table
from canvasback.charts.runs import (
    BARS_PICK,
    PARALLEL_PICK,
    SCATTER_BRUSH,
    SCATTER_PICK,
    final_bars,
    final_values,
    format_value,
    numeric_values,
    parallel_coordinates,
    parallel_data,
    param_scatter,
    scatter_data,
)

__all__ = [
    "BARS_PICK",
    "CONFIG",
    "FOCUS_PARAM",
    "HISTORY_PICK",
    "MAX_SMOOTHING",
    "PARALLEL_PICK",
    "SCATTER_BRUSH",
    "SCATTER_PICK",
    "X_TITLES",
    "confusion_matrix_chart",
    "curve_chart",
    "differing",
    "ema",
    "feature_importance_chart",
    "final_bars",
    "final_values",
    "format_value",
    "history_chart",
    "history_frame",
    "numeric_values",
    "overlay_evaluation",
    "palette",
    "parallel_coordinates",
    "parallel_data",
    "param_scatter",
    "params_diff",
    "params_table",
    "predicted_vs_actual_chart",
    "records",
    "relative_time_unit",
    "residuals_chart",
    "run_labels",
    "scatter_data",
    "smooth_history",
]
