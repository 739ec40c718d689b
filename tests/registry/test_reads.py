"""The registry's reads on a real store: tags and descriptions read back, and searches of
models and versions in MLflow's grammar (plus OR and parentheses), paged."""

from __future__ import annotations

import pytest

import canvasback as cb
from canvasback.query.filter import FilterError


def test_tags_descriptions_and_search(client, model_run):
    uri = f"runs:/{model_run()}/model"
    cb.register_model(uri, "churn", tags={"team": "growth"})
    cb.register_model(uri, "churn")
    cb.register_model(uri, "fraud")
    client.set_registered_model_tag("churn", "team", "growth")
    client.set_registered_model_tag("fraud", "team", "risk")
    client.update_registered_model("churn", description="predicts churn")
    client.update_model_version("churn", 2, description="retrained")
    client.set_model_version_tag("churn", 2, "validated", "yes")
    assert client.get_model_version("churn", 1).tags == {"team": "growth"}
    client.delete_model_version_tag("churn", 1, "team")
    assert client.get_model_version("churn", 1).tags == {}
    model = client.get_registered_model("churn")
    assert (model.description, model.tags) == ("predicts churn", {"team": "growth"})
    assert client.get_model_version("churn", 2).description == "retrained"

    def names(flt: str, **kw: object) -> list[str]:
        return [m.name for m in cb.search_registered_models(flt, **kw)]

    assert names("name LIKE 'ch%'") == ["churn"]
    assert names("tags.team = 'risk' OR name = 'churn'") == ["churn", "fraud"]
    assert names(None, order_by=["name DESC"]) == ["fraud", "churn"]
    found = cb.search_model_versions("name = 'churn' AND (tags.validated = 'yes' OR version = 9)")
    assert [(v.name, v.version) for v in found] == [("churn", "2")]
    found = cb.search_model_versions("version_number >= 1", order_by=["version_number ASC"])
    assert [(v.name, v.version) for v in found] == [("churn", "1"), ("fraud", "1"), ("churn", "2")]
    first = cb.search_model_versions(max_results=2)
    second = cb.search_model_versions(max_results=2, page_token=first.token)
    assert (len(first), len(second)) == (2, 1)
    assert second.token is None
    with pytest.raises(FilterError, match="unknown attribute 'metric'"):
        cb.search_model_versions("metric > 1")
    tags = cb.sql("SELECT name, version, key FROM model_version_tags").fetchall()
    assert tags == [("churn", 2, "validated")]
