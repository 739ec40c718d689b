"""Logged models' records in the store, and the client's reads MLflow's entities need."""

from __future__ import annotations

import math

import pytest

import canvasback
from canvasback.tracking import logged_models


@pytest.fixture
def client(tmp_path):
    return canvasback.Client(tmp_path / "store")


def test_a_logged_model_keeps_its_details_its_folder_and_its_log_in_order(client):
    store = client.store
    run = client.create_run()
    model_id = logged_models.new_model_id()
    assert logged_models.claim_path(store, run.info.run_id, "model", model_id)
    logged_models.record(store, model_id, run.info.run_id, "model", {"name": "clf"})
    assert logged_models.resolve(store, model_id) == (run.info.run_id, "model")
    details = logged_models.read(store, model_id)
    assert details["name"] == "clf"
    assert details["time"] > 0
    assert logged_models.model_at(store, run.info.run_id, "model") == model_id
    assert logged_models.model_at(store, run.info.run_id, "other") is None
    other = logged_models.new_model_id()
    assert not logged_models.claim_path(store, run.info.run_id, "model", other)
    assert logged_models.claim_path(store, run.info.run_id, "model", model_id)  # its own

    for change in ({"status": "READY"}, {"tags": {"a": "1"}}, {"tags": {"a": None}}):
        logged_models.add_change(store, model_id, change)
    assert [
        {k: v for k, v in c.items() if k != "time"} for c in logged_models.changes(store, model_id)
    ] == [
        {"status": "READY"},
        {"tags": {"a": "1"}},
        {"tags": {"a": None}},
    ]
    logged_models.add_output(store, run.info.run_id, model_id, 3)
    logged_models.add_input(store, run.info.run_id, other)
    assert logged_models.outputs(store, run.info.run_id) == [(model_id, 3)]
    assert logged_models.inputs(store, run.info.run_id) == [other]
    assert logged_models.model_ids(store) == [model_id]


def test_ids_that_are_no_model_ids_resolve_to_nothing(client):
    for text in ("m-../../x", "run-1", "m-", "m-ünïcode"):
        assert logged_models.read(client.store, text) is None
        assert not logged_models.is_model_id(text)


def test_latest_metrics_have_their_step_and_time(client):
    run = client.create_run()
    run.log_metric("loss", 0.5, step=1, timestamp=10)
    run.log_metric("loss", 0.25, step=3, timestamp=5)
    run.log_metric("loss", 0.75, step=2, timestamp=20)
    run.log_metric("nan", math.nan, step=0, timestamp=1)
    latest = {m.key: m for m in client.latest_metrics(run.info.run_id)}
    assert (latest["loss"].value, latest["loss"].step, latest["loss"].timestamp) == (0.25, 3, 5)
    assert math.isnan(latest["nan"].value)
    with pytest.raises(canvasback.RunNotFoundError):
        client.latest_metrics("f" * 32)


def test_an_experiment_tag_can_be_deleted(client):
    experiment_id = client.create_experiment("tagged", tags={"a": "1", "b": "2"})
    client.delete_experiment_tag(experiment_id, "a")
    assert client.get_experiment(experiment_id).tags == {"b": "2"}
    assert client.search_experiments(filter_string="tags.a = '1'") == []
