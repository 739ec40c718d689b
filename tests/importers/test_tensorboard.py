"""TensorBoard event files, written by a real writer (tensorboardX), moved into canvasback.

Each folder of event files is a run; every scalar point keeps its step and wall time
(past TensorBoard's default sample of 10,000), hparams become params, and what is not
carried over (histograms, images) is in the report. A second import doubles nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from tensorboardX import SummaryWriter  # in the test extra: missing, the module fails

import canvasback as cb
from canvasback.importers import SourceNotFoundError
from canvasback.importers.writer import MARKER

T0 = 1_700_000_000.0
POINTS = 25_000  # past TensorBoard's default reservoir of 10,000 scalars


def _write(logdir: Path) -> dict[str, dict[str, list[tuple[int, int, float]]]]:
    """Two runs of scalars with explicit wall times, one with hparams and a histogram."""
    expected: dict[str, dict[str, list[tuple[int, int, float]]]] = {}
    with SummaryWriter(str(logdir / "resnet" / "lr-0.1")) as writer:
        series = expected.setdefault("resnet/lr-0.1", {})
        for step in range(POINTS):
            value = 1.0 / (step + 1)
            writer.add_scalar("loss/train", value, step, walltime=T0 + step / 100)
            series.setdefault("loss/train", []).append(
                (step, round((T0 + step / 100) * 1000), float(np.float32(value)))
            )
        writer.add_histogram("weights", np.arange(10.0), 0, walltime=T0)
    with SummaryWriter(str(logdir / "resnet" / "lr-0.01")) as writer:
        series = expected.setdefault("resnet/lr-0.01", {})
        for step in (0, 10, 20):
            writer.add_scalar("acc", step / 40, step, walltime=T0 + step)
            series.setdefault("acc", []).append((step, round((T0 + step) * 1000), step / 40))
        writer.add_scalar("acc", 0.25, 10, walltime=T0 + 30)  # a step logged twice: both kept
        series["acc"].append((10, round((T0 + 30) * 1000), 0.25))
    with SummaryWriter(str(logdir / "sweep")) as writer:
        writer.add_hparams(
            {"lr": 0.1, "optimizer": "adam", "batch": 64, "augment": True},
            {"hparam/accuracy": 0.75},
            name="trial",
        )
    return expected


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> tuple[Path, dict[str, dict[str, list[tuple[int, int, float]]]]]:
    """A log folder written once for the module (the imports only read it), and its points."""
    logdir = tmp_path_factory.mktemp("tensorboard") / "logs"
    return logdir, _write(logdir)


def _history(client, run_id: str, key: str) -> list[tuple[int, int, float]]:
    return sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key))


def test_event_files_move_in_with_every_point_and_a_second_import_doubles_nothing(logs, tmp_path):
    logdir, expected = logs
    store = tmp_path / "store"
    report = cb.import_tensorboard(logdir, store, experiment="vision", progress=False)
    client = cb.MlflowClient(store)
    experiment = client.get_experiment_by_name("vision")
    assert experiment is not None
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    # "sweep" holds the writer's own (empty) event file; add_hparams wrote "sweep/trial".
    assert set(runs) == {"resnet/lr-0.1", "resnet/lr-0.01", "sweep", "sweep/trial"}
    assert runs["sweep"].data.metrics == {}
    for name, series in expected.items():
        run = runs[name]
        assert set(run.data.metrics) == set(series)
        for key, points in series.items():
            assert _history(client, run.info.run_id, key) == sorted(points)
        assert run.info.status == "FINISHED"
        assert run.data.tags[MARKER] == str(logdir.resolve())
    first = runs["resnet/lr-0.1"].info
    assert first.start_time == round(T0 * 1000)
    assert first.end_time == round((T0 + (POINTS - 1) / 100) * 1000)
    sweep = runs["sweep/trial"]
    assert sweep.data.params == {"lr": "0.1", "optimizer": "adam", "batch": "64", "augment": "True"}
    assert _history(client, sweep.info.run_id, "hparam/accuracy")[0][2] == 0.75
    assert report.points == sum(len(p) for s in expected.values() for p in s.values()) + 1
    assert any("histograms" in line and "lr-0.1" in line for line in report.not_carried)

    again = cb.import_tensorboard(logdir, store, experiment="vision", progress=False)
    assert (again.runs, again.runs_already, again.points) == (0, 4, 0)
    for name, series in expected.items():
        for key, points in series.items():
            assert _history(client, runs[name].info.run_id, key) == sorted(points)


@pytest.mark.slow  # the command runs in a child process
def test_a_folder_without_event_files_is_refused_and_nothing_is_made(tmp_path):
    empty = tmp_path / "logs"
    empty.mkdir()
    (empty / "notes.txt").write_text("no events")
    store = tmp_path / "store"
    with pytest.raises(SourceNotFoundError, match="holds no TensorBoard event files"):
        cb.import_tensorboard(empty, store)
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        cb.import_tensorboard(tmp_path / "missing", store)
    env = {**os.environ, "PYTHONPATH": str(Path(cb.__file__).parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "canvasback", "import-tensorboard", empty, "--store", store],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        (
            f"canvasback import-tensorboard: {str(empty)!r} holds no TensorBoard event files "
            "(events.out.tfevents.*)"
        )
    ]
    assert not store.exists()


@pytest.mark.slow
def test_the_command_imports_a_log_folder(logs, tmp_path):
    logdir, expected = logs
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(Path(cb.__file__).parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "canvasback", "import-tensorboard", logdir, "--store", store],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "4 run(s) written" in result.stdout
    client = cb.MlflowClient(store)
    experiment = client.get_experiment_by_name("logs")  # named after the folder
    assert experiment is not None
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    loss = _history(client, runs["resnet/lr-0.1"].info.run_id, "loss/train")
    assert loss == sorted(expected["resnet/lr-0.1"]["loss/train"])


@pytest.mark.slow  # a fresh interpreter
def test_importing_canvasback_loads_no_importer_library_and_a_missing_one_says_what_to_install(
    tmp_path,
):
    code = textwrap.dedent(
        """
        import sys
        import canvasback
        assert callable(canvasback.import_mlflow) and callable(canvasback.import_tensorboard)
        loaded = {"mlflow", "tensorboard", "tensorboardX", "tqdm"} & set(sys.modules)
        assert not loaded, loaded
        sys.modules["mlflow"] = sys.modules["tensorboard"] = None  # not installed
        for call in (lambda: canvasback.import_mlflow("http://localhost:1", sys.argv[1]),
                     lambda: canvasback.import_tensorboard(sys.argv[1], sys.argv[1])):
            try:
                call()
            except canvasback.importers.SourceNotFoundError as error:
                print(error)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(cb.__file__).parents[1])}
    result = subprocess.run(
        [sys.executable, "-c", code, tmp_path],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert result.stdout.splitlines() == [
        (
            "Reading 'http://localhost:1' needs MLflow's client: pip install "
            "'canvasback[mlflow]' (a mlruns folder needs none)"
        ),
        "Reading TensorBoard event files needs tensorboard: pip install 'canvasback[tensorboard]'",
    ]
