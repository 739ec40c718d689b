"""dashboard(): a run table and a comparison, linked by the table's selection."""

from __future__ import annotations

import json

import pytest
from ipywidgets.widgets.widget import _remove_buffers

import canvasback


def _state_bytes(widget) -> int:
    state, _paths, buffers = _remove_buffers(widget.get_state())
    return len(json.dumps(state)) + sum(len(b) for b in buffers)


@pytest.fixture
def runs(store):  # noqa: ARG001  # the store the runs go to
    ids = []
    for lr in (0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001):
        with canvasback.start_run(
            experiment="dash", run_name=f"lr={lr}", params={"lr": lr}, live=False
        ) as run:
            canvasback.log_history(
                {"loss": [lr * (50 - i) for i in range(50)], "acc": [i / 50 for i in range(50)]}
            )
        ids.append(run.run_id)
    return ids


def test_selection_in_the_table_drives_the_charts(runs):
    dash = canvasback.dashboard("dash", metrics=["loss"])
    assert dash.table.total == len(runs)
    # With no run selected, the charts show the five newest and say so (compare's rule).
    assert dash.table.selected_ids == []
    newest = canvasback.search_runs(experiment_names=["dash"], max_results=5)["run_id"]
    assert dash.compare.run_ids == list(newest)
    assert dash.compare.status.startswith("Showing the 5 newest runs; select runs to choose")

    dash.table.selected_ids = runs[:2]  # as a click in the table does
    assert sorted(dash.compare.run_ids) == sorted(runs[:2])
    assert set(dash.selected["run_id"]) == set(runs[:2])
    assert set(dash.compare.history()["run_id"]) == set(runs[:2])


def test_the_chosen_metrics_stay_as_the_selection_changes(runs):
    dash = canvasback.dashboard("dash", metrics=["loss"])
    dash.table.selected_ids = runs[:1]
    dash.table.selected_ids = []  # a click that clears the selection
    dash.table.selected_ids = runs[2:4]
    assert dash.compare.metrics == ["loss"]
    assert set(dash.compare.history()["key"]) == {"loss"}


@pytest.mark.usefixtures("runs")
def test_whole_state_stays_under_two_megabytes():
    dash = canvasback.dashboard("dash")
    total = sum(_state_bytes(w) for w in (dash, dash.table, dash.compare))
    assert total < 2_000_000, total


@pytest.mark.usefixtures("runs")
def test_static_view_has_the_table_and_the_charts():
    with canvasback.start_run(
        experiment="dash", run_name="<img src=x onerror=alert(1)>", live=False
    ):
        canvasback.log_metric("loss", 1.0)
    dash = canvasback.dashboard("dash", metrics=["loss"])
    data, _meta = dash._repr_mimebundle_()
    html = data["text/html"]
    assert "<svg" in html or "data:image/png" in html
    assert "lr=0.1" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
