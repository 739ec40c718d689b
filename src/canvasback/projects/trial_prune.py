"""Pruning inside a launched trial: the run a kernel or command resumes reports to its trial.

Registered by the package root as a run-start hook. In a process launched for a trial
(``trial_env.TRIAL_ENV`` is set), the run it takes up watches the sweep's metric: each
point is reported to the trial in the sweep's journal, and ``log_metric`` raises
Optuna's ``TrialPruned`` once the study's pruner says to stop (the run tagged with the
step). Anywhere else the hook does nothing, and Optuna is never imported.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from canvasback.projects.trial_env import TRIAL_ENV

if TYPE_CHECKING:
    from canvasback.tracking.hooks import RunAttach
    from canvasback.tracking.run import Run


def trial_hook(live: bool | None) -> RunAttach | None:
    """The run-start hook: in a trial's process, how its run reports to the trial."""
    del live  # a trial reports whether or not the run is shown
    if TRIAL_ENV not in os.environ:
        return None

    def attach(run: Run) -> None:
        told = _told(run.run_id)
        if told is not None:
            _watch(run, told)

    return attach


def _told(run_id: str) -> dict[str, Any] | None:
    """The trial this process was launched for, if ``run_id`` is its run (taken once)."""
    try:
        told = json.loads(os.environ.get(TRIAL_ENV) or "null")
    except ValueError:
        return None
    if not isinstance(told, dict) or told.get("run_id") != run_id:
        return None
    del os.environ[TRIAL_ENV]
    return told


def _watch(run: Run, told: dict[str, Any]) -> None:
    import optuna  # noqa: PLC0415  # only a trial's process needs it

    from canvasback.projects.search_trials import TrialWatch, open_storage, pruner_named  # noqa: PLC0415

    study = optuna.load_study(
        study_name=str(told["study"]),
        storage=open_storage(str(told["journal"])),
        sampler=optuna.samplers.RandomSampler(),  # never asked: this process only reports
        pruner=pruner_named(told.get("pruner")),
    )
    trial = optuna.Trial(study, int(told["trial_id"]))
    TrialWatch(trial, str(told["metric"])).attach(run)
