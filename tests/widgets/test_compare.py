"""The Compare widget without a browser: a real store, traits set as the front end would."""

from __future__ import annotations

import gzip
import json
import math
import re

import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

import canvasback
from canvasback.tracking.client import RunNotFoundError
from canvasback.tracking.entities import Metric
from canvasback.widgets._base import STATIC, table_from_ipc_bytes
from canvasback.widgets.compare import HISTORY_BUDGET, Compare

XSS = "<img src=x onerror=alert(1)>"
T0 = 1_700_000_000_000


def make_run(name, params, steps=200, *, scale=1.0, spike_at=None, keys=("loss", "acc")):
    run = canvasback.start_run(run_name=name, params=params)
    metrics = []
    for key in keys:
        for step in range(steps):
            value = scale * math.exp(-step / 60) if key == "loss" else 1 - math.exp(-step / 40)
            if step == spike_at and key == "loss":
                value = 50.0
            metrics.append(Metric(key, value, T0 + step * 1_000, step))
    canvasback.client().log_batch(run.info.run_id, metrics)
    canvasback.end_run()
    return run.info.run_id


@pytest.fixture
def runs(store):  # noqa: ARG001 - the fresh store is what it needs
    return [
        make_run("baseline", {"lr": 0.1, "opt": "adam", "seed": 1}),
        make_run("small-lr", {"lr": 0.001, "opt": "sgd", "seed": 1}, scale=1.5),
        make_run(XSS, {"lr": 0.0001, "opt": "adam", "seed": 1}, scale=0.7, spike_at=123),
    ]


def rows(data):
    return table_from_ipc_bytes(data).to_pylist()


def state_size(widget):
    state, _paths, buffers = _remove_buffers(widget.get_state())
    return len(json.dumps(state)), sum(len(bytes(b)) for b in buffers)


# --------------------------------------------------------------------------- building
def test_from_ids(runs, widgets):
    w = widgets(runs)
    assert w.run_ids == runs
    assert w.available_metrics == ["acc", "loss"]
    assert w.metrics == ["acc", "loss"]
    assert w.available_params == ["lr", "opt", "seed"]
    assert [r["label"] for r in w.run_info] == ["baseline", "small-lr", XSS]
    assert len({r["color"] for r in w.run_info}) == 3
    assert list(w.panels) == ["history", "parallel", "scatter", "bars", "params"]
    for name in ("history", "parallel", "scatter", "bars"):
        assert "spec" in w.panels[name], w.panels[name]
    assert w.panels["history"]["datasets"] == ["history"]
    assert w.panels["history"]["spec"]["data"] == {"name": "history"}
    assert w.status == "3 runs · 2 metrics · 1,200 points"
    assert w.scatter_param == "lr"  # varies, and is a number
    assert w.scatter_metric == "acc"


def test_compare_opens_on_the_tab_asked_for_and_refuses_one_it_has_not(runs):
    assert canvasback.compare(runs).tab == "history"
    assert canvasback.compare(runs, tab="parallel").tab == "parallel"
    with pytest.raises(traitlets.TraitError, match="'nope'"):
        canvasback.compare(runs, tab="nope")


def test_datasets_decode(runs, widgets):
    w = widgets(runs)
    history = rows(w.data_history)
    assert {r["run"] for r in history} == {"baseline", "small-lr", XSS}
    assert {r["key"] for r in history} == {"loss", "acc"}
    assert len(history) == 1_200  # under max_points: every point
    assert 50.0 in {r["value"] for r in history}
    # No smoothing: the all-null smoothed column stays home (saved state keeps every byte).
    assert set(history[0]) == {"run", "key", "x", "value"}
    schema = table_from_ipc_bytes(w.data_history).schema
    assert str(schema.field("value").type) == "float"  # float32, 7 digits
    assert str(schema.field("x").type) == "int32"  # steps
    w.smoothing = 0.6
    assert "smoothed" in rows(w.data_history)[0]
    finals = rows(w.data_finals)
    assert {(r["run_id"], r["key"]) for r in finals} == {
        (r, k) for r in runs for k in ("acc", "loss")
    }
    scatter = rows(w.data_scatter)
    assert sorted(r["x"] for r in scatter) == [0.0001, 0.001, 0.1]
    parallel = rows(w.data_parallel)
    assert {r["axis"] for r in parallel} == {"lr", "opt", "acc", "loss"}  # seed never varies
    table = w.panels["params"]["table"]
    assert [r["key"] for r in table["rows"] if r["differs"]] == ["lr", "opt"]


def test_from_dataframe_and_run_objects(runs, widgets):
    frame = canvasback.search_runs(order_by=["params.lr ASC"])
    w = widgets(frame)
    assert w.run_ids == list(frame["run_id"])
    handles = [canvasback.get_run(r) for r in runs[:2]]
    assert widgets(handles).run_ids == runs[:2]
    assert widgets(runs[0]).run_ids == [runs[0]]


def test_bad_runs_are_reported(runs, widgets):
    with pytest.raises(RunNotFoundError, match="nope"):
        widgets([runs[0], "nope"])
    with pytest.raises(ValueError, match="run_id"):
        widgets(canvasback.search_runs()[["run_name"]])
    with pytest.raises(TypeError, match="runs must be"):
        widgets(42)
    with pytest.raises(TypeError, match="unexpected keyword"):
        Compare(runs, colour="red")


def test_no_runs(widgets, store):  # noqa: ARG001 - an empty store of its own
    w = widgets([])
    assert w.status == "No runs selected."
    assert {p.get("message") for p in w.panels.values()} == {"No runs to compare."}
    assert w.data_history == b""


class StandInTable(traitlets.HasTraits):
    """What Compare needs of a run table: an observable ``selected_ids``."""

    selected_ids = traitlets.List(traitlets.Unicode())


def test_follows_a_run_table_selection(runs, widgets):
    table = StandInTable(selected_ids=runs[:1])
    w = widgets(table)
    assert w.run_ids == runs[:1]
    table.selected_ids = runs[1:]
    assert w.run_ids == runs[1:]
    assert {r["run"] for r in rows(w.data_history)} == {"small-lr", XSS}
    assert w.status.startswith("2 runs")
    w.close()
    table.selected_ids = runs
    assert w.run_ids == runs[1:]  # no longer following


def test_follows_the_real_run_table(runs, widgets):
    table = canvasback.widgets.runs()
    try:
        table.selected_ids = runs[:2]
        w = widgets(table)
        assert w.run_ids == runs[:2]
        table.selected_ids = [runs[2]]
        assert w.run_ids == [runs[2]]
    finally:
        table.close()


@pytest.mark.usefixtures("store")
def test_a_run_table_with_nothing_selected_shows_its_newest_runs(widgets):
    ids = [make_run(f"r{i}", {"lr": i / 10}, steps=3) for i in range(7)]

    def newest(**search):
        return list(canvasback.search_runs(max_results=5, **search)["run_id"])  # as MLflow

    table = canvasback.widgets.runs(sort=[{"column": "run_name", "descending": False}])
    try:
        w = widgets(table)
        assert w.run_ids == newest()
        assert (
            w.status == "Showing the 5 newest runs; select runs to choose · 2 metrics · 30 points"
        )
        table.selected_ids = ids[:2]
        assert w.run_ids == ids[:2]
        assert w.status.startswith("2 runs · ")
        table.selected_ids = []  # cleared: the newest again
        assert w.run_ids == newest()
        table.filter = "params.lr < 0.25"  # the newest of the runs the table shows
        assert w.run_ids == newest(filter_string="params.lr < 0.25")
        assert set(w.run_ids) == set(ids[:3])
        assert w.status.startswith("Showing all 3 runs; select runs to choose")
        table.selected_ids = list(w.run_ids)  # the same runs, chosen now
        assert w.status.startswith("3 runs · ")
    finally:
        table.close()


def _scale_colours(spec):
    """Run label -> colour of every colour scale in a spec (each must agree)."""
    found: dict[str, str] = {}
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            scale = node.get("scale") if node.get("field") == "run" else None
            if isinstance(scale, dict) and "range" in scale:
                for label, colour in zip(scale["domain"], scale["range"], strict=True):
                    assert found.setdefault(label, colour) == colour, label
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def test_a_run_keeps_its_colour_in_every_chart_as_the_selection_changes(runs, widgets):
    table = StandInTable(selected_ids=runs)
    w = widgets(table)
    colour = {r["run_id"]: r["color"] for r in w.run_info}
    assert len(set(colour.values())) == 3
    label = {r["run_id"]: r["label"] for r in w.run_info}
    for selection in ([runs[2]], [runs[2], runs[0]], runs[1:], runs):
        table.selected_ids = selection
        assert {r["run_id"]: r["color"] for r in w.run_info} == {r: colour[r] for r in selection}
        for name in ("history", "parallel", "scatter", "bars"):
            spec = w.panels[name].get("spec")
            if spec is not None:
                assert _scale_colours(spec) == {label[r]: colour[r] for r in selection}, name
        table_runs = w.panels["params"]["table"]["runs"]
        assert {r["run_id"]: r["color"] for r in table_runs} == {r: colour[r] for r in selection}
    # Another comparison in the kernel colours them alike, and a new run takes a colour
    # that its companions do not have.
    newcomer = make_run("newcomer", {"lr": 0.5, "opt": "adam", "seed": 2})
    other = widgets([newcomer, runs[1]])
    colours = {r["run_id"]: r["color"] for r in other.run_info}
    assert colours[runs[1]] == colour[runs[1]]
    assert colours[newcomer] != colour[runs[1]]


# --------------------------------------------------------------------------- controls
def test_metric_choice(runs, widgets):
    w = widgets(runs)
    w.set_state({"metrics": ["loss"]})  # as a message from the front end
    assert {r["key"] for r in rows(w.data_history)} == {"loss"}
    assert {r["key"] for r in rows(w.data_finals)} == {"loss"}
    assert [v["title"]["text"] for v in w.panels["history"]["spec"]["concat"]] == ["loss"]
    assert w.status == "3 runs · 1 metric · 600 points"


def test_chosen_metrics_stay_chosen_as_the_selection_changes(runs, widgets):
    table = StandInTable(selected_ids=runs[:1])
    w = widgets(table, metrics=["loss"])
    assert w.metrics == ["loss"]
    table.selected_ids = []  # nothing selected for a moment: no metrics to show
    table.selected_ids = runs[1:]
    assert w.metrics == ["loss"]
    assert {r["key"] for r in rows(w.data_history)} == {"loss"}
    w.set_state({"metrics": ["acc"]})  # chosen in the view
    table.selected_ids = []
    table.selected_ids = runs
    assert w.metrics == ["acc"]


@pytest.mark.usefixtures("store")
def test_a_chosen_metric_the_runs_lack_comes_back_with_runs_that_have_it(widgets):
    with_val = make_run("with val", {"lr": 0.1}, steps=5, keys=("loss", "val_loss"))
    without = make_run("without", {"lr": 0.2}, steps=5, keys=("loss", "acc"))
    table = StandInTable(selected_ids=[with_val])
    w = widgets(table, metrics=["val_loss"])
    table.selected_ids = [without]
    assert w.metrics == ["acc", "loss"]  # the default, meanwhile
    w.set_state({"metrics": ["loss"]})  # a choice in the view, among what it offers
    table.selected_ids = [with_val, without]
    assert w.metrics == ["loss", "val_loss"]


def test_x_axis(runs, widgets):
    w = widgets(runs)
    w.set_state({"x": "wall_time"})
    layer = w.panels["history"]["spec"]["concat"][0]["layer"][0]
    assert layer["encoding"]["x"]["type"] == "temporal"
    assert min(r["x"] for r in rows(w.data_history)) == T0
    w.set_state({"x": "relative_time"})
    layer = w.panels["history"]["spec"]["concat"][0]["layer"][0]
    assert layer["encoding"]["x"]["title"] == "relative time (min)"  # 199 s
    assert max(r["x"] for r in rows(w.data_history)) == pytest.approx(199 / 60)
    with pytest.raises(traitlets.TraitError):
        w.x = "epoch"


def test_smoothing_resends_rows_and_adds_a_layer(runs, widgets):
    w = widgets(runs)
    # The line, a dot for a run of one point, the hover rule and the click target;
    # smoothing adds the smoothed line.
    assert len(w.panels["history"]["spec"]["concat"][0]["layer"]) == 4
    parallel_before = w.data_parallel
    w.set_state({"smoothing": 0.8})
    history = rows(w.data_history)
    smoothed = [r["smoothed"] for r in history if r["key"] == "loss" and r["run"] == "baseline"]
    assert all(s is not None for s in smoothed)  # every point is its own bucket here
    assert smoothed[0] == pytest.approx(1.0)
    assert smoothed[-1] > math.exp(-199 / 60)  # an EMA lags behind a falling curve
    assert len(w.panels["history"]["spec"]["concat"][0]["layer"]) == 5
    assert w.data_parallel is parallel_before  # other panels untouched
    with pytest.raises(traitlets.TraitError):
        w.smoothing = 1.5


def test_log_scale_changes_only_the_spec(runs, widgets):
    w = widgets(runs)
    before = w.data_history
    w.set_state({"log_y": True})
    layer = w.panels["history"]["spec"]["concat"][0]["layer"][0]
    assert layer["encoding"]["y"]["scale"]["type"] == "log"
    assert w.data_history is before


def test_scatter_axes(runs, widgets):
    w = widgets(runs)
    w.set_state({"scatter_param": "opt", "scatter_metric": "loss"})
    scatter = rows(w.data_scatter)
    assert sorted(r["x"] for r in scatter) == ["adam", "adam", "sgd"]
    spec = w.panels["scatter"]["spec"]
    assert spec["encoding"]["x"]["type"] == "nominal"
    assert spec["encoding"]["y"]["title"] == "loss"


@pytest.mark.usefixtures("store")
def test_the_scatter_shows_a_param_that_varies_between_the_runs_shown(widgets):
    seed_0 = make_run("seed 0", {"lr": 0.1, "seed": 0}, steps=5)
    seed_1 = make_run("seed 1", {"lr": 0.1, "seed": 1}, steps=5)
    small = make_run("small lr", {"lr": 0.01, "seed": 0}, steps=5)
    table = StandInTable(selected_ids=[seed_0, seed_1])
    w = widgets(table)
    assert w.scatter_param == "seed"  # the one that varies between these two
    table.selected_ids = [seed_0, small]
    assert w.scatter_param == "lr"  # seed is 0 in both now
    assert "message" not in w.panels["scatter"]
    # A param the user chose stays chosen, and the chart says why it is flat.
    w.set_state({"scatter_param": "seed"})
    table.selected_ids = []
    table.selected_ids = [seed_0, small]
    assert w.scatter_param == "seed"
    assert w.panels["scatter"]["message"] == (
        "seed has the same value in every run: choose a param that varies."
    )


def test_selection_from_the_front_end(runs, widgets):
    w = widgets(runs)
    seen = []
    w.observe(lambda change: seen.append(change["new"]), names=["selected_ids"])
    w.set_state({"selected_ids": [runs[2], "not-a-run", runs[2]]})
    assert w.selected_ids == [runs[2]]
    assert seen == [[runs[2]]]
    assert list(w.selected["run_id"]) == [runs[2]]
    assert list(w.selected["run_name"]) == [XSS]
    w.run_ids = runs[:2]  # the selected run leaves the comparison
    assert w.selected_ids == []


def test_history_is_downsampled_within_budget(store, widgets):  # noqa: ARG001
    ids = [make_run(f"r{i}", {"i": i}, steps=3_000, spike_at=2_222) for i in range(12)]
    w = widgets(ids)
    history = rows(w.data_history)
    assert len(history) <= HISTORY_BUDGET
    assert w.status == f"12 runs · 2 metrics · 72,000 points, drawn as {len(history):,}"
    spikes = {r["run"] for r in history if r["value"] == 50.0}
    assert len(spikes) == 12  # every run's spike survives
    w.set_state({"max_points": 64})
    assert len(rows(w.data_history)) <= 12 * 2 * 64


def test_refresh_request_reads_new_points(runs, widgets):
    w = widgets(runs)
    canvasback.client().log_metric(runs[0], "loss", 0.001, step=500, timestamp=T0 + 500_000)
    reply, buffers = w.handle_request("refresh", {})
    assert reply == {"reply": {"runs": 3, "status": "3 runs · 2 metrics · 1,201 points"}}
    assert buffers == []
    assert max(r["x"] for r in rows(w.data_history)) == 500
    error, _ = w.handle_request("drop_tables", {})
    assert "unknown request kind" in error["error"]


# --------------------------------------------------------------------------- params
@pytest.mark.usefixtures("store")
def test_runs_with_different_params_compare_in_json_with_missing_values_as_none(widgets):
    shared = {"lr": 0.1, "depth": 3, "seed": 1, "opt": "adam", "batch": 32, "epochs": 5}
    made = {"canvasback.env.python": "3.11.7", "canvasback.env.user": "ana"}
    ids = []
    for name, extra in (("dropout", {"dropout": 0.1}), ("momentum", {"momentum": 0.9})):
        params = {**shared, **extra, "lr": 0.1 if name == "dropout" else 0.01}
        with canvasback.start_run(run_name=name, params=params, tags=made, live=False) as run:
            canvasback.log_metric("loss", 0.5)
        ids.append(run.run_id)
    w = widgets(ids)
    state, _paths, _buffers = _remove_buffers(w.get_state())
    json.dumps(state, allow_nan=False)  # what a kernel sends: NaN is no JSON
    table = w.panels["params"]["table"]
    rows = {row["key"]: row for row in table["rows"]}
    assert rows["dropout"]["values"] == ["0.1", None]  # the view shows None as "—"
    assert rows["momentum"]["values"] == [None, "0.9"]
    params = [row["key"] for row in table["rows"] if row["kind"] == "param"]
    assert params == ["batch", "depth", "dropout", "epochs", "lr", "momentum", "opt", "seed"]
    differ = [row["key"] for row in table["rows"] if row["differs"]]
    assert differ == ["dropout", "lr", "momentum"]  # python and user are the same
    assert {rows["env · python"]["kind"], rows["env · user"]["kind"]} == {"provenance"}
    # The saved view shows a missing value as the run table does.
    html = w._static_html()
    assert "nan" not in html.lower().replace("nanos", "")
    assert "<td>—</td>" in html


# --------------------------------------------------------------------------- logged once
def _marks(node):
    """The mark types of a spec and everything under it."""
    if isinstance(node, dict):
        mark = node.get("mark")
        if mark is not None:
            yield mark["type"] if isinstance(mark, dict) else mark
        for value in node.values():
            yield from _marks(value)
    elif isinstance(node, list):
        for value in node:
            yield from _marks(value)


@pytest.mark.usefixtures("store")
def test_metrics_logged_once_are_drawn_as_a_value_per_run(widgets, tmp_path):
    # scikit-learn's usual run: one test score per run, beside a per-epoch loss.
    ids = []
    for c in (0.1, 1.0, 10.0):
        with canvasback.start_run(run_name=f"svc C={c}", params={"C": c}, live=False) as run:
            canvasback.log_metric("test_acc", 0.8 + c / 100)
            for epoch in range(5):
                canvasback.log_metric("loss", c / (epoch + 1), step=epoch)
        ids.append(run.run_id)
    w = widgets(ids, metrics=["loss", "test_acc"])
    cells = {cell["title"]["text"]: cell for cell in w.panels["history"]["spec"]["concat"]}
    assert set(_marks(cells["test_acc"])) == {"bar", "text"}  # a bar per run, no line
    assert "line" in set(_marks(cells["loss"]))
    # Drawn as the saved view and chart.save draw it: three bars, each run's value, and
    # no axis around the one step they were logged at.
    svg = w.save(tmp_path / "history.svg", panel="history").read_text()
    assert svg.count('aria-roledescription="bar"') == 3
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert {"0.801", "0.81", "0.9"} <= set(texts)
    assert {"svc C=0.1", "svc C=1.0", "svc C=10.0"} <= set(texts)
    assert texts.count("step") == 1  # the loss panel's axis only


@pytest.mark.usefixtures("store")
def test_a_run_with_one_point_among_lines_is_a_dot(widgets, tmp_path):
    ids = []
    for steps in (1, 6):
        with canvasback.start_run(run_name=f"{steps} steps", live=False) as run:
            for step in range(steps):
                canvasback.log_metric("loss", 1 / (step + 1), step=step)
        ids.append(run.run_id)
    w = widgets(ids)
    svg = w.save(tmp_path / "history.svg", panel="history").read_text()
    assert svg.count('aria-roledescription="point"') == 1


# --------------------------------------------------------------------------- static view
def test_static_view_has_svg_charts_and_escaped_text(runs, widgets, monkeypatch):
    monkeypatch.delenv("CANVASBACK_STATIC", raising=False)
    w = widgets(runs)
    data, _metadata = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    html = data["text/html"]
    assert html.count("<svg") == 4  # histories, parallel coordinates, scatter, bars
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Params that differ" in html
    assert "<th>seed</th>" not in html  # the same in every run
    w.diff_only = False
    assert "<th>seed</th>" in w._repr_mimebundle_()[0]["text/html"]


def test_static_view_as_png_or_off(runs, widgets, monkeypatch):
    w = widgets(runs)
    monkeypatch.setenv("CANVASBACK_STATIC", "png")
    html = w._repr_mimebundle_()[0]["text/html"]
    assert html.count("data:image/png;base64,") == 4
    assert "<svg" not in html
    monkeypatch.setenv("CANVASBACK_STATIC", "off")
    assert "text/html" not in w._repr_mimebundle_()[0]


# --------------------------------------------------------------------------- size
def test_state_size_stays_under_two_megabytes(store, widgets):  # noqa: ARG001
    ids = [
        make_run(f"run {i}", {"lr": 10 ** -(i % 4 + 1), "depth": i % 3}, steps=5_000)
        for i in range(10)
    ]
    w = widgets(ids, smoothing=0.6)
    assert all("spec" in w.panels[name] for name in ("history", "parallel", "scatter", "bars"))
    json_size, buffer_size = state_size(w)
    assert json_size + buffer_size < 2_000_000, (json_size, buffer_size)
    # The bundle ships once per kernel, in the shared runtime; the widget has the loader.
    assert len(w.get_state()["_esm"]) == (STATIC / "loader.js").stat().st_size
    code = gzip.decompress(w._runtime.code)
    assert code == (STATIC / "compare.js").read_bytes()
    assert len(w._runtime.code) < len(code) / 2  # saved gzipped


# --------------------------------------------------------------------------- zoom, hover
def test_zoom_fetches_the_range_at_full_resolution(store, widgets):  # noqa: ARG001
    run_id = make_run("long", {"lr": 0.1}, steps=5_000, keys=("loss",))
    w = Compare([run_id], max_points=256)
    whole = rows(w.data_history)
    assert len(whole) <= 256  # downsampled: one bucket per ~80 steps
    reply, _ = w.handle_request("zoom", {"kind": "zoom", "x_min": 1000, "x_max": 1100})
    assert reply["reply"]["x_range"] == [1000.0, 1100.0]
    zoomed = rows(w.data_history)
    assert [r["x"] for r in zoomed] == list(range(1000, 1101))  # every step in the range
    domain = w.panels["history"]["spec"]["concat"][0]["layer"][0]
    assert domain["encoding"]["x"]["scale"]["domain"] == [1000.0, 1100.0]
    # Reset: the whole history again; a bad range is refused before anything changes.
    error, _ = w.handle_request("zoom", {"kind": "zoom", "x_min": 5, "x_max": 5})
    assert "x_min < x_max" in error["error"]
    w.handle_request("zoom", {"kind": "zoom", "x_min": None, "x_max": None})
    assert w.x_range is None
    assert rows(w.data_history) == whole
    # Another x axis drops the range.
    w.x_range = [10.0, 20.0]
    w.x = "wall_time"
    assert w.x_range is None


def test_relative_time_zoom_keeps_the_unit_of_the_whole_history(store, widgets):  # noqa: ARG001
    run_id = make_run("slow", {"lr": 0.1}, steps=600, keys=("loss",))  # 600 s: minutes
    w = widgets([run_id], x="relative_time")
    assert w.history()["x"].max() == pytest.approx(599 / 60)
    w.x_range = [1.0, 2.0]  # minutes
    zoomed = w.history()
    assert zoomed["x"].min() == pytest.approx(1.0)
    assert zoomed["x"].max() == pytest.approx(2.0)
    assert len(zoomed) == 61  # seconds 60..120, every one


def test_history_hover_lists_every_run_at_the_nearest_step(runs, widgets):
    w = widgets(runs)
    spec = w.panels["history"]["spec"]
    assert {p["name"] for p in spec["params"]} >= {"history_hover", "history_zoom"}
    hover = [
        layer for layer in spec["concat"][0]["layer"] if layer.get("name") == "history_hover_0"
    ]
    (rule,) = hover
    assert rule["transform"][0]["pivot"] == "run"
    titles = [t["title"] for t in rule["encoding"]["tooltip"]]
    assert titles[1:] == ["baseline", "small-lr", XSS]


@pytest.mark.usefixtures("store")
def test_run_names_with_colons_dots_and_brackets_draw():
    names = ["lr:0.1", "net.v2 [b]"]
    ids = []
    for i, name in enumerate(names):
        with canvasback.start_run(run_name=name, live=False) as run:
            for step in range(5):
                canvasback.log_metric("loss", 1 / (step + 1 + i), step=step)
        ids.append(run.info.run_id)
    widget = canvasback.compare(ids)
    history = widget.panels["history"]
    assert "message" not in history
    titles = [t.get("title") for t in _tooltips(history["spec"])]
    assert set(names) <= set(titles)  # each run's value at the hovered step, by its name


def _tooltips(node):
    if isinstance(node, dict):
        tip = node.get("tooltip")
        if isinstance(tip, list):
            yield from (t for t in tip if isinstance(t, dict))
        for value in node.values():
            yield from _tooltips(value)
    elif isinstance(node, list):
        for value in node:
            yield from _tooltips(value)


# --------------------------------------------------------------------------- system metrics
CPU = "system/cpu_utilization_percentage"
GPU = "system/gpu_0_utilization_percentage"


def sampled_run(name, busy):
    """A run with two metrics and the system metrics a sampler logged beside them."""
    run_id = make_run(name, {"lr": busy / 100}, steps=20)
    system = [
        Metric(key, busy + step % 3, T0 + step * 10_000, step)
        for key in (CPU, GPU, "system/system_memory_usage_percentage")
        for step in range(6)
    ]
    canvasback.client().log_batch(run_id, system)
    return run_id


@pytest.mark.usefixtures("store")
def test_system_metrics_chart_like_any_metric_but_not_by_default(widgets):
    ids = [sampled_run("a", 40.0), sampled_run("b", 80.0)]
    w = widgets(ids)
    assert {CPU, GPU} <= set(w.available_metrics)
    assert w.metrics == ["acc", "loss"]  # the run's own metrics come first
    w.metrics = [CPU, "loss"]
    history = rows(w.data_history)
    cpu = sorted((r["run"], r["x"], r["value"]) for r in history if r["key"] == CPU)
    assert cpu == [
        (name, s, base + s % 3) for name, base in (("a", 40.0), ("b", 80.0)) for s in range(6)
    ]
    assert "spec" in w.panels["history"], w.panels["history"]
    finals = {(r["run_id"], r["key"]): r["value"] for r in rows(w.data_finals)}
    assert finals[(ids[1], CPU)] == 80.0 + 5 % 3
    assert w.status == "2 runs · 2 metrics · 52 points"  # 20 losses and 6 CPU points each
    # Asked for by name, a system metric is charted from the start, alone.
    only = widgets(ids, metrics=[GPU])
    assert only.metrics == [GPU]
    assert {r["key"] for r in rows(only.data_history)} == {GPU}


@pytest.mark.usefixtures("store")
def test_runs_with_only_system_metrics_chart_them_by_default(widgets):
    run = canvasback.start_run()
    canvasback.client().log_batch(run.info.run_id, [Metric(CPU, 12.0, T0, 0)])
    canvasback.end_run()
    assert widgets([run.info.run_id]).metrics == [CPU]
