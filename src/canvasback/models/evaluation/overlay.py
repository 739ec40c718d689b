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
    from collections.abc import Mapping

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


def _run_curves(client: Client, run_id: str, plot: str, name: str) -> pd.DataFrame | None:
    """One run's rows of ``plot`` (``class``, ``curve``, ``x``, ``y``) from its spec ``name``."""
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
    name = f"{prefix}{ARTIFACT_NAMES[_plot(plot)]}.json"
    client = client or current.client()
    ids = _ids(runs)
    catalog = client.store.read()
    evaluated = query.runs_with_artifact(catalog, ids, name) if ids else set()
    # Labels of all the runs given, so that they are the labels their other charts show.
    frame = query.runs_frame(catalog, client.store.address, ids) if evaluated else None
    labels = charts.run_labels(frame) if frame is not None and len(frame) else {}
    parts = []
    for run_id in (r for r in ids if r in evaluated):
        rows = _run_curves(client, run_id, plot, name)
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
    colors: Mapping[str, str] | None = None,
    client: Client | None = None,
    interactive: bool = False,
) -> Any:  # noqa: ANN401 - an Altair chart
    """A chart of ``plot``'s curves of every run given that was evaluated (a colour each).

    ``colors`` maps run ids to their colours (by default the palette's, in order);
    ``interactive`` lets a click on a curve or its legend entry select its run.
    """
    rows = curves(runs, plot, prefix=prefix, client=client)
    if rows.empty:
        msg = f"None of the runs given has an evaluation with a {plot!r} plot"
        raise InvalidInputError(msg)
    return overlay_rows(rows, plot, colors=colors, interactive=interactive)


def overlay_rows(
    rows: pd.DataFrame,
    plot: str,
    *,
    colors: Mapping[str, str] | None = None,
    interactive: bool = False,
) -> Any:  # noqa: ANN401 - an Altair chart
    """The chart of :func:`curves`' rows; ``colors`` maps run ids to colours."""
    by_label = dict(zip(rows["run"], rows["run_id"], strict=True))
    colours = None if colors is None else [colors[run_id] for run_id in by_label.values()]
    return overlay_evaluation(
        rows, plot, runs=list(by_label), colors=colours, interactive=interactive
    )
