"""Evaluation charts: the specs validate against Vega-Lite's schema and render as they say;
several runs' curves overlay, read back from the chart specs their evaluations logged."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import vl_convert
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import canvasback as cb
from canvasback import charts
from canvasback.models import evaluation

SVG = "{http://www.w3.org/2000/svg}"


def svg_tree(chart):
    # Our own renderer's output, not untrusted input.
    return ET.fromstring(vl_convert.vegalite_to_svg(chart.to_dict()))  # noqa: S314


def line_items(tree, kind="line", child="path"):
    """The items a chart draws of a mark kind: Vega puts them in a g.mark-<kind>."""
    total = 0
    for group in tree.iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if f"mark-{kind}" in classes and "role-mark" in classes:
            total += len(group.findall(f"{SVG}{child}"))
    return total


def curves_of(runs, classes):
    rows = []
    for run in runs:
        for cls in classes:
            xs = np.linspace(0, 1, 20)
            rows += [{"run": run, "class": cls, "x": x, "y": x**0.5} for x in xs]
    return pd.DataFrame(rows)


def test_overlay_draws_a_line_per_run_and_class_coloured_by_run():
    frame = curves_of(["a", "b", "c"], ["x", "y"])
    chart = charts.overlay_evaluation(frame, "roc", runs=["c", "b", "a"])
    spec = chart.to_dict()  # validated against Vega-Lite's schema
    lines = spec["layer"][1]
    assert lines["encoding"]["color"]["scale"]["domain"] == ["c", "b", "a"]
    assert lines["encoding"]["strokeDash"]["field"] == "class"
    assert len(spec["datasets"]["roc"]) == len(frame)
    # Six curves and the dashed chance line.
    assert line_items(svg_tree(chart)) == 3 * 2 + 1
    one_class = charts.overlay_evaluation(curves_of(["a", "b"], ["1"]), "pr")
    assert "strokeDash" not in one_class.to_dict()["layer"][1]["encoding"]
    with pytest.raises(ValueError, match="Unknown plot 'lift': use one of 'roc', 'pr'"):
        charts.overlay_evaluation(frame, "lift")


def test_every_evaluation_chart_validates_and_renders():
    curve = curves_of(["-"], ["1"]).drop(columns="run").assign(curve="AUC=0.5")
    cells = pd.DataFrame(
        {"actual": ["0", "0", "1", "1"], "predicted": ["0", "1", "0", "1"],
         "count": [5, 1, 2, 8], "share": [5 / 6, 1 / 6, 0.2, 0.8]}
    )  # fmt: skip
    points = pd.DataFrame({"actual": [1.0, 2.0, 3.0], "predicted": [1.1, 1.9, 3.2]})
    built = [
        charts.curve_chart(curve, "roc"),
        charts.curve_chart(curve, "calibration"),
        charts.confusion_matrix_chart(cells, ["0", "1"]),
        charts.residuals_chart(
            points.assign(residual=points["actual"] - points["predicted"])[
                ["predicted", "residual"]
            ]
        ),
        charts.predicted_vs_actual_chart(points),
        charts.feature_importance_chart(pd.DataFrame({"feature": ["a"], "importance": [1.0]})),
    ]
    for chart in built:
        spec = chart.to_dict()  # raises if the spec breaks Vega-Lite's schema
        assert spec["datasets"]
        assert svg_tree(chart).tag == f"{SVG}svg"
    confusion = svg_tree(built[2])
    drawn = ["".join(t.itertext()) for t in confusion.iter(f"{SVG}text")]
    assert {"0.83", "0.17", "0.20", "0.80"} <= set(drawn)
    # One dashed reference each, not one per point (each would be rasterized in the PNG).
    residuals, predicted = svg_tree(built[3]), svg_tree(built[4])
    assert line_items(residuals, "rule", "line") == 1
    assert line_items(residuals, "symbol") == 3
    assert line_items(predicted, "line") == 1
    assert line_items(predicted, "rule", "line") == 0


@pytest.mark.usefixtures("store")
def test_runs_curves_are_read_back_and_overlaid():
    x, y = make_classification(n_samples=300, n_features=4, random_state=0)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=y)
    ids, aucs = [], {}
    for c in (0.001, 1.0):
        model = LogisticRegression(C=c).fit(frame[["a", "b"]], y)
        with cb.start_run(run_name=f"C={c}", live=False) as run:
            result = cb.evaluate(
                model, frame[["a", "b", "label"]], targets="label", model_type="classifier",
                plots=["roc"],
            )  # fmt: skip
        ids.append(run.info.run_id)
        aucs[f"C={c}"] = result.metrics["roc_auc"]
    with cb.start_run(run_name="no evaluation", live=False) as bare:
        cb.log_metric("loss", 1.0)

    rows = evaluation.curves([*ids, bare.info.run_id], "roc")
    assert list(dict.fromkeys(rows["run"])) == ["C=0.001", "C=1.0"]
    assert list(dict.fromkeys(rows["run_id"])) == ids
    for label, auc in aucs.items():
        assert set(rows[rows["run"] == label]["curve"]) == {f"AUC={auc:.3f}"}
    chart = evaluation.overlay(cb.search_runs(), "roc")
    assert chart.to_dict()["layer"][1]["encoding"]["color"]["scale"]["domain"] == [
        "C=1.0",
        "C=0.001",
    ]  # search_runs' order: the newest first
    with pytest.raises(cb.InvalidInputError, match="None of the runs given has an evaluation"):
        evaluation.overlay([bare.info.run_id], "roc")
    with pytest.raises(cb.InvalidInputError, match="the curves that overlay are 'roc', 'pr'"):
        evaluation.curves(ids, "residuals")
