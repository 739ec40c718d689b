"""Which way is better for a metric (query/metric_goal.py): a sweep's declared goal, else
the metric's name; and the run table's columns carry it."""

from __future__ import annotations

import pytest

import canvasback
from canvasback.query.metric_goal import SWEEP_METRIC_TAG, better, declared_goals
from canvasback.query.run_set import RunSet


@pytest.mark.parametrize(
    ("key", "goal"),
    [
        ("loss", "lower"),
        ("val_loss", "lower"),
        ("train/logloss", "lower"),
        ("mean_squared_error", "lower"),
        ("eval-RMSE", "lower"),
        ("test_mae", "lower"),
        ("val_acc", "higher"),
        ("accuracy", "higher"),
        ("roc_auc", "higher"),
        ("f1", "higher"),
        ("r2_score", "higher"),
        ("val/precision", "higher"),
        ("recall", "higher"),
        ("throughput", None),
        ("layer2", None),  # not an r2
        ("loss_scale", None),  # the last word tells
        ("", None),
    ],
)
def test_the_name_tells_by_its_last_word(key, goal):
    assert better(key) == goal


def test_a_sweep_s_declared_goal_wins_over_the_name():
    declared = declared_goals(["max loss", "min val_acc", None, "median x", "min"])
    assert declared == {"loss": "higher", "val_acc": "lower"}
    assert better("loss", declared) == "higher"
    assert better("val_loss", declared) == "lower"  # not declared: by its name
    # Two sweeps that disagree declare nothing.
    assert declared_goals(["min val_acc", "max val_acc"]) == {}


def test_the_run_table_s_columns_carry_the_goal(store):
    # The sweep's parent run holds the tag (projects/sweeps.py writes it with this name).
    client = canvasback.Client(store=store)
    for goal in ("max throughput", None):
        run = client.create_run("0", tags={SWEEP_METRIC_TAG: goal} if goal else None)
        run.log_metric("throughput", 1.0)
        run.log_metric("val_loss", 0.5)
        run.log_metric("steps", 3.0)
        client.set_terminated(run.run_id)
    client.flush()
    runs = RunSet(client.store)
    try:
        runs.refresh()
        columns = {c["name"]: c for c in runs.available([])}
    finally:
        runs.close()
    assert columns["metrics.throughput"]["better"] == "higher"  # the sweep said so
    assert columns["metrics.val_loss"]["better"] == "lower"  # its name
    assert "better" not in columns["metrics.steps"]  # unknown
    assert "better" not in columns[f"tags.{SWEEP_METRIC_TAG}"]
