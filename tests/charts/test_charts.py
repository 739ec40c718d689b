"""canvasback.charts: the specs, and the same specs rendered to SVG by vl-convert."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import vl_convert

from canvasback import charts
from canvasback.charts.panels import Settings, build_panels, params_payload

SVG = "{http://www.w3.org/2000/svg}"


def runs_frame():
    """A search_runs-shaped frame: three runs, params as text, latest metrics."""
    return pd.DataFrame(
        {
            "run_id": ["id-a", "id-b", "id-c"],
            "run_name": ["alpha", "beta", "<script>alert(1)</script>"],
            "params.lr": ["0.1", "0.001", "0.0001"],
            "params.opt": ["adam", "sgd", "adam"],
            "params.seed": ["1", "1", "1"],
            "params.layers": ["2", "3", None],
            "metrics.loss": [0.5, 0.25, 0.75],
            "metrics.acc": [0.8, 0.9, np.nan],
        }
    )


def history_rows(labels, keys=("loss", "acc"), n=50):
    rows = []
    for i, (run_id, label) in enumerate(labels.items()):
        for key in keys:
            for step in range(n):
                value = math.exp(-step / 20) * (1 + i / 10) + 0.01
                rows.append(
                    {"run_id": run_id, "run": label, "key": key, "x": float(step), "value": value}
                )
    return pd.DataFrame(rows)


def svg_tree(chart):
    # Our own renderer's output, not untrusted input.
    return ET.fromstring(vl_convert.vegalite_to_svg(chart.to_dict()))  # noqa: S314


def mark_count(tree, kind, child="path"):
    """Items drawn by marks of a kind: Vega puts each mark's items in a g.mark-<kind>."""
    total = 0
    for group in tree.iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if f"mark-{kind}" in classes and "role-mark" in classes:  # not legends or axes
            total += len(group.findall(f"{SVG}{child}"))
    return total


def texts(tree, role):
    """Text of every item in groups with class role-<role> (axis titles, headers...)."""
    out = []
    for group in tree.iter(f"{SVG}g"):
        if f"role-{role}" in group.get("class", ""):
            out.extend("".join(t.itertext()) for t in group.iter(f"{SVG}text"))
    return out


def params_named(spec):
    return {p["name"]: p for p in spec.get("params", [])}


# --------------------------------------------------------------------------- labels
def test_run_labels_are_unique_and_readable():
    frame = pd.DataFrame(
        {
            "run_id": ["aaaaaa111", "bbbbbb222", "cccccc333", "dddddd444"],
            "run_name": ["same", "same", None, "other"],
            "tags.mlflow.runName": [None, None, None, "renamed"],
        }
    )
    labels = charts.run_labels(frame)
    assert labels == {
        "aaaaaa111": "same (aaaaaa)",
        "bbbbbb222": "same (bbbbbb)",
        "cccccc333": "cccccc33",
        "dddddd444": "renamed",
    }
    assert len(set(labels.values())) == 4


def test_palette_grows_past_ten_runs():
    assert charts.palette(3) == ["#4e79a7", "#f28e2b", "#e15759"]
    assert len(set(charts.palette(20))) == 20
    assert charts.palette(21)[20] == charts.palette(21)[0]


# --------------------------------------------------------------------------- history
def test_history_spec_structure():
    labels = charts.run_labels(runs_frame())
    chart = charts.history_chart(history_rows(labels), runs=list(labels.values()), smoothing=0.5)
    spec = chart.to_dict()
    assert spec["data"] == {"name": "history"}
    assert "datasets" not in spec  # rows travel apart, as Arrow
    # A view per key, in the given order, each keeping its own rows.
    assert [view["title"]["text"] for view in spec["concat"]] == ["loss", "acc"]
    assert spec["concat"][1]["transform"] == [{"filter": {"field": "key", "equal": "acc"}}]
    layers = spec["concat"][0]["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["line", "point", "line", "rule", "line"]
    raw, dot, smooth, hover, hit = layers
    # A run of one point draws no line: a dot shows it.
    assert dot["transform"][-1] == {"filter": "datum.points == 1"}
    # The hover rule lists every run's value at its step, under the click targets.
    assert hover["transform"][0]["pivot"] == "run"
    assert [t["title"] for t in hover["encoding"]["tooltip"][1:]] == list(labels.values())
    assert raw["encoding"]["y"]["field"] == "value"
    assert smooth["encoding"]["y"]["field"] == "smoothed"
    assert (
        raw["encoding"]["opacity"]["condition"]["value"]
        < smooth["encoding"]["opacity"]["condition"]["value"]
    )
    assert hit["mark"]["opacity"] == 0
    assert raw["encoding"]["color"]["field"] == "run"
    assert raw["encoding"]["color"]["scale"]["domain"] == list(labels.values())
    assert spec["resolve"]["scale"]["y"] == "independent"
    params = params_named(spec)
    assert params["history_pick"]["select"]["type"] == "point"
    assert params["history_pick"]["select"]["fields"] == ["run"]
    assert params["history_pick"]["bind"] == "legend"
    assert params["history_pick"]["views"] == ["history_hit_0", "history_hit_1"]
    assert params["focus"]["value"] == []


def test_history_spec_options():
    labels = charts.run_labels(runs_frame())
    rows = history_rows(labels)
    plain = charts.history_chart(rows, x="wall_time", log_y=True).to_dict()
    raw = plain["concat"][0]["layer"][0]
    # No smoothing: the raw line, the dot of a lone point, the hover rule and the click target.
    assert len(plain["concat"][0]["layer"]) == 4
    assert raw["encoding"]["x"]["type"] == "temporal"
    assert raw["encoding"]["x"]["title"] == "wall time"
    assert raw["encoding"]["y"]["scale"]["type"] == "log"
    assert {"filter": "datum.value > 0"} in raw["transform"]
    static = charts.history_chart(rows, interactive=False).to_dict()
    assert set(params_named(static)) == {"focus"}
    with pytest.raises(ValueError, match="x must be one of"):
        charts.history_chart(rows, x="epoch")


def test_history_spec_is_deterministic():
    labels = charts.run_labels(runs_frame())
    rows = history_rows(labels)
    first = json.dumps(charts.history_chart(rows, smoothing=0.3).to_dict(), sort_keys=True)
    again = json.dumps(charts.history_chart(rows, smoothing=0.3).to_dict(), sort_keys=True)
    assert first == again  # the widget re-embeds a chart only when its spec changes


def test_history_renders_a_panel_per_key():
    labels = charts.run_labels(runs_frame())
    chart = charts.history_chart(
        history_rows(labels), runs=list(labels.values()), smoothing=0.6, inline=True
    )
    tree = svg_tree(chart)
    # Per panel and run: raw, smoothed and the invisible click target.
    assert mark_count(tree, "line") == 2 * 3 * 3
    assert texts(tree, "axis-title").count("step") == 2
    assert {"loss", "acc"} <= set(texts(tree, "title-text"))  # the panel titles
    assert "<script>alert(1)</script>" in texts(tree, "legend")


def test_history_label_is_escaped_in_svg():
    labels = charts.run_labels(runs_frame())
    chart = charts.history_chart(history_rows(labels, keys=("loss",)), inline=True)
    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_smooth_history_uses_bucket_sizes():
    frame = pd.DataFrame(
        {
            "run_id": ["a"] * 4 + ["b"] * 2,
            "key": ["loss"] * 6,
            "x": [0.0, 1.0, 2.0, 3.0, 0.0, 1.0],
            "value": [1.0, 5.0, 0.0, 2.0, 1.0, 3.0],
            "n": [None, 10, None, 10, 1, 1],
            "mean": [None, 2.0, None, 1.0, 1.0, 3.0],
        }
    )
    out = charts.smooth_history(frame, 0.5)
    a = out["smoothed"].tolist()[:4]
    assert math.isnan(a[0])
    assert math.isnan(a[2])
    assert [a[1], a[3]] == pytest.approx(charts.ema([2.0, 1.0], 0.5, [10, 10]).tolist())
    assert out["smoothed"].tolist()[4:] == pytest.approx(charts.ema([1.0, 3.0], 0.5).tolist())
    assert charts.smooth_history(frame, 0.0)["smoothed"].isna().all()


def test_history_frame_picks_a_relative_time_unit():
    table = pd.DataFrame(
        {"run_id": ["a", "a"], "key": ["loss", "loss"], "x": [0.0, 5400.0], "value": [1.0, 2.0]}
    )
    frame, title = charts.history_frame(table, {"a": "alpha"}, x="relative_time")
    assert title == "relative time (min)"
    assert frame["x"].tolist() == [0.0, 90.0]
    assert frame["run"].tolist() == ["alpha", "alpha"]
    assert charts.relative_time_unit(30) == (1.0, "s")
    assert charts.relative_time_unit(3 * 86400) == (86400.0, "d")


# --------------------------------------------------------------------------- parallel
def test_parallel_data_normalises_axes():
    frame = runs_frame()
    labels = charts.run_labels(frame)
    rows = charts.parallel_data(frame, labels)
    lines = rows[rows["kind"] == "run"]
    # Constant params (seed) get no axis; metrics follow params.
    assert list(dict.fromkeys(lines["axis"])) == ["lr", "opt", "layers", "loss", "acc"]
    assert lines["pos"].dropna().between(0, 1).all()
    lr = lines[lines["axis"] == "lr"].set_index("run_id")["pos"]
    # 0.1 / 0.001 / 0.0001 spread over three decades: placed in log space.
    assert lr.to_dict() == pytest.approx({"id-a": 1.0, "id-b": 1 / 3, "id-c": 0.0})
    opt = lines[lines["axis"] == "opt"].set_index("run_id")["pos"]
    assert opt.to_dict() == {"id-a": 0.0, "id-b": 1.0, "id-c": 0.0}
    layers = lines[lines["axis"] == "layers"].set_index("run_id")["pos"]
    assert math.isnan(layers["id-c"])
    ticks = rows[rows["kind"] == "tick"]
    assert set(ticks[ticks["axis"] == "opt"]["text"]) == {"adam", "sgd"}
    assert set(ticks[ticks["axis"] == "loss"]["text"]) == {"0.25", "0.75"}


def test_parallel_chart_renders():
    frame = runs_frame()
    labels = charts.run_labels(frame)
    rows = charts.parallel_data(frame, labels, params=["lr", "opt"], metrics=["loss"])
    chart = charts.parallel_coordinates(rows, runs=list(labels.values()), inline=True)
    spec = chart.to_dict()
    assert spec["layer"][1]["encoding"]["order"]["field"] == "order"
    assert params_named(spec)["parallel_pick"]["select"]["fields"] == ["run"]
    tree = svg_tree(chart)
    assert mark_count(tree, "line") >= 3
    assert mark_count(tree, "symbol") == 9  # a dot per run and axis
    assert {"lr", "opt", "loss"} <= set(texts(tree, "axis-label"))


# --------------------------------------------------------------------------- scatter
def test_scatter_data_and_chart():
    frame = runs_frame()
    labels = charts.run_labels(frame)
    rows = charts.scatter_data(frame, labels, "lr", "acc")
    assert rows["run_id"].tolist() == ["id-a", "id-b"]  # id-c has no acc
    assert rows["x"].dtype == "float64"
    chart = charts.param_scatter(rows, x_title="lr", y_title="acc", runs=list(labels.values()))
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "point"
    assert spec["data"] == {"name": "scatter"}
    assert spec["encoding"]["x"]["scale"]["type"] == "log"
    params = params_named(spec)
    assert params["scatter_brush"]["select"] == {"type": "interval", "encodings": ["x", "y"]}
    assert params["scatter_pick"]["select"]["nearest"] is True
    tree = svg_tree(charts.param_scatter(rows, x_title="lr", y_title="acc", inline=True))
    assert mark_count(tree, "symbol") == 2
    assert {"lr", "acc"} <= set(texts(tree, "axis-title"))


def test_scatter_of_a_categorical_param():
    frame = runs_frame()
    rows = charts.scatter_data(frame, charts.run_labels(frame), "opt", "loss")
    assert rows["x"].tolist() == ["adam", "sgd", "adam"]
    spec = charts.param_scatter(rows, x_title="opt", y_title="loss").to_dict()
    assert spec["encoding"]["x"]["type"] == "nominal"


# --------------------------------------------------------------------------- bars
def test_final_bars_one_bar_per_run_and_metric():
    frame = runs_frame()
    labels = charts.run_labels(frame)
    rows = charts.final_values(frame, labels, ["loss", "acc"])
    assert len(rows) == 5  # id-c has no acc
    chart = charts.final_bars(rows, runs=list(labels.values()), inline=True)
    spec = chart.to_dict()
    assert spec["facet"]["field"] == "key"
    assert spec["spec"]["layer"][0]["mark"]["type"] == "bar"
    assert params_named(spec)["bars_pick"]["select"]["fields"] == ["run"]
    tree = svg_tree(chart)
    assert mark_count(tree, "rect") == 5
    assert mark_count(tree, "text", child="text") == 5
    assert "beta" in texts(tree, "axis-label")


# --------------------------------------------------------------------------- params
def test_params_diff_keeps_what_differs():
    frame = runs_frame()
    labels = charts.run_labels(frame)
    full = charts.params_diff(frame, labels, diff_only=False)
    assert list(full.index) == ["layers", "lr", "opt", "seed"]
    assert list(full.columns) == list(labels.values())
    diff = charts.params_diff(frame, labels)
    assert list(diff.index) == ["layers", "lr", "opt"]  # a missing value differs too
    assert diff.loc["layers"].tolist() == ["2", "3", None]
    assert charts.differing(full) == ["layers", "lr", "opt"]


def test_params_payload_flags_rows():
    frame = runs_frame()
    payload = params_payload(frame, charts.run_labels(frame))
    assert [r["label"] for r in payload["runs"]] == ["alpha", "beta", "<script>alert(1)</script>"]
    assert {r["key"]: r["differs"] for r in payload["rows"]} == {
        "layers": True,
        "lr": True,
        "opt": True,
        "seed": False,
    }


# --------------------------------------------------------------------------- panels
def test_panels_explain_what_cannot_be_drawn():
    frame = runs_frame()[["run_id", "run_name"]]
    labels = charts.run_labels(frame)
    panels = build_panels(frame, labels, pd.DataFrame(), Settings(metrics=[]))
    assert panels["history"].message == "These runs have logged no metrics."
    assert "two params or metrics" in (panels["parallel"].message or "")
    assert panels["history"].payload() == {
        "title": "Histories",
        "message": panels["history"].message,
    }
    empty = build_panels(frame.iloc[:0], {}, pd.DataFrame(), Settings(metrics=[]))
    assert {p.message for p in empty.values()} == {"No runs to compare."}
