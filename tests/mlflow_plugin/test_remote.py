"""A team server: ``mlflow server`` on a canvasback store, logged to over HTTP.

MLflow's server is started as the README says
(``--backend-store-uri canvasback:///<store> --artifacts-destination canvasback:///<store>``,
on a free port of 127.0.0.1) in a folder of its own. A client in another process, as on
another machine, knows only the server's URL: its working folder, home and temporary
folder are others, and its environment names no store. It logs params, metrics, a file
and a scikit-learn model, registers the model and loads it back through the server.
canvasback then reads all of it from the store in this process: the run, its files
(indexed, where the run table's detail and ``sql()`` see them), the logged model and the
registered versions; and nothing landed outside the store.

Started without ``--artifacts-destination``, the server hands out the store's folder
(which only its own machine reaches) and its log says the command that serves others.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from sklearn.datasets import load_iris

import canvasback
from canvasback.mlflow_plugin import uris
from canvasback.query import run_stats
from canvasback.query.run_set import RunSet

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow  # MLflow's server and a client in child processes

CLIENT = """
import json, os, sys
import mlflow
from mlflow import MlflowClient
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

features, labels = load_iris(return_X_y=True)
client = MlflowClient()
mlflow.set_experiment("remote")
with mlflow.start_run(run_name="from-afar") as run:
    mlflow.log_param("C", 0.5)
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    with open("notes.txt", "w") as notes:
        notes.write("trained elsewhere")
    mlflow.log_artifact("notes.txt", "reports")
    model = LogisticRegression(max_iter=300).fit(features, labels)
    info = mlflow.sklearn.log_model(model, name="model")
run_id = run.info.run_id
version = mlflow.register_model(info.model_uri, "remote-clf")
client.set_registered_model_alias("remote-clf", "champion", version.version)
artifact_uri = client.get_run(run_id).info.artifact_uri
# A version made from the folder the server handed out, as older scripts register.
second = client.create_model_version("remote-clf", artifact_uri + "/model", run_id=run_id)
loaded = mlflow.pyfunc.load_model("models:/remote-clf@champion")
from canvasback.mlflow_plugin import clients  # installed here too: was it ever used?
print(json.dumps({
    "run_id": run_id,
    "model_id": info.model_id,
    "versions": [version.version, second.version],
    "artifact_uri": artifact_uri,
    "experiment": client.get_experiment(run.info.experiment_id).artifact_location,
    "model_location": client.get_logged_model(info.model_id).artifact_location,
    "download_uri": client.get_model_version_download_uri("remote-clf", second.version),
    "repository": type(get_artifact_repository(artifact_uri)).__name__,
    "listed": sorted(f.path for f in client.list_artifacts(run_id, "reports")),
    "predicted": loaded.predict(features[:10]).tolist(),
    "expected": model.predict(features[:10]).tolist(),
    "stores_opened_here": [str(p) for p in clients.known_roots()],
}))
"""


@dataclass
class Team:
    """A server on a store, and a client's folder elsewhere."""

    store: Path
    server_folder: Path
    client_folder: Path
    url: str
    log: Path

    def client(self, code: str, env: dict[str, str]) -> dict[str, Any]:
        """Run ``code`` as the client does: its own folders, the server's URL only."""
        script = self.client_folder / "client.py"
        script.write_text(textwrap.dedent(code))
        env = {**env, "HOME": str(self.client_folder / "home")}
        env["TMPDIR"] = str(self.client_folder / "tmp")
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=self.client_folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"the client failed:\n{done.stderr[-3000:]}\nserver:\n{self.tail()}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    def tail(self) -> str:
        return self.log.read_text()[-3000:]


def serve(tmp_path: Path, helpers: Any, env: dict[str, str], *flags: str) -> Iterator[Team]:
    """``mlflow server`` on a new store with ``flags``, until it answers; stopped after."""
    free_port, running_server = helpers
    store = tmp_path / "store"
    server_folder, client_folder = tmp_path / "server", tmp_path / "client"
    for folder in (server_folder, client_folder):
        (folder / "home").mkdir(parents=True)
        (folder / "tmp").mkdir()
    port = free_port()
    args = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uris.store_uri(store)]
    args += [*flags, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    url = f"http://127.0.0.1:{port}"
    server_env = {**env, "HOME": str(server_folder / "home"), "TMPDIR": str(server_folder / "tmp")}
    with running_server(args, f"{url}/health", env=server_env, cwd=server_folder) as log:
        yield Team(store, server_folder, client_folder, url, log)


@pytest.fixture
def team(tmp_path, mlflow_entry_points, mlflow_env, server_helpers) -> Iterator[Team]:
    store = uris.store_uri(tmp_path / "store")
    env = mlflow_env(mlflow_entry_points)
    yield from serve(tmp_path, server_helpers, env, "--artifacts-destination", store)


@pytest.fixture
def unproxied(tmp_path, mlflow_entry_points, mlflow_env, server_helpers) -> Iterator[Team]:
    env = mlflow_env(mlflow_entry_points)
    yield from serve(tmp_path, server_helpers, env)


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_a_client_elsewhere_logs_runs_files_and_models_into_the_store(
    team, mlflow_entry_points, mlflow_env
):
    found = team.client(CLIENT, mlflow_env(mlflow_entry_points, team.url))
    run_id, model_id = found["run_id"], found["model_id"]

    # The client was handed the server's proxy only, and never opened a store itself.
    assert found["artifact_uri"] == f"mlflow-artifacts:/artifacts/{run_id}"
    assert found["experiment"] == "mlflow-artifacts:/artifacts"
    assert found["model_location"] == f"mlflow-artifacts:/artifacts/{run_id}/model"
    assert found["download_uri"] == found["model_location"]
    assert found["repository"] == "MlflowArtifactsRepository"
    assert found["stores_opened_here"] == []
    assert found["listed"] == ["reports/notes.txt"]
    assert found["predicted"] == found["expected"]

    # canvasback reads it all from the store.
    cb = canvasback.Client(team.store)
    run = cb.get_run(run_id)
    assert (run.info.run_name, run.info.status) == ("from-afar", "FINISHED")
    assert run.data.params == {"C": "0.5"}
    assert [m.value for m in cb.get_metric_history(run_id, "loss")] == [1.0, 0.5, 1.0 / 3]
    model_files = {"MLmodel", "model.skops", "conda.yaml", "python_env.yaml", "requirements.txt"}
    expected = {"reports/notes.txt"} | {f"model/{name}" for name in model_files}
    indexed = cb.sql("SELECT path, size FROM artifacts WHERE run_id = ?", [run_id]).fetchall()
    on_disk = files_under(team.store / "artifacts" / run_id)
    assert {path for path, _ in indexed} == on_disk == expected
    assert dict(indexed)["reports/notes.txt"] == len("trained elsewhere")
    assert [f.path for f in cb.list_artifacts(run_id, "reports")] == ["reports/notes.txt"]
    runs = RunSet(cb.store)
    try:
        runs.refresh()
        detail, _ = run_stats.run_detail(runs, run_id)
    finally:
        runs.close()
    assert {a["path"] for a in detail["artifacts"]} == expected

    assert cb.get_logged_model(model_id).status == "READY"
    versions = [cb.get_model_version("remote-clf", v) for v in found["versions"]]
    assert [(v.version, v.source, v.run_id) for v in versions] == [
        ("1", f"runs:/{run_id}/model", run_id),
        ("2", f"runs:/{run_id}/model", run_id),
    ]
    assert cb.get_model_version_by_alias("remote-clf", "champion").version == "1"
    features, _ = load_iris(return_X_y=True)
    canvasback.set_store(team.store)
    local = canvasback.sklearn.load_model("models:/remote-clf@champion")
    assert local.predict(features[:10]).tolist() == found["expected"]

    # Nothing outside the store: the server's folder (its working folder, home and
    # temporary folder) holds its log only, and the client's what the client wrote itself.
    assert files_under(team.server_folder) == {"server.log"}
    written = {p for p in files_under(team.client_folder) if not p.startswith("tmp/")}
    assert written == {"client.py", "notes.txt"}  # tmp/: MLflow's copy of the model it loaded


def test_a_server_that_does_not_proxy_into_the_store_hands_out_its_folder_and_says_so(
    unproxied, mlflow_entry_points, mlflow_env
):
    found = unproxied.client(
        """
        import json, mlflow
        run = mlflow.MlflowClient().create_run("0")
        print(json.dumps({"artifact_uri": run.info.artifact_uri}))
        """,
        mlflow_env(mlflow_entry_points, unproxied.url),
    )
    assert found["artifact_uri"].startswith(uris.artifacts_uri(unproxied.store))
    store = uris.store_uri(unproxied.store)
    assert (
        f"To serve other machines, start it as: mlflow server --backend-store-uri {store} "
        f"--artifacts-destination {store}"
    ) in unproxied.log.read_text()
