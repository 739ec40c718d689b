"""A small store for the query layer's tests, the same at every run.

Runs with fixed ids, names, start and end times, metric points, params, tags and
datasets, written through the tracking API into the fresh store of ``tests/conftest.py``
(its ``store`` fixture), so the functions of ``canvasback.query`` read a real catalog
over real Parquet files, and the SQL they send depends on nothing but their arguments.
Tests reach the runs' description through the fixture (``logged.T0``, ``logged.RUNS``):
test modules are not a package, so they cannot import this one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pytest

import canvasback
from canvasback import data

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.store import Store

T0 = 1_750_000_000_000
EXPERIMENT = "1"
OTHER_EXPERIMENT = "2"


@dataclass(frozen=True)
class Spec:
    """One run of the store."""

    name: str
    status: str
    metrics: dict[str, list[float]] = field(default_factory=dict)  # key -> a value per step
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    experiment_id: str = EXPERIMENT
    dataset: tuple[str, str] | None = None  # (name, context)
    deleted: bool = False


# Newest last: run-a starts first, run-x last.
RUNS: dict[str, Spec] = {
    "run-a": Spec(
        "alpha",
        "FINISHED",
        {"acc": [0.5, 0.7, 0.91], "loss": [0.9, 0.4]},
        {"lr": "0.1", "opt": "adam"},
        {"team": "vision"},
        dataset=("digits", "train"),
    ),
    "run-b": Spec(
        "bravo",
        "FAILED",
        {"acc": [0.4, 0.6], "loss": [0.8]},
        {"lr": "0.01", "opt": "sgd"},
        {"team": "nlp"},
        dataset=("digits", "eval"),
    ),
    "run-c": Spec(
        "charlie",
        "FINISHED",
        {"acc": [0.2, 0.55]},
        {"lr": "1e-4", "opt": "adam"},
        {"team": "vision"},
    ),
    "run-d": Spec("delta", "KILLED", {"acc": [0.3, math.nan]}, {"lr": "abc", "opt": "adam"}),
    "run-e": Spec("echo", "FINISHED", {"acc": [0.99]}, {"lr": "0.5"}, deleted=True),
    "run-x": Spec(
        "xray", "FINISHED", {"acc": [0.1]}, {"lr": "0.1"}, experiment_id=OTHER_EXPERIMENT
    ),
}
ACTIVE_IN_EXPERIMENT = ["run-a", "run-b", "run-c", "run-d"]


@dataclass(frozen=True)
class Logged:
    """The store the runs are in, and what they are."""

    store: Store
    root: Path
    T0: ClassVar = T0
    EXPERIMENT: ClassVar = EXPERIMENT
    OTHER_EXPERIMENT: ClassVar = OTHER_EXPERIMENT
    RUNS: ClassVar = RUNS
    ACTIVE_IN_EXPERIMENT: ClassVar = ACTIVE_IN_EXPERIMENT

    def catalog(self):  # the refreshed catalog
        return self.store.read()


@pytest.fixture
def logged(store: Path) -> Logged:
    """Every run of :data:`RUNS` in a fresh store, flushed."""
    client = canvasback.Client(store)
    client.create_experiment("queries", experiment_id=EXPERIMENT, tags={"owner": "ana"})
    client.create_experiment("others", experiment_id=OTHER_EXPERIMENT)
    for i, (run_id, spec) in enumerate(RUNS.items()):
        start = T0 + i * 1000
        run = client.create_run(
            spec.experiment_id,
            start_time=start,
            run_name=spec.name,
            tags=spec.tags,
            params=spec.params,
            run_id=run_id,
            user_id="tester",
        )
        for key, values in spec.metrics.items():
            for step, value in enumerate(values):
                run.log_metric(key, value, step=step, timestamp=start + 10 * step)
        if spec.dataset is not None:
            name, context = spec.dataset
            run.log_input(data.from_numpy(np.arange(4), name=name, digest="d1g35t"), context)
        client.set_terminated(run_id, spec.status, end_time=start + 500)
        if spec.deleted:
            client.delete_run(run_id)
    client.store.flush()
    return Logged(client.store, store)
