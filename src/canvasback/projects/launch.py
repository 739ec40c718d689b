"""What a launched notebook kernel or command is told: its run, experiment and store.

Under canvasback's names and MLflow's, so that ``import canvasback as mlflow`` in the
launched code logs into the run made for it (the fluent API resumes
``CANVASBACK_RUN_ID`` / ``MLFLOW_RUN_ID`` once), and so that MLflow itself, through
canvasback's plugin (``canvasback.mlflow_plugin``), maps ``MLFLOW_TRACKING_URI`` (a
``canvasback:`` URI) to the same store.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from canvasback.projects import trial_env
from canvasback.tracking import current, launched, uris, validation

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.tracking.client import Client
    from canvasback.tracking.run import Run

# The params a launcher gave (as JSON text): what reproduce gives again.
PARAMS_TAG: Final = "canvasback.launch.params"
# A launcher's own choices would otherwise win over the run's experiment.
_DROPPED = ("CANVASBACK_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")


def run_environment(
    run: Run, extra: dict[str, str] | None = None, trial: Mapping[str, object] | None = None
) -> dict[str, str]:
    """The environment of a child process: this one's, plus the run's ids and store.

    ``trial``: a searching sweep's trial that the run is (``trial_env.py``).
    """
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        {
            "CANVASBACK_STORE": run.store.url,
            "CANVASBACK_RUN_ID": run.run_id,
            "CANVASBACK_EXPERIMENT_ID": run.experiment_id,
            "MLFLOW_RUN_ID": run.run_id,
            "MLFLOW_EXPERIMENT_ID": run.experiment_id,
            # The run as made here: the launched process takes it up without a read.
            launched.RUN_RECORD_ENV: launched.record_text(run),
        }
    )
    if isinstance(run.store.address, Path):  # MLflow's plugin URIs name local stores only
        env["MLFLOW_TRACKING_URI"] = uris.store_uri(run.store.address)
    else:  # an MLflow of the launched code must not log to another store
        env.pop("MLFLOW_TRACKING_URI", None)
    # "python" in a command is this interpreter: the run happens in the current environment.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")]) if env.get("PATH") else bin_dir
    env.update(extra or {})
    env.update(trial_env.trial_environment(trial, run.run_id))
    return env


def experiment_id(c: Client, experiment: str | None) -> str:
    """The experiment a launched run goes to: by name (made if new), else the current one."""
    if experiment is not None:
        found = c.experiment_id_for(validation.experiment_name(experiment), create=True)
        assert found is not None  # noqa: S101  # create=True always yields an id
        return found
    if c.store.address == current.get_store():
        return current.current_experiment_id(c)
    return c.experiment_id_for("Default", create=True) or "0"
