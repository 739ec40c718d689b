"""A version's lineage on a real store: its run, datasets, code and environment (captured
from a real git repository), logged model and aliases; the ``lineage`` view saying the
same; and the versions trained on a dataset, found by a filter."""

from __future__ import annotations

import platform

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from tests.git_commands import run_git

import canvasback as cb
from canvasback.projects import capture, git
from canvasback.query.filter_lexer import FilterError


@pytest.fixture
def repo(tmp_path):
    """A git repository with one commit of a training script."""
    root = tmp_path / "repo"
    root.mkdir()
    run_git(root, "init", "-q", "-b", "trunk")
    run_git(root, "config", "user.email", "dev@example.com")
    run_git(root, "config", "user.name", "Dev")
    (root / "train.py").write_text("print('training')\n")
    run_git(root, "add", "train.py")
    run_git(root, "commit", "-q", "-m", "first")
    git.forget()
    yield root
    git.forget()


DIGITS = cb.data.from_numpy(np.arange(12.0).reshape(4, 3), name="digits", source="s3://b/d")
HOLDOUT = cb.data.from_numpy(np.ones(5), name="holdout", source="s3://b/h")


def trained(client, repo, *inputs: tuple[object, str]) -> str:
    """A run of ``repo``'s script with its code and environment captured, its inputs
    logged and a model folder; its id."""
    run = client.create_run("0", run_name="train")
    source = capture.Source("script", str(repo / "train.py"), "python train.py")
    capture.capture_run(run, ["git", "source", "environment"], source=source)
    for dataset, context in inputs:
        run.log_input(dataset, context=context)
    run.log_text("flavors: {}\n", "model/MLmodel")
    run.end()
    return run.info.run_id


def test_a_version_s_lineage_is_its_run_datasets_code_environment_and_aliases(client, repo):
    run_id = trained(client, repo, (DIGITS, "training"), (HOLDOUT, "evaluation"))
    for _ in range(2):
        cb.register_model(f"runs:/{run_id}/model", "digits")
    client.set_registered_model_alias("digits", "champion", 1)
    client.set_registered_model_alias("digits", "challenger", 1)
    client.set_registered_model_alias("digits", "champion", 2)

    found = client.get_lineage("digits", 1)
    assert (found.name, found.version, found.run_id) == ("digits", "1", run_id)
    assert (found.run_name, found.experiment_id) == ("train", "0")
    assert (found.source, found.artifact_path) == (f"runs:/{run_id}/model", "model")
    assert found.logged_model_id is None  # a folder logged by hand: no logged model
    assert [(d.name, d.digest, d.source, d.context) for d in found.datasets] == [
        ("holdout", HOLDOUT.digest, "s3://b/h", "evaluation"),
        ("digits", DIGITS.digest, "s3://b/d", "training"),
    ]
    commit = run_git(repo, "rev-parse", "HEAD")
    assert found.git_commit == commit
    assert found.code["git.commit"] == commit
    assert found.code["git.branch"] == "trunk"
    assert found.code["path"] == str(repo / "train.py")
    assert found.code["digest"].startswith("sha256:")
    assert found.environment["python"] == platform.python_version()
    assert "lib.numpy" in found.environment
    assert found.aliases == ["challenger"]
    assert [(m.alias, m.from_version, m.to_version) for m in found.alias_moves] == [
        ("champion", None, "1"),
        ("challenger", None, "1"),
        ("champion", "1", "2"),
    ]
    assert client.get_lineage("digits", 2).aliases == ["champion"]


def test_the_lineage_view_says_what_get_lineage_says(client, repo):
    run_id = trained(client, repo, (DIGITS, "training"))
    cb.register_model(f"runs:/{run_id}/model", "digits")
    cb.register_model(f"runs:/{run_id}/model", "digits")
    client.set_registered_model_alias("digits", "champion", 1)
    client.set_registered_model_alias("digits", "champion", 2)
    rows = cb.sql(
        "SELECT version, run_id, artifact_path, dataset_name, dataset_digest, "
        "dataset_context, git_commit, code['git.branch'], environment['python'], "
        "aliases, past_aliases FROM lineage ORDER BY version"
    ).fetchall()
    commit = run_git(repo, "rev-parse", "HEAD")
    common = (run_id, "model", "digits", DIGITS.digest, "training", commit, "trunk")
    python = platform.python_version()
    assert rows == [
        (1, *common, python, [], ["champion"]),
        (2, *common, python, ["champion"], []),
    ]


def test_a_version_from_a_logged_model_names_it(client):
    with cb.start_run(live=False):
        fitted = DummyRegressor(strategy="constant", constant=1.0).fit([[0.0]], [1.0])
        info = cb.sklearn.log_model(fitted, name="dummy")
    version = cb.register_model(info.model_uri, "dummy")
    assert client.get_lineage("dummy", version.version).logged_model_id == info.model_id


def test_a_version_of_a_folder_has_no_run_and_one_row_of_the_view(client, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    client.create_model_version("loose", folder.as_uri())
    found = client.get_lineage("loose", 1)
    assert (found.run_id, found.datasets, found.code, found.aliases) == (None, [], {}, [])
    rows = cb.sql("SELECT run_id, dataset_name, code FROM lineage").fetchall()
    assert rows == [(None, None, {})]


def test_the_versions_trained_on_a_dataset_are_a_filter(client, repo):
    on_digits = trained(client, repo, (DIGITS, "training"))
    evaluated_on_digits = trained(client, repo, (HOLDOUT, "training"), (DIGITS, "evaluation"))
    for run_id in (on_digits, evaluated_on_digits):
        cb.register_model(f"runs:/{run_id}/model", "digits")

    def versions(filter_string: str) -> list[str]:
        return [v.version for v in client.search_model_versions(filter_string)]

    assert versions(f"datasets.digest = '{DIGITS.digest}'") == ["2", "1"]
    assert versions("datasets.name = 'holdout' AND name = 'digits'") == ["2"]
    assert versions("datasets.name = 'nothing'") == []
    assert [v.version for v in cb.search_model_versions("datasets.name = 'digits'")] == ["2", "1"]
    # Each datasets. comparison is tested on any dataset of the run, as in MLflow: v2's
    # run trained on holdout and evaluated on digits, so it matches both.
    trained_on = f"datasets.digest = '{DIGITS.digest}' AND datasets.context = 'training'"
    assert versions(trained_on) == ["2", "1"]
    # One dataset in one context: a row of the lineage view.
    rows = cb.sql(
        "SELECT DISTINCT version FROM lineage WHERE dataset_digest = ? "
        "AND dataset_context = 'training'",
        params=[DIGITS.digest],
    ).fetchall()
    assert rows == [(1,)]
    with pytest.raises(FilterError, match=r"datasets\. keys filter runs but cannot order them"):
        client.search_model_versions(order_by=["datasets.name"])
