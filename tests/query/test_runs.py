"""Reads of single runs and experiments (query/runs.py) on a real store: plain values
that the tracking API makes its records of."""

from __future__ import annotations

import math

import pytest

import canvasback
from canvasback import query
from canvasback.entities import ViewType
from canvasback.query.runs import view_type


def test_run_info_is_the_attributes_of_run_info(logged):
    info = query.run_info(logged.catalog(), "run-b", logged.root)
    assert info == {
        "run_id": "run-b",
        "run_name": "bravo",
        "experiment_id": logged.EXPERIMENT,
        "status": "FAILED",
        "start_time": logged.T0 + 1000,
        "end_time": logged.T0 + 1500,
        "lifecycle_stage": "active",
        "artifact_uri": str(logged.root / "artifacts" / "run-b"),
        "user_id": "tester",
        "parent_run_id": None,
    }
    assert canvasback.Client(logged.root).get_run("run-b").info.run_name == "bravo"
    assert query.run_info(logged.catalog(), "no-such-run", logged.root) is None


def test_a_renaming_tag_wins_over_the_name_a_run_began_with(logged):
    canvasback.Client(logged.root).set_tag("run-c", "mlflow.runName", "charlie-2")
    logged.store.flush()
    assert query.run_info(logged.catalog(), "run-c", logged.root)["run_name"] == "charlie-2"


def test_run_data_is_the_latest_metrics_params_and_tags(logged):
    found = query.run_data(logged.catalog(), "run-d")
    assert set(found) == {"metrics", "params", "tags"}
    assert math.isnan(found["metrics"]["acc"])  # the latest step's value, NaN included
    assert found["params"] == {"lr": "abc", "opt": "adam"}
    assert found["tags"]["mlflow.runName"] == "delta"
    assert query.run_data(logged.catalog(), "no-such-run") == {
        "metrics": {},
        "params": {},
        "tags": {},
    }


def test_metric_history_is_ordered_by_step(logged):
    table = query.metric_history(logged.catalog(), "run-a", "acc")
    assert table.column_names == ["step", "timestamp", "value"]
    assert table.to_pydict() == {
        "step": [0, 1, 2],
        "timestamp": [logged.T0, logged.T0 + 10, logged.T0 + 20],
        "value": [0.5, 0.7, 0.91],
    }
    assert query.metric_history(logged.catalog(), "run-a", "nothing").num_rows == 0
    empty = query.metric_history(logged.catalog(), "no-such-run", "acc")
    assert (empty.num_rows, empty.column_names) == (0, ["step", "timestamp", "value"])


def test_what_exists(logged):
    catalog = logged.catalog()
    assert query.existing_run_ids(catalog, ["run-a", "run-e", "nope"]) == {"run-a", "run-e"}
    assert query.experiment_ids(catalog) >= {logged.EXPERIMENT, logged.OTHER_EXPERIMENT}
    assert query.runs_with_tag(catalog, ["run-a", "run-e", "nope"], "team") == {
        "run-a": (logged.EXPERIMENT, "active", "vision"),
        "run-e": (logged.EXPERIMENT, "deleted", None),
    }


def test_metric_rows_in_given_files_and_the_latest_points(logged):
    catalog = logged.catalog()
    paths = catalog.metric_paths_for_run("run-b")
    rows = query.metric_rows_in_files(catalog, paths, "run-b")
    assert sorted(rows.to_pylist(), key=lambda r: (r["key"], r["step"])) == [
        {"key": "acc", "step": 0, "timestamp": logged.T0 + 1000, "value": 0.4},
        {"key": "acc", "step": 1, "timestamp": logged.T0 + 1010, "value": 0.6},
        {"key": "loss", "step": 0, "timestamp": logged.T0 + 1000, "value": 0.8},
    ]
    assert query.metric_rows_in_files(catalog, paths, "run-b", ["loss"]).num_rows == 1
    assert query.latest_metric_rows(catalog, "run-a") == [
        ("acc", 2, logged.T0 + 20, 0.91),
        ("loss", 1, logged.T0 + 10, 0.4),
    ]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (ViewType.ACTIVE_ONLY, "ACTIVE_ONLY"),
        (2, "DELETED_ONLY"),
        ("all", "ALL"),
        (type("MlflowViewType", (), {"name": "ALL"})(), "ALL"),
    ],
)
def test_view_types_by_mlflow_s_numbers_and_names(value, name):
    assert view_type(value) == name


@pytest.mark.parametrize("value", [0, True, "SOME", None])
def test_an_unknown_view_type_says_what_is_allowed(value):
    with pytest.raises(ValueError, match=r"Invalid run_view_type .*ACTIVE_ONLY, DELETED_ONLY, ALL"):
        view_type(value)


def test_every_run_of_the_spec_is_in_the_store(logged):
    assert query.existing_run_ids(logged.catalog(), list(logged.RUNS)) == set(logged.RUNS)
