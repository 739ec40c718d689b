"""LiveRun on a real store: what it pushes, when it stops, and how start_run shows it."""

from __future__ import annotations

import threading

import IPython.display
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import canvasback as cb
from canvasback import _notebook
from canvasback.query.downsample import StreamSketch
from canvasback.widgets import live_run as lr
from canvasback.widgets._base import table_from_ipc_bytes
from canvasback.widgets.live_run import BUCKETS, LiveRun, live_view_of


def latest(live):
    return {row["key"]: row for row in table_from_ipc_bytes(live.latest).to_pylist()}


def series(live):
    points: dict[int, list[tuple[float, float]]] = {}
    for row in table_from_ipc_bytes(live.series).to_pylist():
        points.setdefault(row["chart"], []).append((row["x"], row["y"]))
    return points


@pytest.fixture
def manual(store):
    """A running run with a LiveRun whose thread is off: the test calls update()."""
    del store  # the fresh store is what matters, not its path
    run = cb.start_run(run_name="manual")
    live = LiveRun(run, start=False)
    yield run, live
    live.close()


def test_update_pushes_latest_values_and_a_bounded_series(manual):
    run, live = manual
    for i in range(10_000):
        run.log_metric("loss", 1.0 / (i + 1), step=i)
        run.log_metric("acc", i / 10_000, step=i)
    cb.flush()
    assert live.update() is True

    rows = latest(live)
    assert rows["loss"]["value"] == pytest.approx(1 / 10_000)
    assert rows["loss"]["step"] == 9_999
    assert rows["acc"]["value"] == pytest.approx(0.9999)
    assert live.metric_count == 2
    charts = series(live)
    assert sorted(charts) == sorted([rows["loss"]["chart"], rows["acc"]["chart"]])
    loss = charts[rows["loss"]["chart"]]
    assert 2 <= len(loss) <= 2 * BUCKETS
    # Min/max downsampling keeps the extremes: the first and the last loss.
    assert (0.0, 1.0) in loss
    assert (9_999.0, pytest.approx(1 / 10_000)) in loss
    assert [x for x, _ in loss] == sorted(x for x, _ in loss)
    assert len(live.latest) + len(live.series) < 8_000  # small state, whatever the run's size

    assert live.update() is False  # nothing new: nothing sent


def test_periodic_update_never_flushes_and_final_update_does(manual, monkeypatch):
    run, live = manual
    writer = run.store.writer
    flushed_here = []
    real_flush = writer.flush

    def flush():
        if threading.current_thread() is threading.main_thread():
            flushed_here.append(True)
        return real_flush()

    monkeypatch.setattr(writer, "flush", flush)
    run.log_metric("loss", 0.5, step=1)
    live.update()
    assert flushed_here == []
    live.update(final=True)
    assert flushed_here == [True]
    assert latest(live)["loss"]["value"] == 0.5


def test_each_update_reads_only_new_files(manual, monkeypatch):
    run, live = manual
    catalog = run.store.catalog
    queried: list[list[str]] = []
    real_arrow = catalog.arrow

    def arrow(sql, params=None):
        if "read_parquet" in sql and params:
            queried.append(list(params[0]))
        return real_arrow(sql, params)

    monkeypatch.setattr(catalog, "arrow", arrow)
    for step in range(3):
        run.log_metric("loss", float(step), step=step)
        cb.flush()
        live.update()
    assert len(queried) == 3
    assert all(len(paths) == 1 for paths in queried)
    assert len({paths[0] for paths in queried}) == 3
    assert series(live)[0] == [(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]


def test_a_run_reads_its_own_experiments_files_alone(store, monkeypatch):
    client = cb.Client(store)
    client.create_experiment("mine", experiment_id="1")
    client.create_experiment("other", experiment_id="2")
    runs = {i: client.create_run(e, run_id=i) for i, e in (("run-m", "1"), ("run-a", "2"))}
    runs["run-z"] = client.create_run("2", run_id="run-z")
    for run in runs.values():  # two files each: every partition is compacted
        for step in range(2):
            run.log_metric("loss", float(step), step=step)
            client.store.flush()
    client.compact(grace_seconds=0)
    live = LiveRun(runs["run-m"], start=False)
    catalog = runs["run-m"].store.catalog
    queried: list[str] = []
    real_arrow = catalog.arrow

    def arrow(sql, params=None):
        if "read_parquet" in sql and params:
            queried.extend(params[0])
        return real_arrow(sql, params)

    monkeypatch.setattr(catalog, "arrow", arrow)
    live.update()
    live.close()
    assert len(queried) == 1
    assert "/metrics/exp=1/cmp-" in queried[0]
    assert series(live)[0] == [(0.0, 0.0), (1.0, 1.0)]


def test_compaction_rebuilds_the_series_without_duplicates(manual):
    run, live = manual
    for step in range(6):
        run.log_metric("loss", float(step), step=step)
        cb.flush()
        live.update()
    cb.compact(grace_seconds=0)
    run.log_metric("loss", 6.0, step=6)
    cb.flush()
    live.update()
    assert series(live)[0] == [(float(s), float(s)) for s in range(7)]
    assert latest(live)["loss"]["step"] == 6


def test_charts_go_to_the_first_keys_logged_and_the_rest_are_listed(manual):
    run, live = manual
    keys = [f"k{i:02d}" for i in range(12)][::-1]  # logged in reverse name order
    for i, key in enumerate(keys):
        run.log_metric(key, float(i), step=0, timestamp=1_000 + i)
    cb.flush()
    live.update()
    rows = latest(live)
    charted = sorted((row["chart"], key) for key, row in rows.items() if row["chart"] >= 0)
    assert [key for _, key in charted] == keys[: lr.MAX_CHARTS]
    assert all(rows[key]["chart"] == -1 for key in keys[lr.MAX_CHARTS :])
    assert live.metric_count == 12
    # Once every chart is taken, later reads fetch only the charted keys' rows.
    run.log_metric(keys[-1], 99.0, step=1)
    run.log_metric(keys[0], 99.0, step=1)
    cb.flush()
    live.update()
    assert latest(live)[keys[-1]]["value"] == 99.0
    assert live.chart_points(keys[0])[-1] == (1, 99.0)


def test_a_key_logged_at_one_step_is_charted_by_time(manual):
    run, live = manual
    for i in range(5):
        run.log_metric("lr", 0.1 / (i + 1), timestamp=10_000 + i)  # step defaults to 0
        run.log_metric("loss", float(i), step=i)
    run.log_metric("nan", float("nan"), step=1)
    cb.flush()
    live.update()
    rows = latest(live)
    assert rows["lr"]["axis"] == "time"
    assert rows["loss"]["axis"] == "step"
    assert [x for x, _ in series(live)[rows["lr"]["chart"]]] == [10_000 + i for i in range(5)]
    assert np.isnan(rows["nan"]["value"])
    assert rows["nan"]["chart"] not in series(live)  # nothing finite to draw


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-(10**9), 10**9), st.floats(-1e6, 1e6)), min_size=1, max_size=400
    ),
    st.integers(1, 5),
)
def test_sketch_is_bounded_and_keeps_extremes(points, chunks):
    sketch = StreamSketch()
    xs = np.array([p[0] for p in points], dtype=np.int64)
    ys = np.array([p[1] for p in points], dtype=np.float64)
    for part in np.array_split(np.arange(len(points)), chunks):
        sketch.add(xs[part], ys[part])
    kept = sketch.points()
    assert len(kept) <= 2 * BUCKETS
    assert min(y for _, y in kept) == ys.min()
    assert max(y for _, y in kept) == ys.max()
    assert set(kept) <= set(zip(xs.tolist(), ys.tolist(), strict=True))


@pytest.mark.usefixtures("store")
def test_status_is_finished_after_the_with_block_and_the_thread_stops():
    with cb.start_run(run_name="ok") as run:
        live = LiveRun(run, interval=0.05)
        assert live.polling
        run.log_metric("loss", 0.25, step=3)
    assert live.join(timeout=10)
    assert not live.polling
    assert live.status == "FINISHED"
    assert live.end_time is not None
    assert live.end_time >= live.start_time
    # The final update flushed first, so it holds the last point.
    assert latest(live)["loss"]["value"] == 0.25


@pytest.mark.usefixtures("store")
def test_status_is_failed_when_the_with_block_raises():
    def train():
        with cb.start_run(run_name="bad") as run:
            views.append(LiveRun(run, interval=0.05))
            run.log_metric("loss", float("inf"), step=1)
            msg = "diverged"
            raise ValueError(msg)

    views: list[LiveRun] = []
    with pytest.raises(ValueError, match="diverged"):
        train()
    (live,) = views
    assert live.join(timeout=10)
    assert live.status == "FAILED"
    assert latest(live)["loss"]["value"] == float("inf")


def test_end_run_with_a_status_shows_it(manual):
    run, live = manual
    run.log_metric("loss", 1.0)
    cb.end_run("KILLED")  # no thread: the end hook makes the final update itself
    assert live.status == "KILLED"
    assert latest(live)["loss"]["value"] == 1.0
    assert live.update() is False


@pytest.mark.usefixtures("store")
def test_the_thread_pushes_while_the_run_logs(wait):
    run = cb.start_run()
    live = LiveRun(run, interval=0.02)
    run.log_metric("loss", 3.0, step=1)
    cb.flush()  # stands in for the background flusher's next tick
    wait(lambda: live.latest and "loss" in latest(live), what="a background push")
    live.close()
    assert live.join(timeout=10)
    cb.end_run()
    assert live.status == "RUNNING"  # closed views are left alone


def test_summary_html_escapes_run_text(manual):
    run, live = manual
    run.log_metric("loss", 0.5, step=1)  # metric names cannot hold markup; run names can
    cb.flush()
    live.update()
    live.run_name = "<img src=x onerror=alert(1)>"
    text = live.summary_html()
    assert "<img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "RUNNING" in text
    assert "0.5" in text
    data, _metadata = live._repr_mimebundle_()
    assert data["text/html"] == text
    assert "application/vnd.jupyter.widget-view+json" in data


@pytest.mark.usefixtures("store")
def test_start_run_live_true_outside_a_notebook_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"live=True.*not a Jupyter kernel"):
        cb.start_run(live=True)
    assert cb.active_run() is None
    run = cb.start_run()  # live unset: no view outside a kernel
    assert live_view_of(run) is None
    cb.end_run()


class _Handle:
    def __init__(self):
        self.updates = []

    def update(self, obj, **kwargs):
        self.updates.append((obj, kwargs))


@pytest.mark.usefixtures("store")
def test_start_run_in_a_kernel_shows_the_view_and_refreshes_its_output_at_the_end(monkeypatch):
    shown = []

    def display(obj, display_id=None, **kwargs):
        shown.append((obj, display_id, kwargs))
        return _Handle()

    monkeypatch.setattr(_notebook, "in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    with cb.start_run(run_name="nb") as run:
        live = live_view_of(run)
        assert isinstance(live, LiveRun)
        # Two outputs: the static summary (updated at the end), then the widget view.
        (summary, summary_id, _), (view, view_id, _) = shown
        assert summary_id is True
        assert f'data-cb-static="{live._static_key}"' in summary["text/html"]
        assert "RUNNING" in summary["text/html"]
        assert view_id is True  # a second run of the cell turns it into the cell's view
        assert view["application/vnd.jupyter.widget-view+json"]["model_id"] == live.model_id
        cb.log_metric("loss", 0.1, step=1)
    assert live.join(timeout=10)
    ((final, how),) = live._display.updates
    assert how == {"raw": True}
    assert "FINISHED" in final["text/html"]
    assert "loss" in final["text/html"]
    assert live.status == "FINISHED"
    with cb.start_run(live=False) as quiet:
        assert live_view_of(quiet) is None
    assert len(shown) == 2


def test_import_and_logging_in_a_script_load_no_widget_code(run_python, tmp_path):
    result = run_python(
        """
        import sys
        import canvasback as cb
        cb.set_store(sys.argv[1])
        with cb.start_run():
            cb.log_metric("loss", 1.0)
        cb.flush()
        loaded = [m for m in ("anywidget", "ipywidgets", "IPython", "canvasback.widgets")
                  if m in sys.modules]
        print("LOADED", loaded)
        """,
        tmp_path / "store",
    )
    assert "LOADED []" in result.stdout


@pytest.mark.usefixtures("store")
def test_a_sweep_in_one_cell_shows_one_view_with_a_row_per_run(monkeypatch):
    from canvasback.widgets import live_cell  # noqa: PLC0415

    shown = []
    handles = []

    def display(obj, **_kwargs):
        shown.append(obj)
        handles.append(_Handle())
        return handles[-1]

    monkeypatch.setattr(_notebook, "in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.setattr(live_cell, "_cell_key", lambda: "cell-7")
    for rate in (0.1, 0.01, 0.001):
        with cb.start_run(run_name=f"lr={rate}", params={"lr": rate}) as run:
            for step in range(5):
                cb.log_metric("loss", rate / (step + 1), step=step)
        assert live_view_of(run).join(timeout=10)
    # Two outputs only, made by the first run: the summary and the view.
    assert len(shown) == 2
    summary, view = handles
    # The second run turned the view into the cell's: one LiveCell, a row per run.
    ((bundle, how),) = view.updates
    assert how["raw"] is True
    cell = live_cell.cell_view()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == cell.model_id
    assert [row["run_name"] for row in cell.rows] == ["lr=0.1", "lr=0.01", "lr=0.001"]
    assert [row["status"] for row in cell.rows] == ["FINISHED"] * 3
    assert [row["value"] for row in cell.rows] == pytest.approx([0.1 / 5, 0.01 / 5, 0.001 / 5])
    assert all(row["key"] == "loss" and len(row["xs"]) == 5 for row in cell.rows)
    # The saved summary follows the cell: its last update lists every run.
    final, _ = summary.updates[-1]
    assert all(f"lr={rate}" in final["text/html"] for rate in (0.1, 0.01, 0.001))
    assert f'data-cb-static="{cell._static_key}"' in final["text/html"]
    # A new cell starts over with a view of its own.
    monkeypatch.setattr(live_cell, "_cell_key", lambda: "cell-8")
    with cb.start_run(run_name="alone"):
        pass
    assert len(shown) == 4


# -- system metrics ---------------------------------------------------------------------------
# A point of system metrics as a run sampled on a machine with one GPU logs them.
SYSTEM_POINT = {
    "system/cpu_utilization_percentage": 37.2,
    "system/system_memory_usage_percentage": 52.4,
    "system/system_memory_usage_megabytes": 8_402.1,
    "system/disk_usage_percentage": 35.1,
    "system/network_receive_megabytes": 1.2,
    "system/process_cpu_utilization_percentage": 98.0,
    "system/gpu_0_utilization_percentage": 87.0,
    "system/gpu_0_memory_usage_percentage": 70.0,
    "system/gpu_0_temperature_celsius": 64.0,
}


def strip_of(view):
    return [(chip["label"], chip["value"]) for chip in view.system]


def test_system_metrics_show_in_the_strip_not_in_the_grid(manual):
    run, live = manual
    run.log_metrics(SYSTEM_POINT, step=0)  # logged first: they would take the first charts
    for step in range(3):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    cb.flush()
    live.update()
    assert set(latest(live)) == {"loss"}
    assert live.metric_count == 1
    assert list(series(live)) == [latest(live)["loss"]["chart"]]
    assert strip_of(live) == [("CPU", 37.2), ("Memory", 52.4), ("GPU 0", 87.0), ("GPU 0 mem", 70.0)]
    assert "CPU 37% · Memory 52% · GPU 0 87% · GPU 0 mem 70%" in live.summary_html()
    cb.end_run()
    assert strip_of(live)[0] == ("CPU", 37.2)  # the final update keeps the strip


def test_system_charts_puts_them_in_the_grid_too(store):
    del store
    run = cb.start_run()
    live = LiveRun(run, start=False, system_charts=True)
    run.log_metrics(SYSTEM_POINT, step=0)
    run.log_metric("loss", 0.5, step=0)
    cb.flush()
    live.update()
    assert set(latest(live)) == {*SYSTEM_POINT, "loss"}
    assert live.metric_count == len(SYSTEM_POINT) + 1
    assert strip_of(live)[:2] == [("CPU", 37.2), ("Memory", 52.4)]
    live.close()


def test_a_node_id_labels_the_strip(manual):
    run, live = manual
    run.log_metrics(
        {
            "system/node-1/cpu_utilization_percentage": 12.0,
            "system/node-0/cpu_utilization_percentage": 90.0,
            "system/node-0/gpu_1_utilization_percentage": float("nan"),
        },
        step=0,
    )
    cb.flush()
    live.update()
    assert strip_of(live) == [("node-0 CPU", 90.0), ("node-0 GPU 1", None), ("node-1 CPU", 12.0)]
    assert live.metric_count == 0


def test_a_run_sampled_for_real_fills_the_strip(store, wait):
    del store
    cb.set_system_metrics_sampling_interval(0.05)
    run = cb.start_run(log_system_metrics=True)
    live = LiveRun(run, interval=0.05)
    run.log_metric("loss", 0.5, step=0)
    wait(lambda: [c["label"] for c in live.system][:2] == ["CPU", "Memory"], what="the strip")
    assert all(0 <= chip["value"] <= 100 for chip in live.system)
    assert set(latest(live)) == {"loss"}
    cb.end_run()
    assert live.join(timeout=10)


@pytest.mark.usefixtures("store")
def test_a_cell_shows_the_strip_of_its_newest_run_that_has_one():
    from canvasback.widgets.live_cell import LiveCell  # noqa: PLC0415

    views = []
    for name, point in (("a", SYSTEM_POINT), ("b", None)):
        with cb.start_run(run_name=name) as run:
            views.append(LiveRun(run, start=False))
            if point:
                run.log_metrics(point, step=0)
            run.log_metric("loss", 1.0, step=0)
    cell = LiveCell(views)
    assert [chip["label"] for chip in cell.system][:2] == ["CPU", "Memory"]
    assert all(row["key"] == "loss" for row in cell.rows)
    cell.close()
