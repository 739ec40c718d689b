"""The Compare widget's evaluation curves: those ``canvasback.evaluate`` logged with runs.

Read back from the chart specs each evaluation saved with its run; ``charts.panels``
overlays them in the Evaluation tab, which shows only when a compared run has them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback.charts.evaluation import CURVE_PLOTS
from canvasback.models import evaluation
from canvasback.tracking.client import Client

if TYPE_CHECKING:
    import pandas as pd

    from canvasback.store import Store

__all__ = ["CURVE_PLOTS", "evaluation_curves"]


def evaluation_curves(store: Store, runs: pd.DataFrame, plot: str) -> pd.DataFrame | None:
    """The curves of ``plot`` of the runs of ``runs`` that have them; None if none has."""
    ids = [str(r) for r in runs["run_id"]]
    rows = evaluation.curves(ids, plot, client=Client(store.address)) if ids else None
    return None if rows is None or rows.empty else rows
