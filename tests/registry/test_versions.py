"""Model versions on a real store: numbered from one, never reused, deleted with their
aliases, moved between stages, and 16 processes registering one model at once."""

from __future__ import annotations

import multiprocessing

import pytest

import canvasback as cb
from canvasback.registry import RegistryNotFoundError
from canvasback.tracking.validation import InvalidInputError


def test_versions_count_up_from_one_and_are_never_reused(client, model_run):
    run_id = model_run()
    uri = f"runs:/{run_id}/model"
    assert [cb.register_model(uri, "churn").version for _ in range(3)] == ["1", "2", "3"]
    client.delete_model_version("churn", 3)
    assert cb.register_model(uri, "churn").version == "4"
    versions = client.search_model_versions("name = 'churn'")
    assert [v.version for v in versions] == ["4", "2", "1"]  # newest first
    assert all(v.run_id == run_id and v.source == uri for v in versions)
    with pytest.raises(RegistryNotFoundError, match="has no version 3; its versions are 1, 2, 4"):
        client.get_model_version("churn", 3)


def test_an_alias_of_a_deleted_version_goes_with_it(client, model_run):
    uri = f"runs:/{model_run()}/model"
    cb.register_model(uri, "churn")
    cb.register_model(uri, "churn")
    client.set_registered_model_alias("churn", "champion", 2)
    client.delete_model_version("churn", 2)
    assert client.get_registered_model("churn").aliases == {}
    assert client.get_alias_history("churn")[-1].to_version is None


def test_stages_with_archive_existing_versions(client, model_run):
    uri = f"runs:/{model_run()}/model"
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


def _register_at_once(root: str, uri: str, barrier: object) -> str:
    import canvasback as child_cb  # noqa: PLC0415  # a fresh interpreter (spawn)

    client = child_cb.MlflowClient(root)
    barrier.wait()  # type: ignore[attr-defined]
    return client.register_model(uri, "contended").version


@pytest.mark.slow
def test_sixteen_processes_register_unique_gap_free_versions(store, client, model_run):
    uri = f"runs:/{model_run()}/model"
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
