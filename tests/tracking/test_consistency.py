"""What the API says and what the store holds agree: NaN params, deleted runs and
experiments, batch shapes, and background threads at exit."""

from __future__ import annotations

import math

import pytest

import canvasback as cb
from canvasback.tracking.entities import Param, RunTag


@pytest.fixture
def nan_param_run(store):
    del store  # the fresh store the runs go to
    with cb.start_run(run_name="nan", params={"x": "nan"}):
        pass
    with cb.start_run(run_name="one", params={"x": "1"}):
        pass
    with cb.start_run(run_name="nan-metric"):
        cb.log_metric("m", math.nan)


@pytest.mark.usefixtures("nan_param_run")
@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.x > 0", ["one"]),
        ("params.x >= 1e308", []),
        ("params.x < 1e308", ["one"]),
        ("params.x != 5", ["one"]),
        ("params.x = 'nan'", ["nan"]),  # a string comparison still sees the text
        ("metrics.m > 0", []),
        ("metrics.m <= 0", []),
    ],
)
def test_nan_params_match_no_numeric_comparison_as_nan_metrics(filter_string, expected):
    frame = cb.search_runs(filter_string=filter_string)
    assert sorted(frame["run_name"]) == expected


@pytest.mark.usefixtures("store")
def test_a_deleted_run_takes_no_more_data():
    with cb.start_run(run_name="doomed") as run:
        cb.log_metric("m", 1.0)
        cb.delete_run(run.run_id)
        with pytest.raises(cb.RunEndedError, match=r"was deleted.*restore_run"):
            cb.log_metric("m", 2.0)
        with pytest.raises(cb.RunEndedError, match="was deleted"):
            cb.set_tag("t", "x")
        cb.restore_run(run.run_id)
        cb.log_metric("m", 3.0)
    cb.delete_run(run.run_id)
    client = cb.Client()
    with pytest.raises(cb.RunEndedError, match="was deleted"):
        client.log_metric(run.run_id, "m", 4.0)
    with pytest.raises(cb.RunEndedError, match="was deleted"):
        cb.start_run(run_id=run.run_id)
    assert cb.active_run() is None
    history = cb.get_metric_history(run.run_id, "m")["value"].tolist()
    assert history == [1.0, 3.0]


@pytest.mark.usefixtures("store")
def test_a_deleted_experiment_cannot_be_set_active():
    client = cb.Client()
    experiment_id = client.create_experiment("gone")
    client.delete_experiment(experiment_id)
    with pytest.raises(cb.InvalidInputError, match=r"deleted experiment 'gone'.*restore"):
        cb.set_experiment("gone")
    with pytest.raises(cb.InvalidInputError, match="deleted experiment"):
        cb.set_experiment(experiment_id=experiment_id)
    client.restore_experiment(experiment_id)
    assert cb.set_experiment("gone").experiment_id == experiment_id


@pytest.mark.usefixtures("store")
@pytest.mark.parametrize("bad", [5, "abc", None])
def test_log_history_of_a_non_sequence_names_the_key(bad):
    with cb.start_run(), pytest.raises(cb.InvalidInputError, match="Invalid history for 'h'"):
        cb.log_history({"h": bad})


@pytest.mark.usefixtures("store")
def test_log_batch_takes_pairs_and_refuses_other_shapes():
    client = cb.Client()
    run = client.create_run()
    client.log_batch(
        run.run_id,
        metrics=[("acc", 0.5, 1_700_000_000_000, 3)],
        params=[("lr", "0.1"), Param("opt", "adam")],
        tags=[("team", "a"), RunTag("stage", "dev")],
    )
    data = client.get_run(run.run_id).data
    assert data.metrics == {"acc": 0.5}
    assert data.params == {"lr": "0.1", "opt": "adam"}
    assert {k: data.tags[k] for k in ("team", "stage")} == {"team": "a", "stage": "dev"}
    with pytest.raises(cb.InvalidInputError, match=r"Invalid metric \('acc', 0.5\)"):
        client.log_batch(run.run_id, metrics=[("acc", 0.5)])
    with pytest.raises(cb.InvalidInputError, match=r"Invalid param 'lr'"):
        client.log_batch(run.run_id, params=["lr"])
    with pytest.raises(cb.InvalidInputError, match=r"Invalid tag \(1, 2, 3\)"):
        client.log_batch(run.run_id, tags=[(1, 2, 3)])


def test_exit_with_a_live_view_still_polling_is_clean(run_python, tmp_path):
    result = run_python(
        """
        import sys
        import canvasback as cb
        from canvasback.widgets.live_run import LiveRun
        cb.set_store(sys.argv[1])
        run = cb.start_run(run_name="watched", live=False)
        view = LiveRun(run, interval=0.01)
        for step in range(2000):
            cb.log_metric("loss", 1 / (step + 1), step=step)
        cb.flush()
        assert view.polling
        """,
        tmp_path / "s",
    )
    assert result.returncode == 0, result.stderr
    assert "terminate called" not in result.stderr
    cb.set_store(tmp_path / "s")
    assert cb.search_runs()["status"].tolist() == ["FINISHED"]


RESUME_IN_WORKER = """
import multiprocessing as mp
import sys

import canvasback as cb


def work(run_id):
    cb.set_store(sys.argv[1])
    with cb.start_run(run_id=run_id):
        for step in range(100):
            cb.log_metric("w", float(step), step=step)
    return run_id


if __name__ == "__main__":
    cb.set_store(sys.argv[1])
    with mp.get_context(sys.argv[2]).Pool(2) as pool:  # the pool exists before the run
        pool.apply(abs, (1,))  # its workers are up
        run = cb.start_run(run_name="handed-over")
        assert pool.apply(work, (run.run_id,)) == run.run_id
    cb.end_run()
    print(run.run_id)
"""


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_run_started_here_is_resumed_by_id_in_a_worker_at_once(run_python, tmp_path, method):
    result = run_python(RESUME_IN_WORKER, tmp_path / "s", method, timeout=120)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    cb.set_store(tmp_path / "s")
    history = cb.get_metric_history(run_id, "w")
    assert history["step"].tolist() == list(range(100))
    assert cb.get_run(run_id).info.status == "FINISHED"
