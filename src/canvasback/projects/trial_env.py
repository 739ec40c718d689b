"""A searching sweep's trial, told to the notebook or command that runs it.

A function trial runs in the sweep's worker, which reports each point of the sweep's
metric to its trial (``search_trials.TrialWatch``). A notebook's kernel or a command is
a process of its own: the sweep tells it the trial through the environment
(:data:`TRIAL_ENV`, JSON: the journal, the study, the trial, the metric, the pruner and
the run), and the run it resumes there reports to the trial in the same way
(``trial_prune.py``). When the pruner says stop, ``log_metric`` raises Optuna's
``TrialPruned`` in the launched code and the run is tagged :data:`PRUNED_TAG`; the
launcher then ends the run KILLED rather than FAILED.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

TRIAL_ENV: Final = "CANVASBACK_SWEEP_TRIAL"
PRUNED_TAG: Final = "canvasback.sweep.pruned"
"""On a trial's run that its pruner stopped (the run ends KILLED): the step it stopped at."""
PRUNED_ERROR: Final = "TrialPruned"
"""The name of the exception a pruned trial's launched code stops with (Optuna's)."""


def trial_environment(trial: Mapping[str, object] | None, run_id: str) -> dict[str, str]:
    """The environment that tells a launched process its trial (empty for no trial)."""
    if not trial:
        return {}
    return {TRIAL_ENV: json.dumps({**trial, "run_id": run_id})}
