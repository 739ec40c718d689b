"""log_history: whole metric series logged column-wise, checked before anything is kept."""

from __future__ import annotations

import math

import numpy as np
import pytest

import canvasback
from canvasback import Metric


@pytest.mark.usefixtures("store")
def test_series_land_with_default_steps_and_read_back_in_order():
    with canvasback.start_run(live=False) as run:
        canvasback.log_history({"loss": [1 / (i + 1) for i in range(1000)], "acc": [0.5] * 1000})
    loss = canvasback.get_metric_history(run.run_id, "loss")
    assert loss["step"].tolist() == list(range(1000))
    assert loss["value"].tolist() == [1 / (i + 1) for i in range(1000)]
    assert canvasback.get_run(run.run_id).data.metrics == {"loss": 1 / 1000, "acc": 0.5}


@pytest.mark.usefixtures("store")
def test_numpy_arrays_with_explicit_steps_and_timestamps():
    with canvasback.start_run(live=False) as run:
        run.log_history(
            {"x": np.linspace(0.0, 1.0, 5), "n": np.arange(5)},
            steps=np.arange(5) * 10,
            timestamps=np.full(5, 1_700_000_000_000),
        )
    x = canvasback.get_metric_history(run.run_id, "x")
    assert x["step"].tolist() == [0, 10, 20, 30, 40]
    assert x["value"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert set(x["timestamp"]) == {1_700_000_000_000}
    assert canvasback.get_metric_history(run.run_id, "n")["value"].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.usefixtures("store")
def test_nan_and_inf_are_kept():
    with canvasback.start_run(live=False) as run:
        canvasback.log_history({"m": [math.nan, math.inf, -math.inf, 1.0]})
    values = canvasback.get_metric_history(run.run_id, "m")["value"].tolist()
    assert math.isnan(values[0])
    assert values[1:] == [math.inf, -math.inf, 1.0]


@pytest.mark.usefixtures("store")
@pytest.mark.parametrize(
    ("series", "kwargs", "words"),
    [
        ({"a": [1.0, 2.0], "b": [1.0]}, {}, ["'b'", "1 values", "2"]),
        ({"a": [1.0, "x"]}, {}, ["'x'", "'a'", "real numbers"]),
        ({"bad!key": [1.0]}, {}, ["'bad!key'", "alphanumerics"]),
        ({"a": [1.0, 2.0]}, {"steps": [0, 1.5]}, ["1.5", "integers"]),
        ({"a": [1.0, 2.0]}, {"steps": [0]}, ["steps", "1 given", "2"]),
        ({"a": [1.0]}, {"steps": [2**63]}, [str(2**63), "integers"]),
    ],
)
def test_bad_series_are_refused_whole_and_nothing_is_lost(series, kwargs, words):
    with canvasback.start_run(live=False) as run:
        canvasback.log_metric("kept", 1.0)
        with pytest.raises(canvasback.InvalidInputError) as err:
            canvasback.log_history(series, **kwargs)
    for word in words:
        assert word in str(err.value)
    data = canvasback.get_run(run.run_id).data.metrics
    assert data == {"kept": 1.0}  # nothing of the refused batch, everything from before


@pytest.mark.usefixtures("store")
def test_log_batch_with_mixed_types_is_checked_per_point():
    client = canvasback.Client()
    run = client.create_run()
    client.log_batch(run.run_id, metrics=[Metric("a", 1, 5, 0), Metric("a", np.float32(2.5), 6, 1)])
    with pytest.raises(canvasback.InvalidInputError, match="'a'"):
        client.log_batch(run.run_id, metrics=[Metric("a", 1.0, 7, 2), Metric("a", None, 8, 3)])
    values = client.get_metric_history(run.run_id, "a")
    assert [(m.step, m.value) for m in values] == [(0, 1.0), (1, 2.5)]
