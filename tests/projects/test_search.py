"""Sweeps that search through Optuna: trials of functions on process pools, of an entry
point on a Dask cluster, samplers, median pruning, and bad input refused before any
trial runs.

The functions live in a module written for the test (importable in spawned workers);
the workers are real processes that ask and tell one journal beside the real store.
"""

from __future__ import annotations

import importlib
import statistics
from pathlib import Path

import optuna
import pytest

import canvasback as cb
from canvasback.projects import ParamError

TARGETS = """\
import canvasback as cb


def quadratic(x, y):
    cb.log_metric("loss", (x - 1.0) ** 2 + (y + 2.0) ** 2)


def curve(quality):
    # The same shape for every trial, shifted by its quality: a poor trial is poor at
    # every step, which is what a median pruner looks for.
    for step in range(6):
        cb.log_metric("loss", quality + 1.0 / (step + 1), step=step)


def wrong_metric(x):
    cb.log_metric("accuracy", x)
    cb.log_metric("val_acc", x)
"""

MLPROJECT = """\
name: searchable
entry_points:
  main:
    parameters:
      lr: {type: float, default: 0.1}
    command: "python train.py {lr}"
"""
TRAIN = """\
import sys
import canvasback as mlflow

lr = float(sys.argv[1])
mlflow.log_metric("loss", abs(lr - 0.01))
"""


@pytest.fixture
def targets(tmp_path, monkeypatch):
    """A module of sweep functions, importable here and in spawned workers."""
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "search_targets.py").write_text(TARGETS)
    monkeypatch.syspath_prepend(str(folder))
    return importlib.import_module("search_targets")


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "searchable"
    root.mkdir()
    (root / "MLproject").write_text(MLPROJECT)
    (root / "train.py").write_text(TRAIN)
    return root


def _children(parent_run_id):
    parent = cb.get_run(parent_run_id)
    return cb.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
    )


def _study(store, result):
    journal = Path(store) / "sweeps" / result.parent_run_id / "journal.log"
    backend = optuna.storages.journal.JournalFileBackend(str(journal))
    return optuna.load_study(
        study_name=result.study, storage=optuna.storages.JournalStorage(backend)
    )


def _check_trials(store, result, n_trials):
    """Every trial ran once, in a run of its own that tells the trial's params and value."""
    children = _children(result.parent_run_id)
    numbers = list(children["tags.canvasback.sweep.trial"].astype(int))
    assert sorted(numbers) == list(range(n_trials))  # unique, n_trials in total
    assert set(children["tags.canvasback.sweep.study"]) == {result.study}
    study = _study(store, result)
    trials = {t.number: t for t in study.trials}
    assert len(trials) == n_trials
    for row in children.to_dict("records"):
        trial = trials[int(row["tags.canvasback.sweep.trial"])]
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert trial.user_attrs["canvasback.run_id"] == row["run_id"]
        assert trial.value == pytest.approx(row["metrics.loss"])
        for key, value in trial.params.items():
            assert row[f"params.{key}"] == str(value)
    return children, study


@pytest.mark.slow
def test_a_function_searched_on_a_process_pool(targets, store):
    space = {"x": (-4.0, 4.0), "y": cb.search.uniform(-4, 4)}
    result = cb.sweep(
        targets.quadratic,
        space=space,
        n_trials=6,
        max_workers=2,
        metric="loss",
        mode="min",
        seed=7,
        progress=False,
    )
    assert result.finished == 6
    assert result.failed == 0
    children, study = _check_trials(store, result, 6)
    assert sorted(children["status"]) == ["FINISHED"] * 6
    best = result.best
    assert best is not None
    assert best.metric == pytest.approx(study.best_value)
    assert result.best_params == study.best_params
    assert best.run_id == study.best_trial.user_attrs["canvasback.run_id"]
    assert len(set(children["tags.canvasback.sweep.point"])) == 6
    parent = cb.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["canvasback.sweep.study"] == result.study
    assert parent.data.tags["canvasback.sweep.best_run_id"] == best.run_id
    assert parent.data.metrics["best_loss"] == pytest.approx(study.best_value)
    assert "best loss" in result.summary()


@pytest.mark.slow
def test_an_entry_point_searched_on_a_dask_cluster(project, store):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = cb.sweep(
            project,
            space={"lr": cb.search.loguniform(1e-3, 1.0)},
            n_trials=4,
            executor=client.get_executor(),
            metric="loss",
            mode="min",
            sampler="random",
            seed=3,
            progress=False,
        )
        workers = {w["id"] for w in client.scheduler_info()["workers"].values()}
    assert len(workers) == 2
    assert result.finished == 4
    _check_trials(store, result, 4)


@pytest.mark.slow
@pytest.mark.usefixtures("store")
def test_tpe_finds_a_better_optimum_than_random_search(targets):
    space = {"x": (-10.0, 10.0), "y": (-10.0, 10.0)}
    found = {}
    for sampler in ("random", "tpe"):
        result = cb.sweep(
            targets.quadratic,
            space=space,
            n_trials=24,
            max_workers=1,
            metric="loss",
            mode="min",
            sampler=sampler,
            seed=11,
            progress=False,
        )
        assert result.finished == 24
        found[sampler] = [p.metric for p in sorted(result.points, key=lambda p: p.index)]
    # TPE's first 10 trials are random (its startup); after them it samples near the best
    # so far, so its later trials are better than random search's, and so is its best.
    tpe_later, random_later = found["tpe"][10:], found["random"][10:]
    assert statistics.median(tpe_later) < statistics.median(random_later)
    assert min(found["tpe"]) < min(found["random"])
    assert min(found["tpe"]) < max(found["random"])


@pytest.mark.slow
def test_median_pruning_stops_the_poor_trials(targets, store, capsys):
    qualities = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    result = cb.sweep(
        targets.curve,
        space={"quality": qualities},
        sampler="grid",  # each quality once: n_trials is the grid's size
        pruner="median",
        metric="loss",
        mode="min",
        seed=5,
        max_workers=1,
    )
    assert len(result.points) == 10
    bar = capsys.readouterr().err.splitlines()[-1]  # the progress bar at its end
    assert f"pruned={result.pruned}" in bar
    assert "failed=0" in bar
    study = _study(store, result)
    trials = sorted(study.trials, key=lambda t: t.number)
    children = _children(result.parent_run_id).set_index("tags.canvasback.sweep.trial")
    completed = []
    pruned = []
    for trial in trials:
        quality = trial.params["quality"]
        run = children.loc[str(trial.number)]
        # MedianPruner: after 5 completed trials, a trial worse at a step than the
        # median of the completed ones at that step stops there (at its first step).
        poor = len(completed) >= 5 and quality > statistics.median(completed)
        if poor:
            assert trial.state == optuna.trial.TrialState.PRUNED, (trial.number, quality)
            assert run["status"] == "KILLED"
            assert run["tags.canvasback.sweep.pruned"] == "0"
            history = cb.MlflowClient().get_metric_history(run["run_id"], "loss")
            assert [m.step for m in history] == [0]  # it stopped when told to
            pruned.append(quality)
        else:
            assert trial.state == optuna.trial.TrialState.COMPLETE, (trial.number, quality)
            assert run["status"] == "FINISHED"
            assert trial.value == pytest.approx(quality + 1 / 6)
            completed.append(quality)
    assert pruned  # the grid's order put some poor trials after the startup trials
    assert result.pruned == len(pruned)
    assert result.finished == len(completed)
    assert result.failed == 0
    assert f"{len(pruned)} pruned" in result.summary()
    assert result.best_params == {"quality": 0.0}


@pytest.mark.slow
@pytest.mark.usefixtures("store")
def test_a_metric_no_trial_logs_stops_the_sweep(targets):
    with pytest.raises(ParamError) as caught:
        cb.sweep(
            targets.wrong_metric,
            space={"x": (0.0, 1.0)},
            n_trials=5,
            max_workers=1,
            metric="loss",
            mode="max",
            progress=False,
        )
    message = str(caught.value)
    assert "'loss' was not logged" in message
    assert "'accuracy', 'val_acc'" in message
    runs = cb.search_runs(search_all_experiments=True)
    parent = runs[
        runs["tags.canvasback.sweep.study"].notna() & runs["tags.mlflow.parentRunId"].isna()
    ]
    assert list(parent["status"]) == ["FAILED"]
    children = runs[runs["tags.canvasback.sweep.trial"].notna()]
    assert len(children) == 1  # the first finished trial told; the others never started
    assert list(children["metrics.accuracy"].notna()) == [True]  # what it logged is kept


BAD = [
    ({"space": {"lr": 0.1}}, r"Invalid space for 'lr': 0\.1; allowed is a list of values"),
    ({"space": {"lr": (0.1, 0.2, 0.3)}}, r"Invalid space for 'lr': \(0\.1, 0\.2, 0\.3\)"),
    ({"space": {"lr": []}}, r"Invalid space for 'lr': an empty list"),
    ({"space": {"lr": (1.0, 0.5)}}, r"low must be below high"),
    ({"space": {"lr": [[1, 2]]}}, r"Invalid choice \[1, 2\] for 'lr'"),
    ({"space": {}}, r"Invalid space \{\}"),
    ({"sampler": "bayes"}, r"Invalid sampler 'bayes': allowed are 'tpe', 'random', 'grid'"),
    ({"pruner": "hyperband"}, r"Invalid pruner 'hyperband': allowed are 'median', 'halving'"),
    (
        {"sampler": "grid", "space": {"lr": cb.search.loguniform(1e-3, 1.0)}},
        r"grid sampler cannot search 'lr': loguniform\(0\.001, 1\)",
    ),
    ({"metric": None}, r"A search needs metric="),
    ({"mode": None}, r"A search needs mode="),
    ({"mode": "best"}, r"Invalid mode 'best'"),
    ({"n_trials": None}, r"Invalid n_trials None"),
    ({"n_trials": 0}, r"Invalid n_trials 0"),
    ({"seed": 1.5}, r"Invalid seed 1\.5"),
    ({"study": "a b/c"}, r"Invalid study name 'a b/c'"),
    ({"space": {"lr": ["fast"]}}, r"Invalid value 'fast' for parameter 'lr'"),
    ({"grid": {"lr": [0.1]}}, r"grid= or points= .* or space="),
    ({"resume": "no-such-sweep"}, r"Cannot resume 'no-such-sweep'"),
]


@pytest.mark.parametrize(("change", "error"), BAD, ids=[e for _, e in BAD])
def test_bad_input_is_refused_before_any_trial_runs(project, store, change, error):
    call = {
        "space": {"lr": cb.search.loguniform(1e-3, 1.0)},
        "n_trials": 3,
        "metric": "loss",
        "mode": "min",
        **change,
    }
    with pytest.raises(ParamError, match=error):
        cb.sweep(project, progress=False, **call)
    assert len(cb.search_runs(search_all_experiments=True)) == 0
    assert not (Path(store) / "sweeps").exists()


def test_space_helpers_refuse_bad_ranges():
    with pytest.raises(ParamError, match=r"a log scale needs low above 0"):
        cb.search.loguniform(0, 1)
    with pytest.raises(ParamError, match=r"Invalid int_range low 1\.5: a whole number"):
        cb.search.int_range(1.5, 4)
    with pytest.raises(ParamError, match=r"Invalid uniform step -1"):
        cb.search.uniform(0, 1, step=-1)
    assert cb.search.parse_space({"d": (2, 8)}) == {"d": cb.search.int_range(2, 8)}
