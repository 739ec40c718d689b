"""What a trial costs beyond its own work: a worker reads nothing back from the store.

A function trial's result is made from what its worker logged (the run's handle, the
latest point of the sweep's metric as logged), so the worker never refreshes the store's
catalog (DuckDB is never imported there), and a new search builds its result from its
trials' points without searching the store (pandas is never imported by the sweep).
The values stay the ones the store resolves: the latest point is the one of the
greatest step, whichever way it was logged.
"""

from __future__ import annotations

import json

import pytest

import canvasback as cb

SWEEP = """\
import json
import sys

import canvasback as cb


def train(x):
    # Whether an earlier trial of this worker read the store back (DuckDB is loaded
    # by the catalog alone).
    cb.log_param("duckdb_loaded", "duckdb" in sys.modules)
    cb.log_history({"loss": [x + 3.0, x + 2.0, x + 1.0]})  # steps 0, 1, 2
    cb.log_metric("loss", 100.0, step=1)  # logged last, but not the latest point


if __name__ == "__main__":
    cb.set_store(sys.argv[1])
    result = cb.sweep(
        train,
        space={"x": [1, 2, 3]},
        sampler="grid",
        metric="loss",
        mode="min",
        max_workers=1,
        progress=False,
    )
    print(json.dumps({
        "pandas_loaded": "pandas" in sys.modules,
        "parent": result.parent_run_id,
        "points": [[p.params["x"], p.status, p.metric, p.run_id] for p in result.points],
    }))
"""


@pytest.mark.slow
def test_a_workers_trials_read_nothing_back_from_the_store(run_python, tmp_path):
    store = tmp_path / "store"
    out = run_python(SWEEP, store, timeout=180)
    said = json.loads(out.stdout.strip().splitlines()[-1])
    assert said["pandas_loaded"] is False  # the search's result, from its trials' points
    points = sorted(said["points"])
    # The latest point is the greatest step's (x + 1.0 at step 2), not the last logged.
    assert [(x, status, metric) for x, status, metric, _ in points] == [
        (1, "FINISHED", 2.0),
        (2, "FINISHED", 3.0),
        (3, "FINISHED", 4.0),
    ]
    cb.set_store(store)
    for _, _, metric, run_id in points:
        run = cb.get_run(run_id)
        assert run.data.metrics["loss"] == metric  # what the store resolves, too
        assert run.data.params["duckdb_loaded"] == "False"  # no trial before it read back
