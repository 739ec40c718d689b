"""SweepView after real sweeps: the rows, the best so far and the chart's data, as each
point ends and when the sweep is done.

The sweeps are real (functions in spawned worker processes, a real store, an Optuna
journal); the view is the one a notebook shows, made by a sweep hook registered as the
notebook side registers its own, without a kernel to display it in.
"""

from __future__ import annotations

import importlib

import pytest

import canvasback as cb
from canvasback.projects import sweep_watch
from canvasback.widgets._base import table_from_ipc_bytes
from canvasback.widgets.sweep_view import SweepView

XSS = '<img src=x onerror="window.__xss = 1">'

TARGETS = """\
import canvasback as cb


def train(lr, depth, label="plain"):
    if lr < 0:
        raise ValueError(f"lr {lr} is negative")
    cb.log_metric("loss", abs(lr - 0.1) + depth / 100)


def curve(quality):
    for step in range(6):
        cb.log_metric("loss", quality + 1.0 / (step + 1), step=step)
"""


@pytest.fixture
def targets(tmp_path, monkeypatch):
    """A module of sweep functions, importable here and in spawned workers."""
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "view_targets.py").write_text(TARGETS)
    monkeypatch.syspath_prepend(str(folder))
    return importlib.import_module("view_targets")


@pytest.fixture
def views():
    """The views sweeps make while the test runs, with every state their rows took."""
    made: list[SweepView] = []
    rows_seen: list[list[dict]] = []
    lines_seen: list[set[str]] = []  # the runs the chart drew, each time it was drawn

    def drawn(change):
        for data in change["new"].values():
            rows = table_from_ipc_bytes(data).to_pylist()
            lines_seen.append({r["run"] for r in rows if r.get("kind") == "run"})

    def make(start):
        view = SweepView(start)
        rows_seen.append(view.rows_view.rows)  # as the sweep starts
        view.rows_view.observe(lambda change: rows_seen.append(change["new"]), names=["rows"])
        view.chart.observe(drawn, names=["datasets"])
        made.append(view)
        return view

    def hook(live):
        return None if live is False else make

    sweep_watch.add_sweep_view_hook(hook)
    yield made, rows_seen, lines_seen
    sweep_watch.remove_sweep_view_hook(hook)
    for view in made:
        view.rows_view.close()
        view.chart.close()


def _parallel_rows(view: SweepView) -> list[dict]:
    (name,) = view.chart.datasets
    return table_from_ipc_bytes(view.chart.datasets[name]).to_pylist()


@pytest.mark.slow
@pytest.mark.usefixtures("store")
def test_a_grid_sweep_shows_its_points_the_best_and_the_finished_ones_chart(targets, views):
    made, rows_seen, lines_seen = views
    points = [
        {"lr": 0.1, "depth": 2},
        {"lr": 0.3, "depth": 4, "label": XSS},
        {"lr": -1.0, "depth": 2},
        {"lr": 0.01, "depth": 8},
    ]
    result = cb.sweep(targets.train, points=points, max_workers=1, metric="loss", mode="min")
    (view,) = made
    # Before any point ended: the first point running, the others queued, in order.
    assert [r["status"] for r in rows_seen[0]] == [
        "RUNNING",
        "QUEUED",
        "QUEUED",
        "QUEUED",
    ]
    # As points ended, the next one ran: some state had one finished and one running.
    assert any(
        [r["status"] for r in rows] == ["FINISHED", "RUNNING", "QUEUED", "QUEUED"]
        for rows in rows_seen
    )
    rows = view.rows_view.rows
    assert [r["status"] for r in rows] == ["FINISHED", "FINISHED", "FAILED", "FINISHED"]
    assert rows[0]["run_name"] == "#0 · lr=0.1, depth=2"
    assert rows[2]["run_name"].startswith("#2 · lr=-1.0, depth=2 · ValueError: lr -1.0")
    assert [r["value"] for r in rows] == [
        pytest.approx(0.02),
        pytest.approx(0.24),
        None,
        pytest.approx(0.17),
    ]
    assert [r["run_id"] for r in rows] == [p.run_id or "" for p in result.points]
    assert all(r["key"] == "loss" for r in rows)
    assert all(r["end_time"] >= r["start_time"] for r in rows)
    # The best so far is the chart's title.
    assert view.best is not None
    assert view.best.run_id == result.best.run_id
    assert view.chart.spec["title"]["text"] == "best loss = 0.02 at #0 · lr=0.1, depth=2"
    # The chart: one line per finished point, over the params that differ and the metric.
    lines = [r for r in _parallel_rows(view) if r["kind"] == "run"]
    assert sorted({r["run"] for r in lines}) == ["#0", "#1", "#3"]  # not the failed one
    assert {r["axis"] for r in lines} == {"lr", "depth", "label", "loss"}
    loss = {r["run"]: r["text"] for r in lines if r["axis"] == "loss"}
    assert loss == {"#0": "0.02", "#1": "0.24", "#3": "0.17"}
    # The chart grew as the points finished: 1, then 2 lines (not the failed point), then 3.
    assert [len(lines) for lines in lines_seen if lines] == [1, 2, 3]
    # The saved notebook's copy of the rows: escaped, every point.
    static = view.rows_view.summary_html()
    assert XSS not in static
    assert "&lt;img src=x" in static
    assert static.count("<tr>") == 4


@pytest.mark.slow
@pytest.mark.usefixtures("store")
def test_a_search_shows_its_trials_with_their_params_and_the_pruned_ones(targets, views):
    made, rows_seen, _ = views
    result = cb.sweep(
        targets.curve,
        space={"quality": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]},
        sampler="grid",
        pruner="median",
        metric="loss",
        mode="min",
        seed=5,
        max_workers=1,
    )
    (view,) = made
    # A trial's params are the sampler's: unknown until it is asked.
    assert rows_seen[0][0]["run_name"] == "#0 · (the sampler's choice)"
    rows = view.rows_view.rows
    by_trial = {p.trial: p for p in result.points}
    assert len(rows) == 10
    for row in rows:
        number = int(row["run_name"].split(" ")[0].removeprefix("#"))
        point = by_trial[number]
        assert row["run_name"] == f"#{number} · quality={point.params['quality']}"
        assert row["status"] == ("PRUNED" if point.pruned else point.status)
        assert row["run_id"] == point.run_id
    assert sum(r["status"] == "PRUNED" for r in rows) == result.pruned > 0
    lines = {r["run"] for r in _parallel_rows(view) if r["kind"] == "run"}
    assert lines == {f"#{p.trial}" for p in result.points if p.status == "FINISHED"}
    best = result.best
    assert view.chart.spec["title"]["text"] == f"best loss = 0.1667 at #{best.trial} · quality=0.0"


@pytest.mark.slow
@pytest.mark.usefixtures("store")
def test_live_true_outside_a_notebook_is_refused_before_anything_is_written(targets, capsys):
    with pytest.raises(RuntimeError, match=r"sweep\(live=True\) .* not a Jupyter kernel"):
        cb.sweep(targets.train, points=[{"lr": 0.1, "depth": 2}], live=True)
    assert cb.search_runs(search_all_experiments=True).empty
    # Outside a notebook, the progress bar stays: it counts the points on stderr.
    cb.sweep(targets.train, points=[{"lr": 0.1, "depth": 2}], max_workers=1)
    assert "1/1" in capsys.readouterr().err
