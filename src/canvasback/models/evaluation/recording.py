"""Where an evaluation is recorded: its run, the logged model, the registered version.

On the run (the active one, or a new one ended when done), as MLflow's ``evaluate``
logs: the metrics at step 0, the data as an input (its context is the metric prefix,
if any, as MLflow tags it), the artifacts at the root of the run's artifacts. A logged
model (``models:/m-<id>``) gets the run as one that used it and the metrics linked to
it, as MLflow 3 links them. A registered version named by a ``models:/`` URI gets two
tags the registry panel shows among the version's tags: :data:`SUMMARY_TAG`, a line of
its headline metrics, and :data:`RUN_TAG`, the run that holds the rest.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from canvasback.registry.client import client
from canvasback.tracking import fluent, logged_models

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.models.evaluation.predictor import Predictor
    from canvasback.tracking.datasets import Dataset
    from canvasback.tracking.run import Run

SUMMARY_TAG: Final = "canvasback.evaluation"
RUN_TAG: Final = "canvasback.evaluation.run_id"

HEADLINE: Final = {
    "classifier": ("accuracy_score", "f1_score", "roc_auc", "log_loss"),
    "regressor": ("root_mean_squared_error", "mean_absolute_error", "r2_score"),
}
"""The metrics a version's summary tag names, in this order, those there are."""


def log_on_run(
    metrics: Mapping[str, float],
    files: Mapping[str, bytes],
    dataset: Dataset,
    *,
    context: str,
    model_id: str | None,
) -> str:
    """Log the evaluation on the active run, or on a new run ended here; its id."""
    run = fluent.active_run()
    started = run is None
    if run is None:
        run = fluent.start_run()
    try:
        _log(run, metrics, files, dataset, context=context, model_id=model_id)
    except BaseException:
        if started:
            run.end("FAILED")
        raise
    if started:
        run.end()
    return run.info.run_id


def _log(
    run: Run,
    metrics: Mapping[str, float],
    files: Mapping[str, bytes],
    dataset: Dataset,
    *,
    context: str,
    model_id: str | None,
) -> None:
    run.check_open("log an evaluation")
    now = time.time_ns() // 1_000_000
    run.log_input(dataset, context=context or None)
    run.log_metrics(metrics, step=0, timestamp=now)
    with tempfile.TemporaryDirectory(prefix="canvasback-evaluation-") as tmp:
        folder = Path(tmp)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        run.log_artifacts(folder)
    store = run.store
    if model_id is not None and logged_models.read(store, model_id) is not None:
        logged_models.add_input(store, run.info.run_id, model_id)
        rows = [
            [key, value, now, 0, run.info.run_id, dataset.name, dataset.digest]
            for key, value in metrics.items()
        ]
        logged_models.add_change(store, model_id, {"metrics": rows})


def summary(metrics: Mapping[str, float], kind: str, prefix: str, rows: int) -> str:
    """``accuracy_score=0.9123 f1_score=0.9087 roc_auc=0.9712 on 2,000 rows``."""
    named = [
        f"{prefix}{key}={metrics[prefix + key]:.4g}"
        for key in HEADLINE[kind]
        if prefix + key in metrics
    ]
    return f"{' '.join(named)} on {rows:,} rows"


def record_on_version(found: Predictor, text: str, run_id: str) -> None:
    """Tag the registered version that was evaluated (if the model was one) with the result."""
    version = found.version
    if version is None:
        return
    registry = client()
    registry.set_model_version_tag(version.name, version.version, SUMMARY_TAG, text)
    registry.set_model_version_tag(version.name, version.version, RUN_TAG, run_id)
