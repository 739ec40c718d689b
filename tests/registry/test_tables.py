"""The registry's tables, declared to the store: its views answer SQL."""

from __future__ import annotations

import canvasback as cb


def test_registry_views_answer_sql(client, model_run):
    uri = f"runs:/{model_run()}/model"
    cb.register_model(uri, "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    assert cb.sql("SELECT name FROM registered_models").fetchall() == [("churn",)]
    assert cb.sql("SELECT name, version, current_stage FROM model_versions").fetchall() == [
        ("churn", 1, "None")
    ]
    assert cb.sql("SELECT name, alias, version FROM aliases").fetchall() == [
        ("churn", "champion", 1)
    ]
