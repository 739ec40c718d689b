"""The plugin's stores in the process of an ``mlflow server`` that proxies artifacts.

``mlflow server`` gives its workers their settings in environment variables: whether it
serves artifacts, its artifact root (``mlflow-artifacts:/`` by default) and its
``--artifacts-destination``. Here they are set as the server sets them, and the stores
and the artifact repository are made on a real store, as MLflow's handlers make them.
The server itself, with a client in another process, is ``test_remote.py``.
"""

from __future__ import annotations

import logging

import pytest
from mlflow.entities import RunTag
from mlflow.exceptions import MlflowException

import canvasback
from canvasback.mlflow_plugin import proxied, uris
from canvasback.mlflow_plugin.artifact_repo import ArtifactRepository
from canvasback.mlflow_plugin.registry_store import RegistryStore
from canvasback.mlflow_plugin.tracking_store import TrackingStore

ROOT = "mlflow-artifacts:/"


@pytest.fixture
def root(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def served(root, monkeypatch):
    """This process as an ``mlflow server --artifacts-destination canvasback:///<store>``."""
    monkeypatch.setenv(proxied.SERVE_ARTIFACTS_ENV_VAR, "true")
    monkeypatch.setenv(proxied.ARTIFACT_ROOT_ENV_VAR, ROOT)
    monkeypatch.setenv(proxied.ARTIFACTS_DESTINATION_ENV_VAR, uris.store_uri(root))
    return root


def new_run(tracking: TrackingStore) -> str:
    run = tracking.create_run("0", "me", 0, [RunTag("mlflow.runName", "r")], None)
    return str(run.info.run_id)


def test_the_server_env_variables_are_mlflows():
    from mlflow.server import constants  # noqa: PLC0415  # the server app: only here

    assert (
        proxied.SERVE_ARTIFACTS_ENV_VAR,
        proxied.ARTIFACT_ROOT_ENV_VAR,
        proxied.ARTIFACTS_DESTINATION_ENV_VAR,
    ) == (
        constants.SERVE_ARTIFACTS_ENV_VAR,
        constants.ARTIFACT_ROOT_ENV_VAR,
        constants.ARTIFACTS_DESTINATION_ENV_VAR,
    )


def test_served_stores_hand_out_the_proxys_uris_at_the_stores_own_paths(served, tmp_path):
    tracking = TrackingStore(uris.store_uri(served), ROOT)
    registry = RegistryStore(uris.store_uri(served))
    run_id = new_run(tracking)
    assert tracking.get_run(run_id).info.artifact_uri == f"mlflow-artifacts:/artifacts/{run_id}"
    (searched,) = tracking.search_runs(["0"], None, 1)
    assert searched.info.artifact_uri == f"mlflow-artifacts:/artifacts/{run_id}"
    assert tracking.get_experiment("0").artifact_location == "mlflow-artifacts:/artifacts"
    model = tracking.create_logged_model("0", "clf", run_id)
    assert model.artifact_location == f"mlflow-artifacts:/artifacts/{run_id}/clf"

    # What the server does with an upload to mlflow-artifacts:/artifacts/<run>/clf/MLmodel:
    # the destination's repository writes the path below it.
    destination = ArtifactRepository(uris.store_uri(served))
    files = tmp_path / "upload"
    files.mkdir()
    (files / "MLmodel").write_text("flavors: {}\n")
    destination.log_artifact(str(files / "MLmodel"), f"artifacts/{run_id}/clf")
    cb = canvasback.Client(served)
    assert cb.sql("SELECT path FROM artifacts WHERE run_id = ?", [run_id]).fetchall() == [
        ("clf/MLmodel",)
    ]
    assert [(f.path, f.is_dir) for f in destination.list_artifacts(f"artifacts/{run_id}")] == [
        (f"artifacts/{run_id}/clf", True)
    ]

    # A version from the proxied folder is kept as canvasback keeps it, handed out proxied.
    version = registry.create_model_version("clf", model.artifact_location, run_id=run_id)
    assert version.source == f"runs:/{run_id}/clf"
    assert cb.get_model_version("clf", 1).source == f"runs:/{run_id}/clf"
    assert registry.get_model_version_download_uri("clf", "1") == model.artifact_location


def test_the_stores_repository_takes_only_paths_of_its_runs(served, tmp_path):
    tracking = TrackingStore(uris.store_uri(served), ROOT)
    run_id = new_run(tracking)
    destination = ArtifactRepository(uris.store_uri(served))
    local = tmp_path / "x.txt"
    local.write_text("x")
    for bad in ("", "runs", f"claims/{run_id}", "artifacts", f"artifacts/{run_id}/../../claims"):
        with pytest.raises(MlflowException, match="artifacts are at artifacts/<run_id>/<path>"):
            destination.log_artifact(str(local), bad or None)
    for bad in ("../outside", f"artifacts/{run_id}/../../../outside", "/etc"):
        with pytest.raises(MlflowException, match="stays inside the run's artifact folder"):
            destination.log_artifact(str(local), bad)
    with pytest.raises(MlflowException, match="Invalid run id"):
        destination.log_artifact(str(local), "artifacts/no such run/x")
    assert sorted(p.name for p in served.rglob("x.txt")) == []
    # A run's folder stays the run's, even holding what a store holds.
    run_folder = uris.artifacts_uri(served, run_id)
    ArtifactRepository(run_folder).log_artifact(str(local), "claims")
    assert (served / "artifacts" / run_id / "claims" / "x.txt").is_file()
    assert uris.artifact_location(run_folder, []) == uris.ArtifactLocation(served, run_id, "")
    registry = RegistryStore(uris.store_uri(served))
    with pytest.raises(MlflowException, match="inside"):
        registry.create_model_version("clf", f"mlflow-artifacts:/artifacts/{run_id}/../../..")


def test_a_server_proxying_elsewhere_hands_out_the_folder_and_says_how(root, monkeypatch, caplog):
    monkeypatch.setenv(proxied.SERVE_ARTIFACTS_ENV_VAR, "true")
    monkeypatch.setenv(proxied.ARTIFACTS_DESTINATION_ENV_VAR, "./mlartifacts")  # the default
    with caplog.at_level(logging.WARNING, logger=proxied.__name__):
        tracking = TrackingStore(uris.store_uri(root), ROOT)
        TrackingStore(uris.store_uri(root), ROOT)  # said once
    run_id = new_run(tracking)
    assert tracking.get_run(run_id).info.artifact_uri == uris.artifacts_uri(root, run_id)
    store = uris.store_uri(root)
    expected = f"mlflow server --backend-store-uri {store} --artifacts-destination {store}"
    assert [r.getMessage().endswith(expected) for r in caplog.records] == [True]


def test_in_a_process_of_its_own_the_root_changes_nothing(root):
    tracking = TrackingStore(uris.store_uri(root), ROOT)  # no server's environment
    run_id = new_run(tracking)
    assert tracking.get_run(run_id).info.artifact_uri == uris.artifacts_uri(root, run_id)


def test_a_proxied_root_with_a_folder_is_refused_naming_the_default(served):
    with pytest.raises(MlflowException, match=r"'mlflow-artifacts:/team'.*mlflow-artifacts:/ "):
        TrackingStore(uris.store_uri(served), "mlflow-artifacts:/team")


def test_a_folder_of_the_servers_machine_is_refused_saying_how_to_serve_it(tmp_path):
    elsewhere = tmp_path / "on-the-server" / "store"
    uri = uris.artifacts_uri(elsewhere, "0123abcd")
    with pytest.raises(MlflowException) as caught:
        ArtifactRepository(uri, tracking_uri="http://tracking.example:5000")
    store = uris.store_uri(elsewhere)
    assert caught.value.message == (
        f"Cannot reach the artifacts at {uri!r}: the tracking server "
        "http://tracking.example:5000 handed out a folder of its own machine, which is not "
        "on this one. To take artifacts and models from other machines, the server proxies "
        f"the store's artifacts; start it as: mlflow server --backend-store-uri {store} "
        f"--artifacts-destination {store}"
    )
    with pytest.raises(MlflowException, match="names no run's artifacts"):
        ArtifactRepository(uri, tracking_uri=uris.store_uri(tmp_path / "a-store"))
