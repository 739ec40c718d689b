"""Registered models on a real store: renamed and deleted with MLflow's semantics, and
bad input refused with an error naming what exists, before anything is written."""

from __future__ import annotations

import pytest

import canvasback as cb
from canvasback.registry import RegistryNotFoundError
from canvasback.registry.entities import RegistryConflictError
from canvasback.registry.sources import ModelNotFoundError
from canvasback.tracking.validation import InvalidInputError


def test_rename_and_delete_follow_mlflow(client, model_run):
    uri = f"runs:/{model_run()}/model"
    cb.register_model(uri, "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    renamed = client.rename_registered_model("churn", "churn-v2")
    assert renamed.aliases == {"champion": "1"}
    assert client.get_model_version("churn-v2", 1).name == "churn-v2"
    with pytest.raises(
        RegistryNotFoundError, match=r"No registered model named 'churn'.*'churn-v2'"
    ):
        client.get_registered_model("churn")
    cb.register_model(uri, "churn")  # the old name is free: a new model
    with pytest.raises(RegistryConflictError, match="already exists"):
        client.rename_registered_model("churn", "churn-v2")
    client.delete_registered_model("churn-v2")
    assert [m.name for m in cb.search_registered_models()] == ["churn"]
    again = cb.register_model(uri, "churn-v2")
    assert again.version == "1"  # a new model of an old name starts again
    assert cb.sql("SELECT count(*) FROM aliases").fetchall() == [(0,)]


def test_bad_input_names_what_exists(client, model_run):
    run_id = model_run()
    cb.register_model(f"runs:/{run_id}/model", "churn")
    with pytest.raises(RegistryNotFoundError, match=r"No registered model named 'nope'.*'churn'"):
        client.get_model_version("nope", 1)
    with pytest.raises(ModelNotFoundError, match=r"has no model at 'weights'.*'model'"):
        cb.register_model(f"runs:/{run_id}/weights", "churn")
    with pytest.raises(ModelNotFoundError, match="No run 'feedbeef'"):
        cb.register_model("runs:/feedbeef/model", "churn")
    with pytest.raises(InvalidInputError, match="cannot contain '/' or ':'"):
        cb.register_model(f"runs:/{run_id}/model", "a/b")
    with pytest.raises(InvalidInputError, match="positive integer"):
        client.get_model_version("churn", "one")
    assert [v.version for v in cb.search_model_versions()] == ["1"]  # nothing was written
