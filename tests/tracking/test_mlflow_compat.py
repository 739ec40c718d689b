"""Code written for MLflow runs with ``import canvasback as mlflow``: names, paths, aliases."""

from __future__ import annotations

import json

import pytest

import canvasback as mlflow
from canvasback.store import Store

SCRIPT = """
import json
import sys
from pathlib import Path

import canvasback as mlflow
from canvasback.entities import Metric, Param, RunTag, ViewType
from canvasback.exceptions import MlflowException
from canvasback.tracking import MlflowClient

mlflow.set_tracking_uri(Path(sys.argv[1]).as_uri())
out = {"uri": mlflow.get_tracking_uri()}
experiment_id = mlflow.create_experiment("compat", None, {"team": "vision"})
mlflow.set_experiment("compat")
mlflow.set_experiment_tags({"stage": "dev"})
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_param("lr", 0.01, synchronous=True)
    mlflow.log_metrics({"acc": 0.9, "loss": 0.1}, step=1, synchronous=True)
    mlflow.set_tag("kind", "baseline")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("acc", 0.95, step=2)
        mlflow.log_text("hello", "notes/readme.txt")
        out["artifact_uri"] = mlflow.get_artifact_uri("notes/readme.txt")
client = MlflowClient()
client.log_batch(
    parent.info.run_id,
    metrics=[Metric("f1", 0.5, 0, 0)],
    params=[Param("opt", "adam")],
    tags=[RunTag("note", "x")],
)
out["parent_of_child"] = mlflow.get_parent_run(child.info.run_id).info.run_id
out["parent"] = parent.info.run_id
out["experiment"] = client.get_experiment(experiment_id).tags
out["location"] = client.get_experiment(experiment_id).artifact_location
out["deleted_view"] = len(mlflow.search_runs(run_view_type=ViewType.DELETED_ONLY))
out["local"] = mlflow.artifacts.download_artifacts(f"runs:/{child.info.run_id}/notes/readme.txt")
try:
    mlflow.search_runs(filter_string="metrics.acc >")
except MlflowException as exc:
    out["error"] = exc.error_code
print(json.dumps(out))
"""


def test_an_mlflow_style_script_runs_unchanged(run_python, tmp_path):
    root = tmp_path / "store"
    result = run_python(SCRIPT, root)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["uri"] == root.as_uri()
    assert out["parent_of_child"] == out["parent"]
    assert out["experiment"] == {"team": "vision", "stage": "dev"}
    assert out["location"] == (root / "artifacts").as_uri()
    assert out["artifact_uri"].startswith(root.as_uri())
    assert out["artifact_uri"].endswith("/notes/readme.txt")
    assert out["deleted_view"] == 0
    assert open(out["local"]).read() == "hello"  # noqa: PTH123, SIM115 - a plain read
    assert out["error"] == "INVALID_PARAMETER_VALUE"
    mlflow.set_store(root)
    parent = mlflow.get_run(out["parent"])
    assert parent.data.params == {"lr": "0.01", "opt": "adam"}
    assert parent.data.metrics == {"acc": 0.9, "loss": 0.1, "f1": 0.5}
    tags = parent.data.tags
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.name"].endswith(".py")
    assert tags["mlflow.user"]
    assert {tags["kind"], tags["note"]} == {"baseline", "x"}


@pytest.fixture
def runs(store):
    del store  # the fresh store the runs go to
    mlflow.set_experiment("grammar")
    for i, status in enumerate(("FINISHED", "FAILED")):
        with mlflow.start_run(run_name=f"run {i}", params={"lr": str(0.1 * (i + 1))}) as run:
            mlflow.log_metric("acc", 0.5 + i / 10)
        if status == "FAILED":
            mlflow.Client().set_terminated(run.run_id, "FAILED")


@pytest.mark.usefixtures("runs")
@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("attributes.status = 'ACTIVE'", []),
        ("run.status = 'FAILED'", ["run 1"]),
        ("parameters.lr = '0.1'", ["run 0"]),
        ("parameter.lr = '0.2'", ["run 1"]),
        ("param.lr = '0.1'", ["run 0"]),
        ("metric.acc > 0.55", ["run 1"]),
        ("tag.mlflow.runName = 'run 0'", ["run 0"]),
        ("attributes.`run name` = 'run 1'", ["run 1"]),
        ("attributes.`Run name` = 'run 0'", ["run 0"]),
        ("attr.run_name LIKE 'run %'", ["run 0", "run 1"]),
        ("run_name = 'run 0'", ["run 0"]),
        ("attributes.created > 0", ["run 0", "run 1"]),
        ("attributes.Created > 0", ["run 0", "run 1"]),
        ("attributes.user_id != ''", ["run 0", "run 1"]),
        ("attributes.artifact_uri LIKE '%artifacts%'", ["run 0", "run 1"]),
    ],
)
def test_mlflow_s_search_aliases(filter_string, expected):
    frame = mlflow.search_runs(filter_string=filter_string)
    assert sorted(frame["run_name"]) == expected


@pytest.mark.usefixtures("runs")
def test_unknown_experiment_names_are_said_and_skipped():
    with pytest.warns(UserWarning, match="No experiment named 'does-not-exist'"):
        frame = mlflow.search_runs(experiment_names=["does-not-exist"])
    assert frame.empty
    assert "run_id" in frame.columns
    with pytest.warns(UserWarning, match="does-not-exist"):
        both = mlflow.search_runs(experiment_names=["does-not-exist", "grammar"])
    assert len(both) == 2


def test_synchronous_logging_is_on_disk_when_it_returns(store):
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0, step=3, synchronous=True)
        # A second store object shares nothing with this process's writer or catalog.
        seen = (
            Store(store)
            .read()
            .relation("SELECT step, value FROM metrics WHERE run_id = ?", [run.run_id])
        )
        assert seen.fetchall() == [(3, 1.0)]
        mlflow.set_tag("t", "v", synchronous=True)
        tags = Store(store).read().relation("SELECT value FROM tags WHERE key = 't'")
        assert tags.fetchall() == [("v",)]


@pytest.mark.parametrize("uri", ["http://localhost:5000", "databricks", "sqlite:///mlflow.db"])
def test_a_server_tracking_uri_is_a_clear_error(uri):
    with pytest.raises(
        mlflow.exceptions.MlflowException, match=r"not a local store.*canvasback import-mlflow"
    ):
        mlflow.set_tracking_uri(uri)


def test_the_experiment_comes_from_mlflow_s_environment(run_python, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    result = run_python(
        """
        import sys
        import canvasback as mlflow
        mlflow.set_tracking_uri(sys.argv[1])
        with mlflow.start_run() as run:
            pass
        print(mlflow.get_experiment(run.info.experiment_id).name)
        """,
        tmp_path / "store",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-env"


@pytest.mark.usefixtures("store")
def test_rename_experiment_frees_the_old_name():
    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment("before")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        pass
    client.rename_experiment(experiment_id, "after")
    assert client.get_experiment(experiment_id).name == "after"
    assert mlflow.get_experiment_by_name("after").experiment_id == experiment_id
    assert mlflow.get_experiment_by_name("before") is None
    assert mlflow.search_runs(experiment_names=["after"])["run_id"].tolist() == [run.run_id]
    fresh = Store(client.store.root).read()
    names = fresh.relation("SELECT name FROM experiments WHERE experiment_id = ?", [experiment_id])
    assert names.fetchall() == [("after",)]
    assert client.create_experiment("before") != experiment_id  # the old name is free again
    with pytest.raises(mlflow.InvalidInputError, match="'after' already exists"):
        client.rename_experiment(client.create_experiment("third"), "after")


@pytest.mark.usefixtures("store")
def test_log_image_by_key_and_step():
    np = pytest.importorskip("numpy")
    with mlflow.start_run() as run:
        for step in range(3):
            mlflow.log_image(np.full((4, 4), step / 2), key="samples", step=step)
        with pytest.raises(mlflow.InvalidInputError, match="not both nor neither"):
            mlflow.log_image(np.zeros((2, 2)))
        with pytest.raises(mlflow.InvalidInputError, match="image name"):
            mlflow.log_image(np.zeros((2, 2)), key="../escape")
    files = [f.path for f in mlflow.Client().list_artifacts(run.run_id, "images/samples")]
    assert [p.split("/")[-1][:13] for p in files] == [f"step_{s:08d}" for s in range(3)]
    assert all(p.endswith(".png") for p in files)


@pytest.mark.usefixtures("store")
def test_load_table_across_runs():
    mlflow.set_experiment("tables")
    ids = []
    for i in range(2):
        with mlflow.start_run() as run:
            mlflow.log_table({"x": [i, i + 1], "y": ["a", "b"]}, "eval.json")
            ids.append(run.run_id)
    with mlflow.start_run():
        pass  # a run without the table
    table = mlflow.load_table("eval.json", extra_columns=["run_id"])
    assert sorted(table["x"].tolist()) == [0, 1, 1, 2]
    assert sorted(set(table["run_id"])) == sorted(ids)
    one = mlflow.load_table("eval.json", run_ids=[ids[0]])
    assert one["x"].tolist() == [0, 1]
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        mlflow.load_table("missing.json")


@pytest.mark.usefixtures("store")
def test_search_experiments_with_mlflow_s_filters_and_order():
    client = mlflow.MlflowClient()
    ids = {}
    for name, team in (("cv-resnet", "vision"), ("cv-vit", "vision"), ("nlp-bert", "text")):
        ids[name] = client.create_experiment(name, tags={"team": team})
    client.set_experiment_tag(ids["cv-resnet"], "stage", "prod")  # updated last

    def names(**kwargs):
        return [e.name for e in mlflow.search_experiments(**kwargs)]

    assert names(filter_string="name LIKE 'cv-%'") == ["cv-resnet", "cv-vit"]
    assert names(filter_string="tags.team = 'text'") == ["nlp-bert"]
    assert names(filter_string="attribute.name = 'cv-vit' OR tags.stage = 'prod'") == [
        "cv-resnet",
        "cv-vit",
    ]
    assert names(filter_string="name != 'Default'", order_by=["name DESC"]) == [
        "nlp-bert",
        "cv-vit",
        "cv-resnet",
    ]
    latest = mlflow.search_experiments(order_by=["last_update_time DESC"], max_results=1)
    assert [e.name for e in latest] == ["cv-resnet"]
    assert latest[0].last_update_time >= latest[0].creation_time
    assert names(filter_string="creation_time > 0 and tags.team = 'vision'") == [
        "cv-resnet",
        "cv-vit",
    ]
    with pytest.raises(mlflow.FilterError, match="not searchable here"):
        mlflow.search_experiments(filter_string="metrics.acc > 1")
    with pytest.raises(mlflow.FilterError, match="unknown attribute 'status'"):
        mlflow.search_experiments(filter_string="status = 'x'")


def test_the_experiment_id_comes_from_mlflow_s_environment(run_python, tmp_path, monkeypatch):
    root = tmp_path / "store"
    mlflow.set_store(root)
    experiment_id = mlflow.create_experiment("by-id")
    mlflow.flush()
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
    result = run_python(
        """
        import sys
        import canvasback as mlflow
        mlflow.set_tracking_uri(sys.argv[1])
        with mlflow.start_run() as run:
            pass
        print(run.info.experiment_id)
        """,
        root,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == experiment_id


@pytest.mark.usefixtures("store")
def test_download_artifacts_by_run_id_and_path(tmp_path):
    with mlflow.start_run() as run:
        mlflow.log_text("one", "out/a.txt")
        mlflow.log_text("two", "out/b.txt")
    local = mlflow.artifacts.download_artifacts(
        run_id=run.run_id, artifact_path="out", dst_path=str(tmp_path / "dst")
    )
    assert sorted(p.name for p in (tmp_path / "dst").rglob("*.txt")) == ["a.txt", "b.txt"]
    assert local.startswith(str(tmp_path / "dst"))
    uri = mlflow.get_run(run.run_id).info.artifact_uri + "/out/a.txt"
    assert open(mlflow.artifacts.download_artifacts(uri)).read() == "one"  # noqa: PTH123, SIM115
    listed = mlflow.artifacts.list_artifacts(f"runs:/{run.run_id}/out")
    assert [f.path for f in listed] == ["out/a.txt", "out/b.txt"]
    with pytest.raises(ValueError, match="not both"):
        mlflow.artifacts.download_artifacts(f"runs:/{run.run_id}/out", run_id=run.run_id)
