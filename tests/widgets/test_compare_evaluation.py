"""The Compare widget's Evaluation tab: the compared runs' evaluation curves in one chart,
in the runs' colours, shown only when a compared run was evaluated."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import canvasback as cb

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def runs(store):  # noqa: ARG001 - the fresh store is what it needs
    x, y = make_classification(n_samples=300, n_features=4, random_state=0)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=y)
    ids = {}
    for name, c in (("weak", 0.0005), ("strong", 1.0)):
        model = LogisticRegression(C=c).fit(frame[["a", "b"]], y)
        with cb.start_run(run_name=name, live=False) as run:
            cb.evaluate(
                model,
                frame[["a", "b", "label"]],
                targets="label",
                model_type="classifier",
                plots=["roc", "pr"],
            )
        ids[name] = run.info.run_id
    with cb.start_run(run_name="plain", live=False) as run:
        cb.log_metric("loss", 0.5)
    ids["plain"] = run.info.run_id
    return ids


def lines_drawn(svg_text):
    tree = ET.fromstring(svg_text)  # noqa: S314 - vl-convert's output
    return sum(
        len(group.findall(f"{SVG}path"))
        for group in tree.iter(f"{SVG}g")
        if {"mark-line", "role-mark"} <= set(group.get("class", "").split())
    )


def test_the_evaluated_runs_curves_overlay_in_their_colours(runs, widgets, tmp_path):
    w = widgets([runs["plain"], runs["weak"], runs["strong"]])
    assert list(w.panels) == ["history", "parallel", "scatter", "bars", "params", "evaluation"]
    spec = w.panels["evaluation"]["spec"]
    color = spec["layer"][1]["encoding"]["color"]["scale"]
    colours = {r["label"]: r["color"] for r in w.run_info}
    assert color["domain"] == ["weak", "strong"]  # the comparison's order; plain has none
    assert color["range"] == [colours["weak"], colours["strong"]]
    assert {r["run"] for r in spec["datasets"]["roc"]} == {"weak", "strong"}
    assert {"focus", "evaluation_pick"} <= {p["name"] for p in spec["params"]}
    assert spec["title"]["text"] == "ROC curve"

    w.evaluation_plot = "pr"
    spec = w.panels["evaluation"]["spec"]
    assert spec["title"]["text"] == "Precision recall curve"
    assert {r["run"] for r in spec["datasets"]["pr"]} == {"weak", "strong"}
    # Two runs' curves and the dashed reference line, in a saved image and the saved view.
    svg = w.save(tmp_path / "pr.svg", panel="evaluation").read_text()
    assert lines_drawn(svg) == 3
    assert "Evaluation" in w._static_html()


def test_no_tab_for_runs_without_an_evaluation_or_its_plot(runs, widgets):
    w = widgets([runs["plain"]])
    assert "evaluation" not in w.panels
    w.run_ids = [runs["plain"], runs["strong"]]
    assert "evaluation" in w.panels
    w.evaluation_plot = "calibration"  # not drawn by these evaluations
    assert "evaluation" not in w.panels
    w.evaluation_plot = "roc"
    w.run_ids = [runs["plain"]]
    assert "evaluation" not in w.panels
