"""Run.watch_metric: every way of logging a watched metric tells each of its watchers.

A sweep's worker keeps the latest point of the sweep's metric this way, and a trial's
pruner hears every point: a series logged whole, or a batch, must reach both.
"""

from __future__ import annotations

import pytest

import canvasback
from canvasback import Metric


@pytest.mark.usefixtures("store")
def test_every_logging_call_tells_every_watcher_of_the_key():
    first: list[tuple[float, int, int]] = []
    second: list[tuple[float, int, int]] = []
    with canvasback.start_run(live=False) as run:
        run.watch_metric("loss", lambda v, s, t: first.append((v, s, t)))
        run.watch_metric("loss", lambda v, s, t: second.append((v, s, t)))
        run.log_metric("loss", 4.0, step=0, timestamp=1_000)
        run.log_metrics({"loss": 3.0, "acc": 0.5}, step=1, timestamp=2_000)
        run.log_history({"loss": [2.0, 1.5], "acc": [0.6, 0.7]}, steps=[2, 3], timestamps=[3, 4])
        run.log_batch(metrics=[Metric("loss", 1.0, 5_000, 4), Metric("acc", 0.9, 5_000, 4)])
        run.log_metric("acc", 1.0)  # another key: not told
    expected = [(4.0, 0, 1_000), (3.0, 1, 2_000), (2.0, 2, 3), (1.5, 3, 4), (1.0, 4, 5_000)]
    assert first == expected
    assert second == expected
    # The points were logged before the watchers heard of them.
    history = canvasback.get_metric_history(run.run_id, "loss")
    assert history["value"].tolist() == [4.0, 3.0, 2.0, 1.5, 1.0]


@pytest.mark.usefixtures("store")
def test_what_a_watcher_raises_reaches_the_caller_after_the_points_are_logged():
    def stop(_value: float, step: int, _timestamp: int) -> None:
        if step == 1:
            msg = "stop at step 1"
            raise RuntimeError(msg)

    with canvasback.start_run(live=False) as run:
        run.watch_metric("loss", stop)
        with pytest.raises(RuntimeError, match="stop at step 1"):
            run.log_history({"loss": [3.0, 2.0, 1.0]})
    history = canvasback.get_metric_history(run.run_id, "loss")
    assert history["value"].tolist() == [3.0, 2.0, 1.0]
