"""Notebook and command trials pruned: the launched process reports to its trial.

A searching sweep of a notebook (or an entry point's command) with median pruning, on a
deterministic objective: the same curve for every trial, shifted by its quality. Each
trial runs in a kernel (or a process) of its own that logs the curve step by step; the
run it resumes there reports every point to the trial in the sweep's journal, and once
the pruner says stop, ``log_metric`` raises ``TrialPruned`` in the cell: the run ends
KILLED, tagged with the step, the cells after it never run, and the trial is PRUNED.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import nbformat
import optuna
import pandas as pd
import pytest

import canvasback as cb

QUALITIES = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
CURVE = """\
import canvasback as cb

for step in range(6):
    cb.log_metric("loss", quality + 1.0 / (step + 1), step=step)
"""
AFTER = "cb.set_tag('reached_the_end', 'yes')"

MLPROJECT = """\
name: curves
entry_points:
  main:
    parameters:
      quality: {type: float, default: 0.0}
    command: "python curve.py {quality}"
"""
SCRIPT = """\
import sys
import canvasback as cb

quality = float(sys.argv[1])
for step in range(6):
    cb.log_metric("loss", quality + 1.0 / (step + 1), step=step)
cb.set_tag("reached_the_end", "yes")
"""


def _notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("quality = 0.0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(CURVE), nbformat.v4.new_code_cell(AFTER)]
    path = folder / "curve.ipynb"
    nbformat.write(nb, path)
    return path


def _project(folder: Path) -> Path:
    root = folder / "curves"
    root.mkdir()
    (root / "MLproject").write_text(MLPROJECT)
    (root / "curve.py").write_text(SCRIPT)
    return root


def _search(target: Path) -> cb.projects.SweepResult:
    return cb.sweep(
        target,
        space={"quality": QUALITIES},
        sampler="grid",  # each quality once: n_trials is the grid's size
        pruner="median",
        metric="loss",
        mode="min",
        seed=5,
        max_workers=1,
        progress=False,
    )


def _check_pruning(store: Path, result: cb.projects.SweepResult) -> None:
    journal = Path(store) / "sweeps" / result.parent_run_id / "journal.log"
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    study = optuna.load_study(study_name=result.study, storage=storage)
    parent = cb.get_run(result.parent_run_id)
    children = cb.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'",
    ).set_index("tags.canvasback.sweep.trial")
    completed: list[float] = []
    pruned: list[float] = []
    for trial in sorted(study.trials, key=lambda t: t.number):
        quality = trial.params["quality"]
        run = children.loc[str(trial.number)]
        # MedianPruner: after 5 completed trials, a trial worse at a step than the
        # median of the completed ones at that step stops there (at its first step).
        if len(completed) >= 5 and quality > statistics.median(completed):
            assert trial.state == optuna.trial.TrialState.PRUNED, (trial.number, quality)
            assert run["status"] == "KILLED"
            assert run["tags.canvasback.sweep.pruned"] == "0"
            history = cb.MlflowClient().get_metric_history(run["run_id"], "loss")
            assert [m.step for m in history] == [0]  # it stopped when told to
            assert pd.isna(run["tags.reached_the_end"])  # nothing after the stop ran
            pruned.append(quality)
        else:
            assert trial.state == optuna.trial.TrialState.COMPLETE, (trial.number, quality)
            assert run["status"] == "FINISHED"
            assert run["tags.reached_the_end"] == "yes"
            assert trial.value == pytest.approx(quality + 1 / 6)
            completed.append(quality)
    assert pruned  # the grid's order put some poor trials after the startup trials
    assert result.pruned == len(pruned)
    assert result.finished == len(completed)
    assert result.failed == 0
    assert result.best_params == {"quality": 0.0}
    by_trial = {p.trial: p for p in result.points}
    assert all(
        by_trial[int(n)].pruned for n, row in children.iterrows() if row["status"] == "KILLED"
    )


@pytest.mark.slow
def test_median_pruning_stops_the_poor_trials_of_a_notebook(tmp_path, store):
    result = _search(_notebook(tmp_path))
    _check_pruning(store, result)
    # A pruned run is no failure: no error of a cell.
    children = cb.search_runs(filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'")
    errors = children.get("tags.canvasback.notebook.error", pd.Series(dtype=object))
    assert errors.isna().all()


@pytest.mark.slow
def test_median_pruning_stops_the_poor_trials_of_a_command(tmp_path, store):
    result = _search(_project(tmp_path))
    _check_pruning(store, result)
