"""The registry panel shows a version's evaluation: the summary evaluate records among
the version's tags, beside the run that holds the rest."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import canvasback as cb
import canvasback.sklearn
from canvasback.models import evaluation
from canvasback.widgets._base import table_from_ipc_bytes


@pytest.mark.usefixtures("store")
def test_the_evaluated_version_shows_its_result_among_its_tags():
    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(model, name="model", registered_model_name="iris")
    cb.register_model(info.model_uri, "iris")  # version 2, never evaluated
    result = cb.evaluate(
        "models:/iris/1", x.assign(y=y), targets="y", model_type="classifier", plots=[]
    )
    panel = cb.registry_panel("iris")
    try:
        rows = {r["version"]: r for r in table_from_ipc_bytes(panel.versions).to_pylist()}
    finally:
        panel.close()
    tags = {t["key"]: t["value"] for t in rows[1]["tags"]}
    assert tags[evaluation.RUN_TAG] == result.run_id
    accuracy = result.metrics["accuracy_score"]
    assert tags[evaluation.SUMMARY_TAG].startswith(f"accuracy_score={accuracy:.4g} ")
    assert rows[2]["tags"] == []
