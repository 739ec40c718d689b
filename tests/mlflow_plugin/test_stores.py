"""The MLflow plugin's stores, called as MLflow's clients call them, on a real store.

Each test makes the plugin's classes on a fresh store folder and checks what MLflow
gets back (its entities, error codes, page tokens) against what canvasback's own API
reads from the same store. The scripts that run MLflow's own API through the entry
points are in ``test_scripts.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from mlflow.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LinearRegression

import canvasback
from canvasback._config import S3Address
from canvasback.mlflow_plugin import uris
from canvasback.mlflow_plugin.artifact_repo import ArtifactRepository
from canvasback.mlflow_plugin.registry_store import RegistryStore
from canvasback.mlflow_plugin.tracking_store import TrackingStore
from canvasback.projects import environment
from canvasback.store import layout


@pytest.fixture
def root(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def tracking(root):
    return TrackingStore(uris.store_uri(root))


@pytest.fixture
def registry(root):
    return RegistryStore(uris.store_uri(root))


@pytest.fixture
def cb(root):
    return canvasback.Client(root)


def code(error: MlflowException) -> str:
    return error.error_code


def walk(search, **kwargs):
    """Every item of a paged search, following its tokens; and the page sizes."""
    items, sizes, token = [], [], None
    while True:
        page = search(page_token=token, **kwargs)
        items += list(page)
        sizes.append(len(page))
        token = page.token
        if not token:
            return items, sizes


def new_run(tracking, experiment_id="0", **tags):
    run = tracking.create_run(
        experiment_id, "someone", 1_000, [RunTag(k, v) for k, v in tags.items()], None
    )
    return run.info.run_id


# -- experiments ---------------------------------------------------------------------


def test_experiments_are_canvasbacks_and_searched_a_page_at_a_time(tracking, cb, root):
    ids = [
        tracking.create_experiment(f"exp-{i:02d}", tags=[ExperimentTag("k", str(i))])
        for i in range(12)
    ]
    with pytest.raises(MlflowException) as caught:
        tracking.create_experiment("exp-03")
    assert code(caught.value) == "RESOURCE_ALREADY_EXISTS"
    assert cb.get_experiment_by_name("exp-05").experiment_id == ids[5]
    found = tracking.get_experiment(ids[5])
    assert (found.name, found.tags, found.lifecycle_stage) == ("exp-05", {"k": "5"}, "active")
    assert found.artifact_location == uris.artifacts_uri(root)
    assert tracking.get_experiment_by_name("nope") is None
    with pytest.raises(MlflowException) as caught:
        tracking.get_experiment("987654")
    assert code(caught.value) == "RESOURCE_DOES_NOT_EXIST"

    items, sizes = walk(
        tracking.search_experiments, max_results=5, filter_string="name LIKE 'exp-%'"
    )
    assert sorted(e.experiment_id for e in items) == sorted(ids)  # each exactly once
    assert len(items) == 12
    assert sizes == [5, 5, 2]

    tracking.rename_experiment(ids[0], "renamed")
    tracking.set_experiment_tag(ids[0], ExperimentTag("team", "a"))
    tracking.delete_experiment_tag(ids[0], "k")
    tracking.delete_experiment(ids[1])
    assert cb.get_experiment(ids[0]).name == "renamed"
    assert cb.get_experiment(ids[0]).tags == {"team": "a"}
    assert cb.get_experiment(ids[1]).lifecycle_stage == "deleted"
    deleted = tracking.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert [e.experiment_id for e in deleted] == [ids[1]]
    tracking.restore_experiment(ids[1])
    assert cb.get_experiment(ids[1]).lifecycle_stage == "active"


# -- runs ----------------------------------------------------------------------------


def test_a_run_logged_through_the_store_is_canvasbacks_run(tracking, cb, root):
    run_id = new_run(tracking, team="vision", **{"mlflow.runName": "first"})
    tracking.log_batch(
        run_id,
        metrics=[
            Metric("loss", 0.5, 10, 0),
            Metric("loss", 0.25, 20, 1),
            Metric("acc", math.nan, 30, 3),
        ],
        params=[Param("lr", "0.01")],
        tags=[RunTag("stage", "dev")],
    )
    tracking.log_metric(run_id, Metric("loss", 0.125, 40, 2))  # MLflow's, over log_batch
    tracking.set_tag(run_id, RunTag("gone", "soon"))
    tracking.delete_tag(run_id, "gone")

    mine = cb.get_run(run_id)
    assert mine.info.run_name == "first"
    assert mine.data.params == {"lr": "0.01"}
    assert mine.data.metrics["loss"] == 0.125
    assert {"team": "vision", "stage": "dev"}.items() <= mine.data.tags.items()
    assert "gone" not in mine.data.tags

    run = tracking.get_run(run_id)
    assert run.info.user_id == "someone"
    assert run.info.start_time == 1_000
    assert run.info.status == "RUNNING"
    assert run.info.artifact_uri == uris.artifacts_uri(root, run_id)
    latest = {m.key: (m.value, m.timestamp, m.step) for m in run.data._metric_objs}
    assert latest["loss"] == (0.125, 40, 2)
    assert math.isnan(latest["acc"][0])
    assert latest["acc"][1:] == (30, 3)
    assert run.data.params == {"lr": "0.01"}

    history = tracking.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.25), (2, 0.125)]
    assert {m.run_id for m in history} == {run_id}
    items, sizes = walk(
        tracking.get_metric_history, run_id=run_id, metric_key="loss", max_results=2
    )
    assert [m.step for m in items] == [0, 1, 2]
    assert sizes == [2, 1]
    # What the UI's charts ask (MLflow's own, over get_metric_history).
    picked = tracking.get_metric_history_bulk_interval_from_steps(run_id, "loss", [0, 2], 10)
    assert [(m.step, m.value, m.run_id) for m in picked] == [(0, 0.5, run_id), (2, 0.125, run_id)]

    info = tracking.update_run_info(run_id, RunStatus.FINISHED, 5_000, "renamed")
    assert (info.status, info.end_time, info.run_name) == ("FINISHED", 5_000, "renamed")
    assert cb.get_run(run_id).info.status == "FINISHED"
    tracking.update_run_info(run_id, RunStatus.RUNNING, None, None)  # start_run(run_id=...)
    assert cb.get_run(run_id).info.status == "RUNNING"


def test_bad_input_raises_mlflows_error_and_loses_nothing(tracking, cb):
    run_id = new_run(tracking)
    tracking.log_batch(run_id, [Metric("m", 1.0, 1, 0)], [Param("lr", "0.1")], [])
    with pytest.raises(MlflowException) as caught:
        tracking.log_batch(run_id, [Metric("m", 2.0, 2, 1)], [Param("lr", "0.2")], [])
    assert code(caught.value) == "INVALID_PARAMETER_VALUE"
    assert "lr" in caught.value.message
    assert cb.get_run(run_id).data.params == {"lr": "0.1"}
    assert [m.value for m in cb.get_metric_history(run_id, "m")] == [1.0]
    with pytest.raises(MlflowException) as caught:
        tracking.get_run("f" * 32)
    assert code(caught.value) == "RESOURCE_DOES_NOT_EXIST"
    tracking.delete_run(run_id)
    assert cb.get_run(run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException, match="deleted"):
        tracking.log_batch(run_id, [Metric("m", 3.0, 3, 2)], [], [])
    tracking.restore_run(run_id)
    assert cb.get_run(run_id).info.lifecycle_stage == "active"


FILTERS = [
    "",
    "metrics.score > 3",
    "params.group = 'a' and metrics.score <= 5",
    "tags.kind != 'odd'",
    "attributes.run_name LIKE 'run-1%'",
    "params.group IN ('a', 'c')",
]


@pytest.mark.parametrize("filter_string", FILTERS)
def test_search_runs_pages_through_canvasbacks_search(tracking, cb, filter_string):
    experiment_id = tracking.create_experiment("search")
    for i in range(13):
        kind = "odd" if i % 2 else "even"
        run_id = new_run(tracking, experiment_id, kind=kind, **{"mlflow.runName": f"run-{i}"})
        tracking.log_batch(
            run_id, [Metric("score", float(i), 1, 0)], [Param("group", "abc"[i % 3])], []
        )
    order = ["metrics.score DESC"]
    expected = list(
        cb.search_runs_frame([experiment_id], filter_string=filter_string, order_by=order)["run_id"]
    )
    assert expected  # the filter matches some runs, not all of them
    found, sizes = walk(
        tracking.search_runs,
        experiment_ids=[experiment_id],
        filter_string=filter_string,
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=4,
        order_by=order,
    )
    assert [r.info.run_id for r in found] == expected  # each once, in canvasback's order
    assert all(size <= 4 for size in sizes)
    assert sum(sizes) == len(expected)


def test_a_bad_filter_is_mlflows_invalid_parameter_naming_the_position(tracking):
    with pytest.raises(MlflowException) as caught:
        tracking.search_runs(["0"], "metrics.score >> 3", ViewType.ACTIVE_ONLY)
    assert code(caught.value) == "INVALID_PARAMETER_VALUE"
    assert "metrics.score >> 3" in caught.value.message


def test_datasets_and_models_a_run_used_and_made(tracking, cb):
    run_id = new_run(tracking)
    dataset = Dataset("train", "abc123", "code", '{"tags": {}}', '{"cols": [1]}', '{"rows": 3}')
    model = tracking.create_logged_model("0", "net", run_id)
    tracking.log_inputs(
        run_id,
        [DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])],
        [LoggedModelInput(model.model_id)],
    )
    tracking.log_outputs(run_id, [LoggedModelOutput(model.model_id, 7)])
    run = tracking.get_run(run_id)
    (used,) = run.inputs.dataset_inputs
    assert (used.dataset.name, used.dataset.digest, used.dataset.source) == (
        "train",
        "abc123",
        '{"tags": {}}',
    )
    assert json.loads(used.dataset.profile) == {"rows": 3}
    assert [(t.key, t.value) for t in used.tags] == [("mlflow.data.context", "training")]
    assert [m.model_id for m in run.inputs.model_inputs] == [model.model_id]
    assert [(m.model_id, m.step) for m in run.outputs.model_outputs] == [(model.model_id, 7)]
    # A search page reads runs another way (the public views, in bulk): the same Run.
    tracking.log_batch(run_id, [Metric("m", 1.5, 9, 4)], [Param("p", "v")], [RunTag("t", "u")])
    (searched,) = tracking.search_runs(["0"], f"attributes.run_id = '{run_id}'", ViewType.ALL)
    one = tracking.get_run(run_id)
    assert searched.to_dictionary() == one.to_dictionary()
    points = [
        sorted((m.key, m.value, m.step, m.timestamp) for m in r.data._metric_objs)
        for r in (searched, one)
    ]
    assert points[0] == points[1] == [("m", 1.5, 4, 9)]
    assert searched.inputs.dataset_inputs
    rows = cb.sql("SELECT name, digest, context FROM datasets WHERE run_id = ?", [run_id])
    assert rows.fetchall() == [("train", "abc123", "training")]
    with pytest.raises(MlflowException) as caught:
        tracking.log_outputs(run_id, [LoggedModelOutput("m-" + "0" * 32, 0)])
    assert code(caught.value) == "RESOURCE_DOES_NOT_EXIST"


# -- logged models -------------------------------------------------------------------


def test_logged_models_live_in_their_runs_folder_with_their_log(tracking, cb, root):
    run_id = new_run(tracking)
    model = tracking.create_logged_model(
        "0", "clf", run_id, [LoggedModelTag("t", "1")], [LoggedModelParameter("C", "0.5")], "agent"
    )
    assert model.status == LoggedModelStatus.PENDING
    assert model.artifact_location == uris.artifacts_uri(root, run_id, "clf")
    assert (model.source_run_id, model.model_type, model.params) == (run_id, "agent", {"C": "0.5"})
    twin = tracking.create_logged_model("0", "clf", run_id)  # a second model of that name
    assert twin.artifact_location == uris.artifacts_uri(root, run_id, f"clf-{twin.model_id}")

    tracking.set_logged_model_tags(model.model_id, [LoggedModelTag("u", "2")])
    tracking.delete_logged_model_tag(model.model_id, "t")
    tracking.log_logged_model_params(model.model_id, [LoggedModelParameter("depth", "3")])
    tracking.log_batch(run_id, [Metric("acc", 0.9, 5, 0, model_id=model.model_id)], [], [])
    done = tracking.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert done.status == LoggedModelStatus.READY
    assert done.tags == {"u": "2"}
    assert done.params == {"C": "0.5", "depth": "3"}
    assert [(m.key, m.value, m.run_id) for m in done.metrics] == [("acc", 0.9, run_id)]
    assert [m.value for m in cb.get_metric_history(run_id, "acc")] == [0.9]
    # MLflow links the run's points to the model it logs by sending them again: kept once.
    tracking.log_batch(run_id, [Metric("acc", 0.9, 5, 0, model_id=twin.model_id)], [], [])
    assert [m.value for m in cb.get_metric_history(run_id, "acc")] == [0.9]

    assert [m.key for m in tracking.get_logged_model(twin.model_id).metrics] == ["acc"]

    found = tracking.search_logged_models(["0"], "metrics.acc > 0.5")
    assert {m.model_id for m in found} == {model.model_id, twin.model_id}
    found = tracking.search_logged_models(["0"], "params.depth = '3'")
    assert [m.model_id for m in found] == [model.model_id]
    named = tracking.search_logged_models(["0"], f"name = 'clf' AND source_run_id = '{run_id}'")
    assert {m.model_id for m in named} == {model.model_id, twin.model_id}
    with pytest.raises(MlflowException) as caught:
        tracking.delete_logged_model_tag(model.model_id, "nope")
    assert code(caught.value) == "RESOURCE_DOES_NOT_EXIST"

    tracking.delete_logged_model(twin.model_id)
    with pytest.raises(MlflowException) as caught:
        tracking.get_logged_model(twin.model_id)
    assert code(caught.value) == "RESOURCE_DOES_NOT_EXIST"
    assert tracking.get_logged_model(twin.model_id, allow_deleted=True).name == "clf"
    assert [m.model_id for m in tracking.search_logged_models(["0"])] == [model.model_id]


def test_a_model_made_outside_a_run_gets_a_run_of_its_own(tracking, cb):
    model = tracking.create_logged_model("0", "loose")
    holder = cb.get_run(model.source_run_id)
    assert holder.info.run_name == "loose"
    assert holder.info.status == "FINISHED"
    assert holder.data.tags["canvasback.logged_model"] == model.model_id


def test_logged_models_are_searched_a_page_at_a_time(tracking):
    run_id = new_run(tracking)
    made = {tracking.create_logged_model("0", f"m{i}", run_id).model_id for i in range(7)}
    found, sizes = walk(tracking.search_logged_models, experiment_ids=["0"], max_results=3)
    assert sorted(m.model_id for m in found) == sorted(made)
    assert sizes == [3, 3, 1]


# -- the artifact repository ---------------------------------------------------------


def test_artifacts_written_through_the_repository_are_indexed(tracking, cb, tmp_path):
    run_id = new_run(tracking)
    local = tmp_path / "model"
    (local / "sub").mkdir(parents=True)
    (local / "MLmodel").write_text("flavors: {}\n")
    (local / "model.pkl").write_bytes(b"x" * 10)
    (local / "sub" / "deep.txt").write_text("deep")
    repo = ArtifactRepository(tracking.get_run(run_id).info.artifact_uri + "/outputs")
    repo.log_artifacts(str(local), "model")
    repo.log_artifact(str(local / "model.pkl"))

    indexed = cb.sql("SELECT path, size FROM artifacts WHERE run_id = ? ORDER BY path", [run_id])
    assert indexed.fetchall() == [
        ("outputs/model.pkl", 10),
        ("outputs/model/MLmodel", 12),
        ("outputs/model/model.pkl", 10),
        ("outputs/model/sub/deep.txt", 4),
    ]
    listed = repo.list_artifacts("model")
    assert [(f.path, f.is_dir) for f in listed] == [
        ("model/sub", True),
        ("model/MLmodel", False),
        ("model/model.pkl", False),
    ]
    (tmp_path / "copy").mkdir()
    copied = repo.download_artifacts("model", str(tmp_path / "copy"))
    assert (tmp_path / "copy" / "model" / "sub" / "deep.txt").read_text() == "deep"
    assert copied == str(tmp_path / "copy" / "model")
    with pytest.raises(MlflowException):
        repo.log_artifact(str(local / "model.pkl"), "../../escape")


def test_files_runs_share_read_through_the_repository_as_each_runs_own(tracking, root, tmp_path):
    canvasback.set_store(root)
    ids = []
    for _ in range(2):
        with canvasback.start_run(capture=["packages"]) as run:
            pass
        ids.append(run.run_id)
    packages, digest = environment.requirements()
    assert [p.name for p in (root / layout.BLOBS_DIR / "sha256").iterdir()] == [digest]
    for run_id in ids:
        repo = ArtifactRepository(tracking.get_run(run_id).info.artifact_uri)
        listed = repo.list_artifacts("environment")
        assert [(f.path, f.is_dir, f.file_size) for f in listed] == [
            ("environment/requirements.txt", False, len(packages))
        ]
        (tmp_path / run_id).mkdir()
        one = repo.download_artifacts("environment/requirements.txt", str(tmp_path / run_id))
        assert Path(one).read_bytes() == packages
        whole = Path(repo.download_artifacts("", str(tmp_path / run_id)))
        assert (whole / "environment" / "requirements.txt").read_bytes() == packages
        tags = tracking.get_run(run_id).data.tags
        assert tags["canvasback.env.packages"] == "environment/requirements.txt"


# -- the registry --------------------------------------------------------------------


def test_the_registry_is_canvasbacks_and_mlflows_prompt_clause_reads_as_mlflows(
    tracking, registry, cb, tmp_path
):
    run_id = new_run(tracking)
    model = tracking.create_logged_model("0", "clf", run_id)
    files = tmp_path / "files"
    files.mkdir()
    (files / "MLmodel").write_text("flavors: {}\n")
    ArtifactRepository(model.artifact_location).log_artifacts(str(files))

    registry.create_registered_model("churn", [RegisteredModelTag("team", "a")], "first")
    with pytest.raises(MlflowException) as caught:
        registry.create_registered_model("churn")
    assert code(caught.value) == "RESOURCE_ALREADY_EXISTS"
    version = registry.create_model_version(
        "churn",
        f"models:/{model.model_id}",
        tags=[ModelVersionTag("v", "1")],
        model_id=model.model_id,
    )
    assert (version.version, version.source, version.run_id) == ("1", f"runs:/{run_id}/clf", run_id)
    assert version.model_id == model.model_id
    registry.set_registered_model_alias("churn", "champion", "1")
    assert registry.get_model_version_by_alias("churn", "champion").version == "1"
    assert [m.to_version for m in cb.get_alias_history("churn", "champion")] == ["1"]
    assert cb.get_model_version("churn", 1).source == f"runs:/{run_id}/clf"
    assert registry.get_model_version_download_uri("churn", "1") == model.artifact_location

    registry.create_registered_model(
        "a-prompt", [RegisteredModelTag("mlflow.prompt.is_prompt", "true")]
    )
    # What MlflowClient.search_registered_models sends: prompts out, models without the tag in.
    plain = registry.search_registered_models("tag.`mlflow.prompt.is_prompt` != 'true'")
    assert [m.name for m in plain] == ["churn"]
    named = registry.search_registered_models(
        "name LIKE 'ch%' AND tag.`mlflow.prompt.is_prompt` != 'true'"
    )
    assert [m.name for m in named] == ["churn"]
    (found,) = named
    assert (found.description, found.tags, found.aliases) == (
        "first",
        {"team": "a"},
        {"champion": "1"},
    )

    copy = registry.copy_model_version(version, "churn-copy")  # MLflow's, over ours
    assert (copy.name, copy.source, copy.run_id) == ("churn-copy", f"runs:/{run_id}/clf", run_id)
    staged = registry.transition_model_version_stage(
        "churn", "1", "Production", archive_existing_versions=False
    )
    assert staged.current_stage == "Production"
    assert [v.version for v in registry.get_latest_versions("churn", ["Production"])] == ["1"]
    registry.delete_registered_model_alias("churn", "champion")
    assert [m.to_version for m in cb.get_alias_history("churn", "champion")] == ["1", None]
    with pytest.raises(MlflowException) as caught:
        registry.get_model_version("churn", "9")
    assert code(caught.value) == "RESOURCE_DOES_NOT_EXIST"


def test_a_protected_alias_or_a_gate_refuses_mlflow_s_move_with_its_reason(registry, cb):
    for source in ("s3://bucket/m1", "s3://bucket/m2"):
        registry.create_model_version("churn", source)
    registry.set_registered_model_alias("churn", "champion", "1")
    cb.protect_alias("churn", "champion")
    with pytest.raises(MlflowException, match="@champion is protected") as caught:
        registry.set_registered_model_alias("churn", "champion", "2")
    assert code(caught.value) == "INVALID_STATE"
    with pytest.raises(MlflowException, match="@champion is protected"):
        registry.delete_registered_model_alias("churn", "champion")
    cb.set_alias_gate("churn", "challenger", "staged", "tags.stage = 'ok'")
    with pytest.raises(MlflowException, match=r"tags\.stage is missing") as caught:
        registry.set_registered_model_alias("churn", "challenger", "2")
    assert code(caught.value) == "INVALID_STATE"
    assert registry.get_model_version_by_alias("churn", "champion").version == "1"


def test_registry_searches_walk_every_model_and_version_once(registry):
    for i in range(7):
        registry.create_registered_model(f"model-{i}")
        registry.create_model_version(f"model-{i}", f"s3://bucket/m{i}")
    models, sizes = walk(registry.search_registered_models, max_results=3)
    assert [m.name for m in models] == [f"model-{i}" for i in range(7)]
    assert sizes == [3, 3, 1]
    versions, sizes = walk(
        registry.search_model_versions, filter_string="name LIKE 'model-%'", max_results=4
    )
    assert sorted(v.source for v in versions) == [f"s3://bucket/m{i}" for i in range(7)]
    assert sizes == [4, 3]


# -- URIs ----------------------------------------------------------------------------


def test_store_uris_absolute_relative_and_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert uris.store_root("canvasback:///abs/my%20store") == Path("/abs/my store")
    assert uris.store_root("canvasback:rel/store") == tmp_path / "rel" / "store"
    assert uris.store_uri(Path("/abs/my store")) == "canvasback:///abs/my%20store"
    for bad in ("canvasback://host/x", "canvasback:///x?q=1", "file:///x", "canvasback:"):
        with pytest.raises(MlflowException, match="canvasback") as caught:
            uris.store_root(bad)
        assert code(caught.value) == "INVALID_PARAMETER_VALUE"


def test_s3_store_uris_name_a_bucket_and_prefix_and_its_runs_artifacts():
    root = uris.store_root("canvasback:s3://team-runs/vision")
    assert root == S3Address("team-runs", "vision")
    assert uris.store_root("canvasback:s3://team-runs") == S3Address("team-runs", "")
    assert uris.store_uri(root) == "canvasback:s3://team-runs/vision"
    assert uris.artifacts_uri(root) == "canvasback:s3://team-runs/vision/artifacts"
    uri = uris.artifacts_uri(root, "ab12", "model/sub")
    assert uri == "canvasback:s3://team-runs/vision/artifacts/ab12/model/sub"
    other = S3Address("team-runs", "vision/artifacts/ab12")  # a store inside a run's files
    for given in (uri, uri.replace("s3://", "s3:/")):  # as MLflow may join it
        location = uris.artifact_location(given, [other, root])
        assert (location.root, location.run_id, location.path) == (root, "ab12", "model/sub")
    for bad in (
        "canvasback:s3://team..runs/vision",  # no bucket's name
        "canvasback:s3://team-runs/vision?versionId=1",
        "canvasback://team-runs/vision",
    ):
        with pytest.raises(MlflowException, match="canvasback") as caught:
            uris.store_root(bad)
        assert code(caught.value) == "INVALID_PARAMETER_VALUE"
    for bad, why in (
        (uris.artifacts_uri(root), "names no run's artifacts"),  # the store's, no run's
        (uri.replace("/artifacts/ab12", "/artifacts/ab12/../cd34"), "'..' component"),
    ):
        with pytest.raises(MlflowException, match=why):
            uris.artifact_location(bad, [root])


def test_artifact_uris_in_both_of_mlflows_forms_name_the_run_and_path(tracking, root):
    run_id = new_run(tracking)
    uri = tracking.get_run(run_id).info.artifact_uri
    joined = uri.replace("canvasback:///", "canvasback:/") + "/model/sub"  # as MLflow joins
    for given, path in ((uri, ""), (joined, "model/sub")):
        location = uris.artifact_location(given, [])  # found by the store's claims folder
        assert (location.root, location.run_id, location.path) == (root, run_id, path)
    elsewhere = uris.store_uri(root.parent / "not-a-store" / "artifacts" / run_id)
    with pytest.raises(MlflowException, match="names no run's artifacts"):
        uris.artifact_location(elsewhere, [])
    with pytest.raises(MlflowException, match="names no run's artifacts"):
        uris.artifact_location(uris.artifacts_uri(root), [root])  # the store's, no run's


def test_canvasbacks_own_logged_models_are_mlflows_and_a_purged_ones_gone(tracking, cb, root):
    canvasback.set_store(root)
    with canvasback.start_run(live=False) as run:
        info = canvasback.sklearn.log_model(LinearRegression().fit([[0], [1]], [0, 1]), name="lin")
    found = tracking.get_logged_model(info.model_id)
    assert (found.name, found.source_run_id, found.status) == ("lin", run.info.run_id, "READY")
    assert found.experiment_id == run.info.experiment_id
    assert found.artifact_location == uris.artifacts_uri(root, run.info.run_id, "lin")
    assert [m.model_id for m in tracking.search_logged_models(["0"])] == [info.model_id]
    cb.delete_run(run.info.run_id)
    cb.compact(purge_deleted=True, grace_seconds=0)
    assert list(tracking.search_logged_models(["0"])) == []
    with pytest.raises(MlflowException) as caught:
        tracking.get_logged_model(info.model_id)
    assert code(caught.value) == "RESOURCE_DOES_NOT_EXIST"


def test_canvasbacks_own_logged_model_is_its_runs_output_tagged_with_its_versions(
    tracking, cb, root
):
    """MLflow's UI lists a run's models by its outputs, and shows them registered by the
    versions tag MLflow's register_model sets: canvasback's registry is the source."""
    canvasback.set_store(root)
    with canvasback.start_run(live=False) as run:
        info = canvasback.sklearn.log_model(LinearRegression().fit([[0], [1]], [0, 1]), name="lin")
    outputs = tracking.get_run(run.info.run_id).outputs.model_outputs
    assert [(m.model_id, m.step) for m in outputs] == [(info.model_id, 0)]
    assert "mlflow.modelVersions" not in tracking.get_logged_model(info.model_id).tags
    cb.register_model(info.model_uri, "lin-reg")
    cb.register_model(f"runs:/{run.info.run_id}/lin", "lin-reg")
    registered = [{"name": "lin-reg", "version": "1"}, {"name": "lin-reg", "version": "2"}]
    found = tracking.get_logged_model(info.model_id)
    assert json.loads(found.tags["mlflow.modelVersions"]) == registered
    (searched,) = tracking.search_logged_models(["0"])
    assert json.loads(searched.tags["mlflow.modelVersions"]) == registered
    cb.delete_model_version("lin-reg", 1)
    found = tracking.get_logged_model(info.model_id)
    assert json.loads(found.tags["mlflow.modelVersions"]) == registered[1:]


@pytest.mark.parametrize("user_id", [None, "someone"])
def test_a_created_and_an_ended_run_are_answered_as_a_read_of_them_would_be(tracking, user_id):
    """create_run and update_run_info answer from the client's handle, not a read back
    (MLflow calls both for every run): what they return is what get_run reads after."""
    parent = tracking.create_run("0", user_id, None, [], "parent")
    tags = [RunTag("team", "vision"), RunTag("mlflow.parentRunId", parent.info.run_id)]
    created = tracking.create_run("0", user_id, 1_000, tags, "child")
    read = tracking.get_run(created.info.run_id)
    assert created.info.to_proto() == read.info.to_proto()
    assert created.data.tags == read.data.tags
    assert created.data.tags["mlflow.runName"] == "child"
    assert created.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert created.data.tags["mlflow.user"] == read.info.user_id == (user_id or read.info.user_id)
    ended = tracking.update_run_info(created.info.run_id, RunStatus.KILLED, 5_000, None)
    assert (ended.status, ended.end_time) == ("KILLED", 5_000)
    assert ended.to_proto() == tracking.get_run(created.info.run_id).info.to_proto()
