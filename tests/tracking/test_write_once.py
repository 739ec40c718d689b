"""Params are write-once across processes: the first value wins, the loser is told at end_run."""

from __future__ import annotations

import pytest

import canvasback as cb

RESUME_AND_LOG_PARAM = """
import sys
from pathlib import Path

import canvasback as cb

cb.set_store(sys.argv[1])
run_id, value, go = sys.argv[2], sys.argv[3], Path(sys.argv[4])
run = cb.start_run(run_id=run_id)  # both resume before either logs
Path(sys.argv[5]).touch()
while not go.exists():
    pass
cb.log_param("lr", value)
try:
    cb.end_run()
except cb.ParamConflictError as exc:
    print("conflict:", exc)
    sys.exit(3)
print("won")
"""


# Serial: the loser learns it lost from what the winner flushed within one flush interval,
# which two busy processes on a machine loaded by other tests may not manage.
@pytest.mark.slow
@pytest.mark.serial
def test_two_processes_logging_one_param_one_wins_and_the_other_is_told(
    store, tmp_path, spawn_python, wait
):
    with cb.start_run(run_name="contested") as run:
        pass
    go = tmp_path / "go"
    children = [
        spawn_python(RESUME_AND_LOG_PARAM, store, run.run_id, value, go, tmp_path / value)
        for value in ("0.1", "0.2")
    ]
    wait(lambda: all((tmp_path / v).exists() for v in ("0.1", "0.2")), what="both resumed")
    go.touch()
    outcomes = {}
    for child, value in zip(children, ("0.1", "0.2"), strict=True):
        out, err = child.communicate(timeout=60)
        outcomes[value] = (child.returncode, out + err)
    codes = sorted(code for code, _ in outcomes.values())
    assert codes == [0, 3], outcomes
    winner = next(v for v, (code, _) in outcomes.items() if code == 0)
    loser = next(v for v, (code, _) in outcomes.items() if code == 3)
    assert f"logged {loser!r} here, but {winner!r} was logged first" in outcomes[loser][1]
    assert cb.get_run(run.run_id).data.params == {"lr": winner}
    fresh = cb.Client(store)
    assert fresh.get_run(run.run_id).data.params == {"lr": winner}
