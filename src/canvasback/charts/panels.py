"""The set of charts a run comparison shows, built from frames in one place.

The ``Compare`` widget and its static view both draw these panels; keeping their
assembly here (pure, no store) means the live and the saved view cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from canvasback.charts._common import palette
from canvasback.charts.evaluation import overlay_evaluation
from canvasback.charts.history import history_chart
from canvasback.charts.params import differing, params_table, with_provenance
from canvasback.charts.runs import (
    final_bars,
    final_values,
    parallel_coordinates,
    parallel_data,
    param_scatter,
    scatter_data,
    varies,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd

__all__ = ["PANELS", "Panel", "Settings", "build_panels", "params_payload"]

_CHARTS: Final = ("history", "parallel", "scatter", "bars")
PANELS: Final = {
    "history": "Histories",
    "parallel": "Parallel coordinates",
    "scatter": "Param vs metric",
    "bars": "Final values",
    "params": "Params",
    "evaluation": "Evaluation",
}


@dataclass(frozen=True)
class Settings:
    """What the user chose: metric keys, x axis, smoothing, log scale, scatter axes."""

    metrics: Sequence[str]
    x: str = "step"
    x_title: str = "step"
    smoothing: float = 0.0
    log_y: bool = False
    scatter_param: str = ""
    scatter_metric: str = ""
    params: Sequence[str] | None = None
    x_range: tuple[float, float] | None = None
    """The zoomed x range of the histories, in the chart's x units; None for all."""
    evaluation_plot: str = "roc"
    """The evaluation curves overlaid: ``roc``, ``pr`` or ``calibration``."""


@dataclass
class Panel:
    """One chart: a Vega-Lite spec and its named datasets, or a message saying why not."""

    title: str
    spec: dict[str, Any] | None = None
    data: dict[str, pd.DataFrame] = field(default_factory=dict)
    message: str | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON the front end gets for this panel (rows travel separately)."""
        out: dict[str, Any] = {"title": self.title}
        if self.spec is not None:
            out["spec"] = self.spec
            out["datasets"] = sorted(self.data)
        if self.message is not None:
            out["message"] = self.message
        return out


def _history_panel(
    history: pd.DataFrame,
    labels: list[str],
    s: Settings,
    *,
    colors: list[str] | None,
    interactive: bool,
) -> Panel:
    panel = Panel(PANELS["history"])
    if not s.metrics:
        panel.message = "These runs have logged no metrics."
        return panel
    if history.empty:
        panel.message = "No finite values to draw for the chosen metrics."
        return panel
    keys = [k for k in s.metrics if k in set(history["key"])]
    chart = history_chart(
        history,
        runs=labels,
        colors=colors,
        keys=keys,
        x=s.x,
        x_title=s.x_title,
        smoothing=s.smoothing,
        log_y=s.log_y,
        interactive=interactive,
        x_range=s.x_range,
    )
    panel.spec = chart.to_dict()
    panel.data = {"history": history[_HISTORY_COLUMNS]}
    return panel


_HISTORY_COLUMNS: Final = ["run", "key", "x", "value", "smoothed"]


def _parallel_panel(
    runs: pd.DataFrame,
    names: dict[str, str],
    s: Settings,
    *,
    colors: list[str] | None,
    interactive: bool,
) -> Panel:
    panel = Panel(PANELS["parallel"])
    rows = parallel_data(runs, names, params=s.params, metrics=s.metrics)
    if rows["axis"].nunique() < 2:  # noqa: PLR2004 - a line needs two axes
        panel.message = "Parallel coordinates need at least two params or metrics that vary."
        return panel
    labels = list(names.values())
    chart = parallel_coordinates(rows, runs=labels, colors=colors, interactive=interactive)
    panel.spec = chart.to_dict()
    panel.data = {"parallel": rows}
    return panel


def _scatter_panel(
    runs: pd.DataFrame,
    names: dict[str, str],
    s: Settings,
    *,
    colors: list[str] | None,
    interactive: bool,
) -> Panel:
    panel = Panel(PANELS["scatter"])
    if not s.scatter_param or not s.scatter_metric:
        panel.message = "A scatter needs runs with at least one param and one metric."
        return panel
    rows = scatter_data(runs, names, s.scatter_param, s.scatter_metric)
    chart = param_scatter(
        rows,
        x_title=s.scatter_param,
        y_title=s.scatter_metric,
        runs=list(names.values()),
        colors=colors,
        interactive=interactive,
    )
    panel.spec = chart.to_dict()
    panel.data = {"scatter": rows}
    if rows.empty:
        panel.message = "No run has both this param and this metric."
    elif len(runs) > 1 and not varies(runs[f"params.{s.scatter_param}"]):
        panel.message = (
            f"{s.scatter_param} has the same value in every run: choose a param that varies."
        )
    return panel


def _bars_panel(
    runs: pd.DataFrame,
    names: dict[str, str],
    s: Settings,
    *,
    colors: list[str] | None,
    interactive: bool,
) -> Panel:
    panel = Panel(PANELS["bars"])
    rows = final_values(runs, names, s.metrics)
    if rows.empty:
        panel.message = "These runs have no final values for the chosen metrics."
        return panel
    keys = [k for k in s.metrics if k in set(rows["key"])]
    chart = final_bars(
        rows, runs=list(names.values()), colors=colors, keys=keys, interactive=interactive
    )
    panel.spec = chart.to_dict()
    panel.data = {"finals": rows}
    return panel


def _evaluation_panel(
    curves: pd.DataFrame,
    names: dict[str, str],
    s: Settings,
    *,
    colors: Mapping[str, str] | None,
    interactive: bool,
) -> Panel:
    """The runs' evaluation curves of one plot, overlaid; rows inline (a few hundred a run)."""
    panel = Panel(PANELS["evaluation"])
    evaluated = [run_id for run_id in names if run_id in set(curves["run_id"])]
    colours = None if colors is None else [colors[run_id] for run_id in evaluated]
    chart = overlay_evaluation(
        curves,
        s.evaluation_plot,
        runs=[names[run_id] for run_id in evaluated],
        colors=colours,
        interactive=interactive,
    )
    panel.spec = chart.to_dict()
    return panel


def build_panels(
    runs: pd.DataFrame,
    names: dict[str, str],
    history: pd.DataFrame,
    settings: Settings,
    *,
    colors: Mapping[str, str] | None = None,
    interactive: bool = True,
    only: Sequence[str] | None = None,
    curves: pd.DataFrame | None = None,
) -> dict[str, Panel]:
    """The chart panels (``history``, ``parallel``, ``scatter``, ``bars``) of a comparison.

    ``runs`` is a runs frame, ``names`` maps run id to label (in display order),
    ``history`` is a prepared history (``history_frame``), ``colors`` run id to colour
    (by default the palette's, in display order). ``only`` builds a subset. ``curves``:
    the runs' evaluation curves of ``settings.evaluation_plot`` (columns ``run_id``,
    ``run``, ``class``, ``x``, ``y``), drawn in an ``evaluation`` panel when there are any.
    """
    wanted = list(only) if only is not None else [*_CHARTS, "evaluation"]
    labels = list(names.values())
    colours = _aligned(names, colors)
    panels: dict[str, Panel] = {}
    if runs.empty:
        for name in (w for w in wanted if w != "evaluation"):
            panels[name] = Panel(PANELS[name], message="No runs to compare.")
        return panels
    for name in wanted:
        if name == "history":
            panels[name] = _history_panel(
                history, labels, settings, colors=colours, interactive=interactive
            )
        elif name == "parallel":
            panels[name] = _parallel_panel(
                runs, names, settings, colors=colours, interactive=interactive
            )
        elif name == "scatter":
            panels[name] = _scatter_panel(
                runs, names, settings, colors=colours, interactive=interactive
            )
        elif name == "bars":
            panels[name] = _bars_panel(
                runs, names, settings, colors=colours, interactive=interactive
            )
        elif name == "evaluation" and curves is not None and not curves.empty:
            panels[name] = _evaluation_panel(
                curves, names, settings, colors=colors, interactive=interactive
            )
    return panels


def _aligned(names: dict[str, str], colors: Mapping[str, str] | None) -> list[str] | None:
    """The colours in the order of ``names`` (run ids), or None for the palette's."""
    if colors is None:
        return None
    return [colors[run_id] for run_id in names]


def params_payload(
    runs: pd.DataFrame, names: dict[str, str], colors: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The params table as JSON: run columns (with colours) and one row per param.

    Each row says whether its values differ across runs, so the front end can hide the
    others without asking Python again, and whether it is a ``param`` or a tag of the
    run's code or environment (``provenance``), so that it counts them apart. A value a
    run lacks is None.
    """
    params = params_table(runs, names)
    table = with_provenance(params, runs, names)
    differ = set(differing(table))
    own = set(params.index)
    ids = [str(r) for r in runs["run_id"]]
    colours = [colors[r] for r in ids] if colors is not None else palette(len(ids))
    return {
        "runs": [
            {"run_id": run_id, "label": names.get(run_id, run_id), "color": colour}
            for run_id, colour in zip(ids, colours, strict=True)
        ],
        "rows": [
            {
                "key": str(key),
                # Rows as the array they are: a row as a Series would infer pandas' string
                # dtype, which reads None as NaN (no JSON).
                "values": [None if value is None else str(value) for value in row],
                "differs": key in differ,
                "kind": "param" if key in own else "provenance",
            }
            for key, row in zip(table.index, table.to_numpy(dtype=object), strict=True)
        ],
    }
