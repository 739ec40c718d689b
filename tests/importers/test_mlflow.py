"""MLflow stores moved into canvasback, compared field by field with what MLflow reads.

Real MLflow (3.18, in child processes) writes a SQLite store and a file store (a
``mlruns`` folder: MLflow 3.18 still writes one with ``MLFLOW_ALLOW_FILE_STORE``), with
nested runs, a 100,000-point history, datasets, artifacts, logged models and a
registered model with versions, a deleted version, aliases, a stage and tags; MLflow
then reads each store back into JSON, and the import must hold the same, field by field.
A second import doubles nothing; an import killed with SIGKILL and run again is exact,
and so is one through a tracking server that answers 500 halfway.

MLflow writes every store of this module once, two child processes at once (a SQLite
one, a file one; the second also writes through the server): the full stores, and small
ones of the same content for the kill tests and the server, whose point is exactness
after a resume, not volume. The stores are only read; a test that alters one copies it.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import mlflow  # noqa: F401  # in the test extra: missing, the module fails (no skip)
import pytest

import canvasback as cb
from canvasback.importers import SourceNotFoundError, SourceReadError
from canvasback.importers.writer import MARKER

pytestmark = pytest.mark.slow  # real MLflow in child processes, seconds each

POINTS = 100_000
SMALL = 2_000  # two of MLflow's batches: the small stores (kills, the server)

MLFLOW_SIDE = r"""
import hashlib, json, os, sys, tempfile, time, urllib.request, warnings

warnings.simplefilter("ignore")
from pathlib import Path
import pandas as pd
import mlflow
import sklearn
from mlflow import MlflowClient
from mlflow.entities import Metric, ViewType
from sklearn.linear_model import LogisticRegression

# Given, so that MLflow does not infer them in a child process of its own per model.
REQUIREMENTS = [f"scikit-learn=={sklearn.__version__}"]

def files(folder):
    root = Path(folder)
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}

def artifacts(client, run_id):
    if not client.list_artifacts(run_id):
        return {}
    return files(client.download_artifacts(run_id, "", dst_path=tempfile.mkdtemp()))


def write(uri, points):
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient()
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    y = [0, 0, 1, 1]
    T0 = 1_700_000_000_000

    exp = mlflow.set_experiment("digits")
    client.set_experiment_tag(exp.experiment_id, "team", "vision")
    with mlflow.start_run(run_name="sweep") as parent:
        run_id = parent.info.run_id
        mlflow.log_params({"lr": 0.1, "depth": 3, "optimizer": "adam"})
        mlflow.set_tags({"stage": "tuning", "data/version": "v2"})
        data = mlflow.data.from_pandas(x.assign(y=y), source="train.csv", name="train", targets="y")
        mlflow.log_input(data, context="training")
        mlflow.log_text("hello\n", "notes/readme.txt")
        mlflow.log_dict({"a": 1}, "config/params.json")
        specials = [float("nan"), float("inf"), -0.5, -0.5]
        client.log_batch(run_id, [Metric("special", v, T0 + i, i) for i, v in enumerate(specials)])
        for start in range(0, points, 1000):
            batch = range(start, min(points, start + 1000))
            client.log_batch(run_id, [Metric("train/loss", 1 / (i + 1), T0 + i, i) for i in batch])
        first = mlflow.sklearn.log_model(LogisticRegression().fit(x, y), name="model",
                                         registered_model_name="digits-clf",
                                         pip_requirements=REQUIREMENTS)
        for i in range(2):
            with mlflow.start_run(run_name=f"trial-{i}", nested=True):
                mlflow.log_param("seed", i)
                mlflow.log_metric("acc", 0.5 + i / 10, step=1)
                mlflow.log_metric("acc", 0.6 + i / 10, step=2)
                if i == 1:
                    mlflow.sklearn.log_model(LogisticRegression(C=0.5).fit(x, y), name="model",
                                             registered_model_name="digits-clf",
                                             pip_requirements=REQUIREMENTS)
    failed = client.create_run(exp.experiment_id, run_name="broken", tags={"why": "oom"})
    client.log_param(failed.info.run_id, "batch", 4096)
    client.set_terminated(failed.info.run_id, "FAILED")
    gone = client.create_run(exp.experiment_id, run_name="discarded")
    client.set_terminated(gone.info.run_id)
    client.delete_run(gone.info.run_id)
    old = client.create_experiment("old-ideas", tags={"kind": "archive"})
    with mlflow.start_run(experiment_id=old, run_name="abandoned"):
        mlflow.log_metric("x", 1.0)
    client.delete_experiment(old)

    name = "digits-clf"
    third = client.create_model_version(name, f"models:/{first.model_id}", run_id=run_id,
                                        model_id=first.model_id)
    client.delete_model_version(name, third.version)  # a number given and taken back
    client.create_model_version(name, f"runs:/{run_id}/config", run_id=run_id,
                                description="the config folder", tags={"kind": "config"})
    client.set_registered_model_alias(name, "champion", 2)
    client.set_registered_model_alias(name, "previous", 1)
    client.set_registered_model_tag(name, "owner", "vision")
    client.update_registered_model(name, description="classifies digits")
    client.set_model_version_tag(name, 1, "validated", "yes")
    client.update_model_version(name, 2, description="smaller C")
    client.transition_model_version_stage(name, 1, "Archived")


def read(uri, out):
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    dump = {"experiments": {}, "runs": {}, "models": {}, "registry": {}}
    for e in client.search_experiments(view_type=ViewType.ALL):
        dump["experiments"][e.name] = {"id": e.experiment_id, "lifecycle": e.lifecycle_stage,
                                       "tags": dict(e.tags)}
        for r in client.search_runs([e.experiment_id], run_view_type=ViewType.ALL):
            i = r.info
            dump["runs"][i.run_id] = {
                "experiment": e.name, "name": i.run_name, "status": i.status,
                "start_time": i.start_time, "end_time": i.end_time, "lifecycle": i.lifecycle_stage,
                "user": i.user_id, "parent": r.data.tags.get("mlflow.parentRunId"),
                "params": r.data.params, "tags": r.data.tags,
                "metrics": {k: sorted([m.step, m.timestamp, repr(m.value)]
                                      for m in client.get_metric_history(i.run_id, k))
                            for k in r.data.metrics},
                "datasets": sorted(
                    [d.dataset.name, d.dataset.digest,
                     next((t.value for t in d.tags if t.key == "mlflow.data.context"), ""),
                     d.dataset.source_type, d.dataset.source, json.loads(d.dataset.schema),
                     json.loads(d.dataset.profile)] for d in r.inputs.dataset_inputs),
                "artifacts": artifacts(client, i.run_id),
            }
        for m in client.search_logged_models([e.experiment_id]):
            folder = mlflow.artifacts.download_artifacts(
                artifact_uri=m.artifact_location, dst_path=tempfile.mkdtemp(), tracking_uri=uri)
            dump["models"][m.model_id] = {"run": m.source_run_id, "name": m.name,
                                          "files": files(folder)}
    for rm in client.search_registered_models():
        versions = client.search_model_versions(f"name = '{rm.name}'")
        dump["registry"][rm.name] = {
            "description": rm.description or None, "tags": rm.tags,
            "aliases": {a: int(v) for a, v in rm.aliases.items()},
            "versions": {str(v.version): {"run_id": v.run_id, "stage": v.current_stage,
                                          "description": v.description or None, "tags": v.tags,
                                          "status": v.status, "source": v.source}
                         for v in versions}}
    Path(out).write_text(json.dumps(dump))


def wait_for_server(uri):
    deadline = time.monotonic() + 300
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"the MLflow server at {uri} did not answer /health in 300 s")
        time.sleep(0.1)


# Arguments: uri, points, out, for each store; each one is written, then read into out.
for uri, points, out in zip(*[iter(sys.argv[1:])] * 3):
    os.chdir(Path(out).parent)  # where MLflow puts a SQLite store's artifacts
    if uri.startswith("http"):
        wait_for_server(uri)
    write(uri, int(points))
    read(uri, out)
"""


@dataclass(frozen=True)
class Written:
    """A store MLflow was to write: its URI (as a user names it) and MLflow's reading of it."""

    uri: str
    dump: dict | None
    error: str = ""
    """Why there is no reading: the child's error (and the server's log)."""


def _store_uri(folder: Path, kind: str) -> tuple[str, str]:
    """(the URI canvasback is given, the URI MLflow writes to) of a store in ``folder``."""
    if kind == "sqlite":
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        return uri, uri
    return str(folder / "mlruns"), (folder / "mlruns").as_uri()


def _child_env() -> dict[str, str]:
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)  # MLflow's side needs nothing of canvasback
    return env


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` over a SQLite store: (URI, process, log); stopped at the end.

    Started, not waited for: the child that writes through it waits for its /health.
    MLflow's job runner (eight more processes, each loading MLflow) stays off: no test
    here runs a job.
    """
    folder = tmp_path_factory.mktemp("server")
    port = _free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'server.db'}",
            "--artifacts-destination",
            str(folder / "server-artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=folder,
        env={**_child_env(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}", server, folder / "server.log"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def written(tmp_path_factory, mlflow_server) -> dict[str, Written]:
    """Every store this module reads, written (and read back) by MLflow once.

    Two children at once: one writes the SQLite stores, the other the file stores, then
    the server's. A store whose writing failed has no reading; the test that asks for it
    fails with the child's error.
    """
    root = tmp_path_factory.mktemp("mlflow")
    server_uri, server, server_log = mlflow_server
    plans = [
        [("sqlite", "sqlite", POINTS), ("sqlite-small", "sqlite", SMALL)],
        [("file", "file", POINTS), ("file-small", "file", SMALL), ("server", "", SMALL)],
    ]
    uris: dict[str, str] = {"server": server_uri}
    children = []
    for number, plan in enumerate(plans):
        args: list[str] = []
        for name, kind, points in plan:
            folder = root / name
            folder.mkdir()
            if kind:
                uris[name], mlflow_uri = _store_uri(folder, kind)
            else:
                mlflow_uri = server_uri
            args += [mlflow_uri, str(points), str(folder / "dump.json")]
        errors = root / f"child-{number}.err"
        with errors.open("w") as err:
            child = subprocess.Popen(
                [sys.executable, "-c", MLFLOW_SIDE, *args],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=_child_env(),
            )
        children.append((child, errors))
    failures = []
    for child, errors in children:
        if child.wait(timeout=900) != 0:
            failures.append(errors.read_text()[-4000:])
    if server.poll() is not None:
        failures.append(f"the MLflow server stopped: {server_log.read_text()[-3000:]}")
    found: dict[str, Written] = {}
    for name, uri in uris.items():
        reading = root / name / "dump.json"
        if reading.is_file():
            found[name] = Written(uri, json.loads(reading.read_text()))
        else:
            found[name] = Written(uri, None, "\n".join(failures) or "no reading was written")
    return found


def _store(written: dict[str, Written], name: str) -> tuple[str, dict]:
    store = written[name]
    if store.dump is None:
        pytest.fail(f"MLflow did not write the {name} store: {store.error}")
    return store.uri, store.dump


@pytest.fixture(params=["sqlite", "file"])
def mlflow_store(request, written):
    """(uri, MLflow's reading) of a full store MLflow wrote, of each kind."""
    return _store(written, request.param)


@pytest.fixture(params=["sqlite-small", "file-small"])
def small_store(request, written):
    """(uri, MLflow's reading) of a small store MLflow wrote, of each kind."""
    return _store(written, request.param)


@pytest.fixture
def small_file_store(written):
    """(path, MLflow's reading) of a small mlruns folder MLflow wrote."""
    return _store(written, "file-small")


def _files(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def canvasback_reading(store: Path) -> dict:
    """The store read through canvasback's API into the shape of MLflow's reading."""
    client = cb.MlflowClient(store)
    dump: dict = {"experiments": {}, "runs": {}, "registry": {}}
    experiments = client.search_experiments(view_type="ALL")
    names = {e.experiment_id: e.name for e in experiments}
    for e in experiments:
        dump["experiments"][e.name] = {
            "id": e.experiment_id,
            "lifecycle": e.lifecycle_stage,
            "tags": {k: v for k, v in e.tags.items() if k != MARKER},
        }
    frame = client.search_runs_frame(list(names), run_view_type="ALL")
    for run_id in frame["run_id"]:
        run = client.get_run(run_id)
        info, data = run.info, run.data
        rows = client.sql(
            "SELECT name, digest, context, source_type, source, schema, profile "
            "FROM datasets WHERE run_id = ?",
            [run_id],
        ).fetchall()
        folder = store / "artifacts" / run_id
        dump["runs"][run_id] = {
            "experiment": names[info.experiment_id],
            "name": info.run_name,
            "status": info.status,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "lifecycle": info.lifecycle_stage,
            "user": info.user_id,
            "parent": info.parent_run_id,
            "params": data.params,
            "tags": {k: v for k, v in data.tags.items() if k != MARKER},
            "marker": data.tags.get(MARKER),
            "metrics": {
                k: sorted(
                    [m.step, m.timestamp, repr(m.value)]
                    for m in client.get_metric_history(run_id, k)
                )
                for k in data.metrics
            },
            "datasets": sorted([*r[:5], json.loads(r[5]), json.loads(r[6])] for r in rows),
            "artifacts": _files(folder) if folder.is_dir() else {},
        }
    for model in client.search_registered_models():
        versions = client.search_model_versions(f"name = '{model.name}'")
        dump["registry"][model.name] = {
            "description": model.description,
            "tags": model.tags,
            "aliases": {a: int(v) for a, v in model.aliases.items()},
            "versions": {
                v.version: {
                    "run_id": v.run_id,
                    "stage": v.current_stage,
                    "description": v.description,
                    "tags": {k: x for k, x in v.tags.items() if k != MARKER},
                    "status": v.status,
                    "source": v.source,
                }
                for v in versions
            },
        }
    return dump


def assert_same(mlflow_dump: dict, store: Path, source: str) -> dict:
    """Every field MLflow read is in the store as canvasback reads it."""
    cb.set_store(store)
    got = canvasback_reading(store)
    assert got["experiments"] == mlflow_dump["experiments"]
    assert set(got["runs"]) == set(mlflow_dump["runs"])
    models_of_run: dict[str, dict[str, str]] = {}
    for model_id, model in mlflow_dump["models"].items():
        # A logged model's files are its run's artifacts here, under the model's name.
        files = {f"{model['name']}/{p}": h for p, h in model["files"].items()}
        models_of_run.setdefault(model["run"], {}).update(files)
        folder = cb.models.model_folder(f"models:/{model_id}")
        assert folder == store / "artifacts" / model["run"] / model["name"]
    for run_id, read in mlflow_dump["runs"].items():
        have = got["runs"][run_id]
        assert have["marker"] == source, run_id
        want = {**read, "artifacts": {**read["artifacts"], **models_of_run.get(run_id, {})}}
        for field, value in want.items():
            assert have[field] == value, (run_id, field)
    sources = {
        f"models:/{m}": f"runs:/{x['run']}/{x['name']}" for m, x in mlflow_dump["models"].items()
    }
    for name, want in mlflow_dump["registry"].items():
        have = got["registry"][name]
        assert {k: v for k, v in have.items() if k != "versions"} == {
            k: v for k, v in want.items() if k != "versions"
        }
        assert set(have["versions"]) == set(want["versions"])  # version 3 stays deleted
        for number, version in want["versions"].items():
            expected = {**version, "source": sources.get(version["source"], version["source"])}
            assert have["versions"][number] == expected, (name, number)
    return got


def test_an_mlflow_store_moves_in_whole_and_a_second_import_doubles_nothing(mlflow_store, tmp_path):
    uri, dump = mlflow_store
    store = tmp_path / "store"
    report = cb.import_mlflow(uri, store, progress=False)
    source = str(Path(uri).resolve()) if not uri.startswith("sqlite") else uri
    assert report.runs == len(dump["runs"]) == 6
    assert report.points == sum(
        len(s) for r in dump["runs"].values() for s in r["metrics"].values()
    )
    assert report.points > POINTS
    assert report.renumbered == {}  # every experiment keeps its id
    assert report.logged_models == 2
    assert (report.registered_models, report.versions, report.aliases) == (1, 3, 2)
    first = assert_same(dump, store, source)
    # The registry's version loads as a model, by alias.
    model = cb.load_model("models:/digits-clf@champion")
    assert model.predict([[0.0, 1.0], [3.0, 0.0]]).tolist() == [0, 1]

    again = cb.import_mlflow(uri, store, progress=False)
    assert (again.runs, again.runs_already, again.points, again.versions) == (0, 6, 0, 0)
    assert canvasback_reading(store) == first


KILLER = r"""
import os, signal, sys
import canvasback as cb
from pathlib import Path
from canvasback.importers import mlflow_files, _run
from canvasback.store import open_store

source_path, store, victim = sys.argv[1], sys.argv[2], sys.argv[3]


class KilledMidway(mlflow_files.MlrunsSource):
    # Killed once the victim's first metric is on disk: a run half written.
    def content(self, run):
        inner = super().content(run)

        class Content:
            def __enter__(self):
                content = inner.__enter__()
                if run.run_id == victim:
                    metrics = content.metrics

                    def killing():
                        yield next(metrics)
                        open_store(store).flush()
                        os.kill(os.getpid(), signal.SIGKILL)
                        yield from metrics

                    content.metrics = killing()
                return content

            def __exit__(self, *exc):
                return inner.__exit__(*exc)

        return Content()


_run(KilledMidway(Path(source_path)), store, "MLflow runs", progress=False)
"""


def test_an_import_killed_midway_and_run_again_is_exact(small_file_store, tmp_path):
    uri, dump = small_file_store
    store = tmp_path / "store"
    victim = next(r for r, x in dump["runs"].items() if x["name"] == "sweep")
    env = {**os.environ, "PYTHONPATH": str(Path(cb.__file__).parents[1])}
    child = subprocess.run(
        [sys.executable, "-c", KILLER, uri, store, victim],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]
    client = cb.MlflowClient(store)
    half = client.get_run(victim)
    assert MARKER not in half.data.tags  # cut short: not marked
    held = {k: len(client.get_metric_history(victim, k)) for k in half.data.metrics}
    assert 0 < sum(held.values()) < sum(len(s) for s in dump["runs"][victim]["metrics"].values())
    cb.reset()

    report = cb.import_mlflow(uri, store, progress=False)
    assert report.runs_resumed >= 1
    assert report.runs + report.runs_already == len(dump["runs"])
    assert_same(dump, store, str(Path(uri).resolve()))


def test_an_import_killed_at_any_moment_and_run_again_is_exact(written, tmp_path, wait):
    uri, dump = _store(written, "sqlite-small")
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(Path(cb.__file__).parents[1])}
    child = subprocess.Popen(
        [sys.executable, "-m", "canvasback", "import-mlflow", uri, "--store", store],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:  # killed once the registry has its first version: runs done, registry half
        wait(
            lambda: list((store / "claims" / "model-versions").glob("*/1")),
            timeout=240,
            what="the first version's claim",
        )
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    report = cb.import_mlflow(uri, store, progress=False)
    assert report.runs_already + report.runs == len(dump["runs"])
    assert_same(dump, store, uri)


# -- bad input ---------------------------------------------------------------------------
def _tree(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*")) if folder.exists() else []


def test_a_corrupt_meta_yaml_stops_the_import_before_anything_is_written(
    small_file_store, tmp_path
):
    uri, dump = small_file_store
    source = tmp_path / "mlruns"
    shutil.copytree(uri, source)
    run_id = next(iter(dump["runs"]))
    meta = next(source.rglob(f"{run_id}/meta.yaml"))
    meta.write_text("run_id: [unclosed\n")
    store = tmp_path / "store"
    with pytest.raises(SourceReadError) as caught:
        cb.import_mlflow(source, store, progress=False)
    assert str(meta) in str(caught.value)
    assert _tree(store) == []
    cb.reset()
    result = _cli("import-mlflow", source, "--store", store)
    assert result.returncode == 1
    assert str(meta) in result.stderr
    assert _tree(store) == []


def test_a_corrupt_metric_file_stops_midway_and_leaves_the_runs_before_it_whole(
    small_file_store, tmp_path
):
    uri, dump = small_file_store
    source = tmp_path / "mlruns"
    shutil.copytree(uri, source)
    victim = next(r for r, x in dump["runs"].items() if x["name"] == "trial-1")
    metric = next(source.rglob(f"{victim}/metrics/acc"))
    good = metric.read_text()
    metric.write_text(good + "12 not-a-number 3\n")
    store = tmp_path / "store"
    with pytest.raises(SourceReadError) as caught:
        cb.import_mlflow(source, store, progress=False)
    message = str(caught.value)
    assert str(metric) in message
    assert "line 3" in message
    assert "import again" in message
    held = canvasback_reading(store)["runs"]
    marked = [r for r, x in held.items() if x["marker"] is not None]
    for run_id in marked:  # a run marked imported is whole
        assert held[run_id]["metrics"] == dump["runs"][run_id]["metrics"]
    assert victim not in marked
    cb.reset()
    metric.write_text(good)
    cb.import_mlflow(source, store, progress=False)
    assert_same(dump, store, str(source.resolve()))


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": str(Path(cb.__file__).parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "canvasback", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_what_is_no_mlflow_store_is_refused_and_nothing_is_made(tmp_path):
    store = tmp_path / "store"
    missing = tmp_path / "nowhere"
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        cb.import_mlflow(missing, store)
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        cb.import_mlflow(f"sqlite:///{tmp_path / 'no.db'}", store)
    assert not (tmp_path / "no.db").exists()  # MLflow would have made an empty database
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "notes.txt").write_text("mine")
    with pytest.raises(SourceNotFoundError, match="not an MLflow store"):
        cb.import_mlflow(papers, store)
    with pytest.raises(SourceNotFoundError, match="no MLflow store"):
        cb.import_mlflow(papers / "notes.txt", store)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(SourceNotFoundError, match="not MLflow's"):
        cb.import_mlflow(other, store)
    result = _cli("import-mlflow", missing, "--store", store)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"canvasback import-mlflow: MLflow store {str(missing)!r} does not exist"
    ]
    assert not store.exists()
    assert _tree(tmp_path) == [Path("other.db"), Path("papers"), Path("papers/notes.txt")]


def test_a_store_path_that_is_mlflows_is_refused_with_the_import_command(mlflow_store, tmp_path):
    uri, _dump = mlflow_store
    path = Path(uri.removeprefix("sqlite:///"))
    before = _tree(path.parent)
    with pytest.raises(cb.exceptions.MlflowException) as caught:
        cb.MlflowClient(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"canvasback import-mlflow {path} --store" in message
    with pytest.raises(cb.exceptions.MlflowException, match="import-mlflow"):
        cb.MlflowClient(path.parent)  # the folder that holds it
    with pytest.raises(cb.exceptions.MlflowException, match="import-mlflow"):
        cb.set_store(path)
    cb.reset()
    result = _cli("recover", path)
    assert result.returncode == 2
    assert f"import-mlflow {path} --store" in result.stderr
    assert _tree(path.parent) == before  # nothing written into MLflow's folder
    # A canvasback store keeps working when an mlruns folder appears inside it.
    mine = tmp_path / "mine"
    with cb.MlflowClient(mine).create_run() as run:
        run.log_metric("m", 1.0)
    cb.reset()
    (mine / "mlruns").mkdir()
    assert cb.MlflowClient(mine).get_run(run.info.run_id).data.metrics == {"m": 1.0}


# -- a tracking server ------------------------------------------------------------------
class _Proxy(http.server.BaseHTTPRequestHandler):
    """Forwards to the MLflow server; answers 500 to metric histories while ``failing``."""

    target = ""
    failing = threading.Event()
    histories = 0  # metric history requests seen while failing

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if _Proxy.failing.is_set() and "metrics/get-history" in self.path:
            _Proxy.histories += 1
            if _Proxy.histories > 2:  # halfway: two histories answered, then errors
                self._answer(500, b'{"error_code": "INTERNAL_ERROR", "message": "boom"}', {})
                return
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("host", "content-length", "connection")
        }
        conn = http.client.HTTPConnection(self.target, timeout=120)
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            kept = {
                k: v
                for k, v in answer.getheaders()
                if k.lower() not in ("transfer-encoding", "content-length", "connection")
            }
            self._answer(answer.status, data, kept)
        finally:
            conn.close()

    def _answer(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _forward  # noqa: N815  # http.server's names

    def log_message(self, *args: object) -> None:
        del args  # quiet


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_server_that_answers_500_halfway_leaves_whole_runs_and_resumes(
    written, tmp_path, monkeypatch
):
    server, dump = _store(written, "server")
    _Proxy.target = server.removeprefix("http://")
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    uri = f"http://127.0.0.1:{proxy.server_address[1]}"
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the error at once
    store = tmp_path / "store"
    try:
        _Proxy.failing.set()
        with pytest.raises(SourceReadError) as caught:
            cb.import_mlflow(uri, store, progress=False)
        message = str(caught.value)
        assert f"MLflow at {uri!r} failed while reading metric" in message
        assert "import again" in message
        held = canvasback_reading(store)["runs"]
        marked = [r for r, x in held.items() if x["marker"] is not None]
        assert len(marked) < len(dump["runs"])
        for run_id in marked:  # every run marked imported is whole
            assert held[run_id]["metrics"] == dump["runs"][run_id]["metrics"]
            assert held[run_id]["params"] == dump["runs"][run_id]["params"]
        cb.reset()
        _Proxy.failing.clear()
        report = cb.import_mlflow(uri, store, progress=False)
        assert report.runs_already == len(marked)
        assert_same(dump, store, uri)  # artifacts and models downloaded through the server
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_an_experiment_of_the_store_is_joined_and_never_deleted_by_an_import(small_store, tmp_path):
    uri, dump = small_store
    assert dump["experiments"]["old-ideas"]["lifecycle"] == "deleted"  # in MLflow
    store = tmp_path / "store"
    client = cb.MlflowClient(store)
    mine = client.create_experiment("old-ideas")
    with client.create_run(mine, run_name="my own") as run:
        run.log_metric("m", 1.0)
    cb.reset()
    cb.import_mlflow(uri, store, progress=False)
    client = cb.MlflowClient(store)
    assert client.get_experiment(mine).lifecycle_stage == "active"
    names = {r.info.run_name for r in client.search_runs([mine], run_view_type="ALL")}
    assert names == {"my own", "abandoned"}
