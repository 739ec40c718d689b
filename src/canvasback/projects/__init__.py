"""Projects: every run reproducible; notebooks and project folders run as tracked runs.

* :mod:`capture`: what each new run records of its code and environment.
* :func:`run_notebook`: a parameterised notebook executed in a fresh kernel as a run.
* :func:`run_project`: an entry point of a ``canvasback.toml`` or MLflow ``MLproject``.
* :func:`sweep`: one run per point of a grid (a notebook, entry point or function), on
  threads, a process pool or any Executor; or per trial of an Optuna search
  (``space=``, :mod:`search_space` for the ranges; :mod:`search`).
* :func:`reproduce`: run a launched run again and say what differs.
* :func:`run`: MLflow's ``mlflow.projects.run`` (local, synchronous), for MLflow code.

Importing this package loads no notebook machinery (nbclient, nbformat, tqdm, YAML)
nor Optuna:
each loads when a function that needs it is called.
"""

from __future__ import annotations

from canvasback.projects.capture import (
    CaptureWarning,
    Source,
    capture_hook,
    capture_run,
    set_capture,
)
from canvasback.projects.mlflow_run import SubmittedRun, run
from canvasback.projects.notebooks import NotebookRunError, NotebookRunWarning, run_notebook
from canvasback.projects.params import ParamError
from canvasback.projects.project_file import ProjectError, load_project
from canvasback.projects.reproduction import Comparison, diff_runs, reproduce
from canvasback.projects.runner import ProjectRunError, ProjectRunWarning, run_project
from canvasback.projects.sweeps import SweepResult, sweep

__all__ = [
    "CaptureWarning",
    "Comparison",
    "NotebookRunError",
    "NotebookRunWarning",
    "ParamError",
    "ProjectError",
    "ProjectRunError",
    "ProjectRunWarning",
    "Source",
    "SubmittedRun",
    "SweepResult",
    "capture_hook",
    "capture_run",
    "diff_runs",
    "load_project",
    "reproduce",
    "run",
    "run_notebook",
    "run_project",
    "set_capture",
    "sweep",
]
