"""Where a model lives: a ``models:/`` URI with one slash resolves, ``models://`` and the
like get an error naming the value and the form."""

from __future__ import annotations

import pytest

import canvasback as cb
from canvasback.tracking.validation import InvalidInputError


@pytest.fixture
def client(store, tmp_path, monkeypatch):
    # Rows a store refused would be spilled to the user's cache: keep that in the test.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    client = cb.MlflowClient(store)
    client.create_registered_model("churn", description="first")
    client.create_model_version("churn", "runs:/abc/model", description="v1")
    return client


@pytest.mark.parametrize(
    "uri", ["models://churn/1", "models://churn@champion", "models:///churn/1", "models:/"]
)
def test_a_models_uri_has_one_slash(client, uri):
    client.set_registered_model_alias("churn", "champion", 1)
    with pytest.raises(InvalidInputError, match=r"Invalid model URI .*one slash after 'models:'"):
        client.locate_model(uri)
    assert client.version_of_uri("models:/churn/1").version == "1"  # the right form resolves
