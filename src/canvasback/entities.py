"""MLflow's entity names (``mlflow.entities``), so ``mlflow.entities.X`` resolves.

The records are canvasback's own (``canvasback.tracking.entities``); ``Run`` is the run
handle, whose ``info`` and ``data`` are MLflow's ``RunInfo`` and ``RunData``.
"""

from __future__ import annotations

from typing import Final

from canvasback.query.runs import VIEW_TYPES
from canvasback.tracking.entities import (
    Experiment,
    FileInfo,
    Metric,
    Param,
    RunData,
    RunInfo,
    RunTag,
)
from canvasback.tracking.run import Run


class ViewType:
    """Which runs or experiments a search sees: MLflow's constants."""

    ACTIVE_ONLY: Final = VIEW_TYPES["ACTIVE_ONLY"]
    DELETED_ONLY: Final = VIEW_TYPES["DELETED_ONLY"]
    ALL: Final = VIEW_TYPES["ALL"]


class RunStatus:
    """Run statuses under MLflow's names."""

    RUNNING: Final = "RUNNING"
    SCHEDULED: Final = "SCHEDULED"
    FINISHED: Final = "FINISHED"
    FAILED: Final = "FAILED"
    KILLED: Final = "KILLED"


class LifecycleStage:
    """An experiment's or run's lifecycle stage under MLflow's names."""

    ACTIVE: Final = "active"
    DELETED: Final = "deleted"


__all__ = [
    "Experiment",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
]
