"""The model registry on a real store: versions, aliases and their history, stages, tags,
search, rename and delete with MLflow's semantics, and 16 processes registering at once."""

from __future__ import annotations

import multiprocessing
import socket

import pytest

import canvasback as cb
from canvasback.registry import RegistryNotFoundError
from canvasback.registry.entities import RegistryConflictError
from canvasback.registry.repair import recover_versions
from canvasback.registry.sources import ModelNotFoundError
from canvasback.tracking.filter import FilterError
from canvasback.tracking.validation import InvalidInputError


def _model_run(name: str = "model") -> str:
    """A run holding a folder with an MLmodel file (the registry needs no more)."""
    with cb.start_run(live=False) as run:
        cb.log_text("flavors: {}\n", f"{name}/MLmodel")
    return run.info.run_id


@pytest.fixture
def client(store):
    return cb.MlflowClient(store)


def test_versions_count_up_from_one_and_are_never_reused(client):
    run_id = _model_run()
    uri = f"runs:/{run_id}/model"
    assert [cb.register_model(uri, "churn").version for _ in range(3)] == ["1", "2", "3"]
    client.delete_model_version("churn", 3)
    assert cb.register_model(uri, "churn").version == "4"
    versions = client.search_model_versions("name = 'churn'")
    assert [v.version for v in versions] == ["4", "2", "1"]  # newest first
    assert all(v.run_id == run_id and v.source == uri for v in versions)
    with pytest.raises(RegistryNotFoundError, match="has no version 3; its versions are 1, 2, 4"):
        client.get_model_version("churn", 3)


def test_aliases_move_one_at_a_time_and_keep_their_history(client):
    uri = f"runs:/{_model_run()}/model"
    for _ in range(3):
        cb.register_model(uri, "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    client.set_registered_model_alias("churn", "champion", "3")
    client.set_registered_model_alias("churn", "challenger", 2)
    assert client.get_model_version_by_alias("churn", "champion").version == "3"
    assert client.get_registered_model("churn").aliases == {"champion": "3", "challenger": "2"}
    assert client.get_model_version("churn", 3).aliases == ["champion"]
    assert client.get_model_version("churn", 1).aliases == []
    client.delete_registered_model_alias("churn", "champion")
    with pytest.raises(RegistryNotFoundError, match=r"no alias 'champion'.*@challenger -> 2"):
        client.get_model_version_by_alias("churn", "champion")
    history = client.get_alias_history("churn", "champion")
    assert [(m.from_version, m.to_version) for m in history] == [
        (None, "1"),
        ("1", "3"),
        ("3", None),
    ]
    assert {m.host for m in history} == {socket.gethostname()}
    assert all(m.user_id for m in history)
    assert [m.timestamp for m in history] == sorted(m.timestamp for m in history)
    rows = cb.sql("SELECT alias, from_version, to_version FROM alias_history ORDER BY timestamp")
    assert rows.fetchall()[-1] == ("champion", 3, None)


@pytest.mark.parametrize("alias", ["latest", "Latest", "v3", "V12"])
def test_reserved_aliases_are_refused(client, alias):
    cb.register_model(f"runs:/{_model_run()}/model", "churn")
    with pytest.raises(InvalidInputError, match="reserved"):
        client.set_registered_model_alias("churn", alias, 1)
    assert client.get_alias_history("churn") == []


def test_an_alias_of_a_deleted_version_goes_with_it(client):
    uri = f"runs:/{_model_run()}/model"
    cb.register_model(uri, "churn")
    cb.register_model(uri, "churn")
    client.set_registered_model_alias("churn", "champion", 2)
    client.delete_model_version("churn", 2)
    assert client.get_registered_model("churn").aliases == {}
    assert client.get_alias_history("churn")[-1].to_version is None


def test_stages_with_archive_existing_versions(client):
    uri = f"runs:/{_model_run()}/model"
    for _ in range(3):
        cb.register_model(uri, "churn")
    client.transition_model_version_stage("churn", 1, "production")
    client.transition_model_version_stage("churn", 2, "Staging")
    moved = client.transition_model_version_stage(
        "churn", 3, "Production", archive_existing_versions=True
    )
    assert moved.current_stage == "Production"
    stages = {v.version: v.current_stage for v in client.search_model_versions("name='churn'")}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Production"}
    assert [v.version for v in client.get_latest_versions("churn", ["Production"])] == ["3"]
    with pytest.raises(InvalidInputError, match="the stages are None, Staging, Production"):
        client.transition_model_version_stage("churn", 1, "prod")


def test_tags_descriptions_and_search(client):
    uri = f"runs:/{_model_run()}/model"
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


def test_rename_and_delete_follow_mlflow(client):
    uri = f"runs:/{_model_run()}/model"
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


def test_bad_input_names_what_exists(client):
    run_id = _model_run()
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


def test_registry_views_answer_sql(client):
    uri = f"runs:/{_model_run()}/model"
    cb.register_model(uri, "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    assert cb.sql("SELECT name FROM registered_models").fetchall() == [("churn",)]
    assert cb.sql("SELECT name, version, current_stage FROM model_versions").fetchall() == [
        ("churn", 1, "None")
    ]
    assert cb.sql("SELECT name, alias, version FROM aliases").fetchall() == [
        ("churn", "champion", 1)
    ]


def _register_at_once(root: str, uri: str, barrier: object) -> str:
    import canvasback as child_cb  # noqa: PLC0415  # a fresh interpreter (spawn)

    client = child_cb.MlflowClient(root)
    barrier.wait()  # type: ignore[attr-defined]
    return client.register_model(uri, "contended").version


@pytest.mark.slow
def test_sixteen_processes_register_unique_gap_free_versions(store, client):
    uri = f"runs:/{_model_run()}/model"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(16)
    with ctx.Pool(16) as pool:
        # A worker that dies loses its task: fail then, rather than wait for ever.
        work = pool.starmap_async(_register_at_once, [(str(store), uri, barrier)] * 16)
        versions = work.get(timeout=300)
    assert sorted(int(v) for v in versions) == list(range(1, 17))
    seen = client.search_model_versions("name = 'contended'")
    assert sorted(int(v.version) for v in seen) == list(range(1, 17))
    assert len(cb.search_registered_models()) == 1  # one model, however many created it


def test_a_version_claimed_by_a_killed_process_is_recovered(store, client, run_python):
    uri = f"runs:/{_model_run()}/model"
    cb.register_model(uri, "churn")
    # A registration killed after it claimed version 2 and before its row was written.
    killed = run_python(
        f"""
        import os
        import canvasback as cb
        client = cb.MlflowClient({str(store)!r})
        original = client.store.writer.append
        def append(table, *args):
            if table == "model_versions":
                os._exit(9)
            original(table, *args)
        client.store.writer.append = append
        client.create_model_version("churn", {uri!r})
        """,
        check=False,
    )
    assert killed.returncode == 9
    assert [v.version for v in client.search_model_versions()] == ["1"]
    assert recover_versions(cb.client().store, grace_seconds=0) == 1
    recovered = client.get_model_version("churn", 2)
    assert (recovered.source, recovered.version) == (uri, "2")
    assert cb.register_model(uri, "churn").version == "3"
    assert recover_versions(cb.client().store, grace_seconds=0) == 0
