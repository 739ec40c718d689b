"""Several runs' evaluation curves in one chart (ROC curves of five models, say).

Each run's curve rows are read back from the chart spec its evaluation logged
(``roc_curve_plot.json``: the rows sit in the spec under the plot's name), and drawn by
``canvasback.charts.overlay_evaluation``, a colour per run, the same colour as the run
has in the Compare widget's charts given the same ``colors``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from canvasback import charts, query
from canvasback.charts.evaluation import CURVE_PLOTS, overlay_evaluation
from canvasback.models.evaluation.plots import ARTIFACT_NAMES
from canvasback.tracking import current
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from canvasback.tracking.client import Client


def _plot(plot: str) -> str:
    if plot not in CURVE_PLOTS:
        allowed = ", ".join(map(repr, CURVE_PLOTS))
        msg = f"Invalid plot {plot!r}: the curves that overlay are {allowed}"
        raise InvalidInputError(msg)
    return plot


def _ids(runs: object) -> list[str]:
    """Run ids from ids, a ``search_runs`` frame or runs (``Run`` objects)."""
    if isinstance(runs, str):
        return [runs]
    if isinstance(runs, pd.DataFrame):
        return [str(r) for r in dict.fromkeys(runs["run_id"])]
    if not isinstance(runs, list | tuple | pd.Series):
        msg = f"Invalid runs of type {type(runs).__name__}: run ids, a search_runs frame or runs"
        raise InvalidInputError(msg)
    ids = [str(getattr(getattr(r, "info", None), "run_id", None) or r) for r in runs]
    return list(dict.fromkeys(ids))


def run_curves(client: Client, run_id: str, plot: str, prefix: str = "") -> pd.DataFrame | None:
    """One run's rows of ``plot`` (``class``, ``curve``, ``x``, ``y``), or None if it has none."""
    name = f"{prefix}{ARTIFACT_NAMES[_plot(plot)]}.json"
    if not any(f.path == name for f in client.list_artifacts(run_id)):
        return None
    spec = json.loads(Path(client.download_artifacts(run_id, name)).read_text())
    rows = (spec.get("datasets") or {}).get(plot)
    if not isinstance(rows, list):
        return None
    return pd.DataFrame(rows, columns=["class", "curve", "x", "y"])


def curves(
    runs: object, plot: str = "roc", *, prefix: str = "", client: Client | None = None
) -> pd.DataFrame:
    """The curve rows of every run given that has them, with its ``run_id`` and ``run`` label.

    ``runs``: run ids, a ``search_runs`` frame, or runs. ``prefix``: the evaluations'
    ``metric_prefix``. A run without an evaluation of ``plot`` is left out.
    """
    _plot(plot)
    client = client or current.client()
    ids = _ids(runs)
    frame = query.runs_frame(client.store.read(), client.store.address, ids) if ids else None
    labels = charts.run_labels(frame) if frame is not None and len(frame) else {}
    parts = []
    for run_id in ids:
        rows = run_curves(client, run_id, plot, prefix)
        if rows is not None:
            parts.append(rows.assign(run_id=run_id, run=labels.get(run_id, run_id[:8])))
    columns = ["run_id", "run", "class", "curve", "x", "y"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def overlay(
    runs: object,
    plot: str = "roc",
    *,
    prefix: str = "",
    colors: Sequence[str] | None = None,
) -> Any:  # noqa: ANN401 - an Altair chart
    """A chart of ``plot``'s curves of every run given that was evaluated (a colour each)."""
    rows = curves(runs, plot, prefix=prefix)
    if rows.empty:
        msg = f"None of the runs given has an evaluation with a {plot!r} plot"
        raise InvalidInputError(msg)
    labels = list(dict.fromkeys(rows["run"]))
    return overlay_evaluation(rows, plot, runs=labels, colors=colors)
