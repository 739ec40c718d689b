"""A searching sweep of a notebook on 2 workers, its process killed (SIGKILL) with two
trials finished and two running, then resumed: the finished trials are not run again,
the two that were running are failed (their runs KILLED, tagged lost) and asked again
with the same params, and the sweep ends with every trial it was asked for.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import nbformat
import optuna
import pytest

import canvasback as cb

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

PARAMS = "x = 0.0\nmarks = ''\n"
BODY = """
import os
import time
from pathlib import Path

import canvasback as cb

# The first two trials to start go through; the others wait for the test's word (or
# end with the process that started their kernel, as a kernel does).
mine = None
for slot in range(2):
    try:
        os.close(os.open(Path(marks) / f"slot-{slot}", os.O_CREAT | os.O_EXCL))
        mine = slot
        break
    except FileExistsError:
        pass
if mine is None:
    parent = os.getppid()
    deadline = time.monotonic() + 120
    while not (Path(marks) / "release").exists() and time.monotonic() < deadline:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.05)
cb.log_metric("loss", (x - 3.0) ** 2)
"""
SPACE = {"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]}
SCRIPT = """
import sys
import canvasback as cb

cb.set_store(sys.argv[1])
cb.sweep(sys.argv[2], space={"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]}, n_trials=6,
         params={"marks": sys.argv[3]}, max_workers=2, metric="loss", mode="min",
         sampler="random", seed=1, study="resumable", progress=False)
print("the sweep ended before it was killed")
"""


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    nbformat.write(nb, path)
    return path


def _trials(store: Path):
    journals = list((store / "sweeps").glob("*/journal.log"))
    if not journals:
        return []
    backend = optuna.storages.journal.JournalFileBackend(str(journals[0]))
    storage = optuna.storages.JournalStorage(backend)
    return optuna.load_study(study_name="resumable", storage=storage).trials


def test_a_killed_notebook_search_is_resumed(tmp_path, store, spawn_python, wait):
    notebook = _notebook(tmp_path / "train.ipynb")
    marks = tmp_path / "marks"
    marks.mkdir()
    child = spawn_python(SCRIPT, store, notebook, marks)
    state = optuna.trial.TrialState

    def two_done_two_running():
        states = [t.state for t in _trials(Path(store))]
        if states.count(state.COMPLETE) != 2 or states.count(state.RUNNING) != 2:
            return False
        runs = cb.search_runs(search_all_experiments=True)
        if "tags.canvasback.sweep.trial" not in runs:
            return False
        trials = runs[runs["tags.canvasback.sweep.trial"].notna()]
        return sorted(trials["status"]) == ["FINISHED", "FINISHED", "RUNNING", "RUNNING"]

    # The runs of the two running trials are in the store (a trial killed before its run
    # was written is retried all the same, with no run to end).
    wait(two_done_two_running, timeout=240, what="2 trials finished and 2 running")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    before = {t.number: t for t in _trials(Path(store))}
    running = {n for n, t in before.items() if t.state == state.RUNNING}
    finished = {n for n, t in before.items() if t.state == state.COMPLETE}
    (marks / "release").touch()

    result = cb.sweep(
        notebook,
        space=SPACE,
        n_trials=6,
        params={"marks": str(marks)},
        max_workers=2,
        metric="loss",
        mode="min",
        resume="resumable",
        progress=False,
    )
    assert result.study == "resumable"
    assert result.finished == 6
    assert result.failed == 0
    trials = {t.number: t for t in _trials(Path(store))}
    for n in finished:  # as they were: not run again
        assert trials[n].state == state.COMPLETE
        assert trials[n].value == before[n].value
    for n in running:  # failed, marked lost, and asked again with the same params
        assert trials[n].state == state.FAIL
        assert trials[n].system_attrs["canvasback.lost"] == n
        again = [t for t in trials.values() if t.system_attrs.get("failed_trial") == n]
        assert len(again) == 1
        assert again[0].params == before[n].params
        assert again[0].state == state.COMPLETE
    counted = [t for t in trials.values() if t.state == state.COMPLETE]
    assert len(counted) == 6
    assert sorted(p.trial for p in result.points) == sorted(t.number for t in counted)

    children = cb.search_runs(
        [cb.get_run(result.parent_run_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'",
    )
    numbers = list(children["tags.canvasback.sweep.trial"].astype(int))
    assert len(numbers) == len(set(numbers)) == 6 + len(running)  # no trial ran twice
    by_number = children.set_index("tags.canvasback.sweep.trial")
    for n in running:
        run = by_number.loc[str(n)]
        assert run["status"] == "KILLED"
        assert "trial lost" in run["tags.canvasback.sweep.lost"]
    assert sorted(children["status"]) == ["FINISHED"] * 6 + ["KILLED"] * len(running)
    parent = cb.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert result.best is not None
    assert result.best.metric == min(t.value for t in counted)
