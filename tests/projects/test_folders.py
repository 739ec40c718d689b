"""Project folders: an MLflow MLproject folder, a canvasback.toml folder, the command line,
reproducing a run; and the bad inputs, each refused before anything runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

import canvasback as cb
from canvasback.projects import ParamError, ProjectError, load_project

pytestmark = pytest.mark.slow  # a project's entry points run as child processes


@pytest.fixture(autouse=True)
def _capture_on(monkeypatch):
    """Capture as it is by default (the suite's conftest switches it off elsewhere)."""
    monkeypatch.delenv("CANVASBACK_CAPTURE", raising=False)


def _runs() -> int:
    return len(cb.search_runs(search_all_experiments=True))


@pytest.mark.usefixtures("store")
def test_a_canvasback_toml_names_scripts_and_commands_with_typed_params(tmp_path):
    root = tmp_path / "tomlproj"
    root.mkdir()
    (root / "canvasback.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "toml demo"

            [entry_points.fit]
            script = "fit.py"
            parameters = { depth = 3, rate = { type = "float", default = 0.1 } }

            [entry_points.shout]
            command = "python -c 'import canvasback as cb; cb.log_metric(\\"n\\", {n})'"
            parameters = { n = { type = "int" } }
            """
        )
    )
    (root / "fit.py").write_text(
        "import sys, canvasback as cb\ncb.set_tag('argv', ' '.join(sys.argv[1:]))\n"
    )
    project = load_project(root)
    assert project.name == "toml demo"
    assert sorted(project.entry_points) == ["fit", "shout"]
    fit = cb.run_project(root, "fit", {"depth": "5"})
    assert fit.info.status == "FINISHED"
    assert fit.data.params == {"depth": "5", "rate": "0.1"}
    assert fit.data.tags["argv"] == "--depth 5 --rate 0.1"
    shout = cb.run_project(root, "shout", {"n": 7})
    assert shout.data.metrics == {"n": 7.0}
    with pytest.raises(ParamError, match=r"No value given for parameter\(s\) n"):
        cb.run_project(root, "shout")
    with pytest.raises(ParamError, match=r"Unknown parameter 'extra'.*declares are depth, rate"):
        cb.run_project(root, "fit", {"extra": 1})


def test_the_command_line_runs_an_entry_point(store, mlproject):
    env = {**os.environ, "CANVASBACK_STORE": str(store)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "canvasback.cli",
            "run",
            str(mlproject),
            "-e",
            "main",
            "-P",
            "alpha=0.3",
            "-P",
            "epochs=2",
            "--experiment",
            "cli",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "trained with 0.3" in result.stdout  # the command's output, as it comes
    run_id = re.search(r"run ([0-9a-f]{32})", result.stdout).group(1)
    run = cb.get_run(run_id)
    assert run.data.params["alpha"] == "0.3"
    assert cb.get_experiment(run.info.experiment_id).name == "cli"
    failed = subprocess.run(
        [sys.executable, "-m", "canvasback.cli", "run", str(mlproject), "-P", "alpha=-2"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert failed.returncode == 1
    assert "alpha must not be negative" in failed.stderr


# -- bad input: each refused before anything runs ------------------------------------------
@pytest.mark.usefixtures("store")
def test_a_param_of_the_wrong_type_for_an_mlproject_parameter_is_refused(mlproject):
    with pytest.raises(ParamError, match=r"Invalid value 'high' for parameter 'alpha'.*type float"):
        cb.run_project(mlproject, params={"alpha": "high"})
    assert _runs() == 0


@pytest.mark.usefixtures("store")
def test_a_path_parameter_that_does_not_exist_is_refused(mlproject):
    with pytest.raises(ParamError, match=r"'data_file'.*no such file or folder"):
        cb.run_project(mlproject, "validate", {"data_file": str(mlproject / "nope.csv")})
    assert _runs() == 0


@pytest.mark.usefixtures("store")
def test_a_non_existent_entry_point_is_refused_naming_those_that_exist(mlproject):
    with pytest.raises(
        ProjectError, match=r"No entry point 'deploy'.*entry points are main, validate"
    ):
        cb.run_project(mlproject, "deploy")
    assert _runs() == 0


@pytest.mark.usefixtures("store")
def test_a_missing_project_folder_is_refused(tmp_path):
    with pytest.raises(ProjectError, match="no such file or folder"):
        cb.run_project(tmp_path / "nowhere")
    assert _runs() == 0


def test_the_command_line_names_a_missing_entry_point(store, mlproject):
    result = subprocess.run(
        [sys.executable, "-m", "canvasback.cli", "run", str(mlproject), "-e", "deploy"],
        capture_output=True,
        text=True,
        env={**os.environ, "CANVASBACK_STORE": str(store)},
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "No entry point 'deploy'" in result.stderr
    assert _runs() == 0


@pytest.mark.usefixtures("store")
def test_reproduce_a_project_run(mlproject):
    first = cb.run_project(mlproject, params={"alpha": 0.4, "note": "again"})
    comparison = cb.reproduce(first.run_id)
    again = cb.get_run(comparison.reproduced_run_id)
    assert (
        again.data.tags["canvasback.project.command"]
        == (first.data.tags["canvasback.project.command"])
    )
    assert again.data.params == first.data.params
    assert comparison.section("metrics") == []  # the same command, the same losses
    assert comparison.section("params") == []
    assert comparison.same, repr(comparison)


@pytest.mark.usefixtures("store")
def test_mlflows_projects_run_runs_the_entry_point_locally(mlproject):
    import canvasback as mlflow  # noqa: PLC0415  # as code written for MLflow imports it

    submitted = mlflow.projects.run(
        str(mlproject), "main", parameters={"alpha": 0.3}, experiment_name="mlflow-style"
    )
    assert submitted.wait() is True
    assert submitted.get_status() == "FINISHED"
    run = mlflow.get_run(submitted.run_id)
    assert run.data.params["alpha"] == "0.3"
    assert cb.get_experiment(run.info.experiment_id).name == "mlflow-style"
    with pytest.raises(cb.exceptions.ExecutionException, match=r"Run \(ID '[0-9a-f]{32}'\) failed"):
        mlflow.projects.run(str(mlproject), parameters={"alpha": -1})
    with pytest.raises(cb.InvalidInputError, match="env_manager 'conda'"):
        mlflow.projects.run(str(mlproject), env_manager="conda")
    with pytest.raises(cb.InvalidInputError, match=r"uri 'https://github\.com/x/y'"):
        mlflow.projects.run("https://github.com/x/y")
    # One run that finished, one that failed; the refusals ran nothing.
    assert len(cb.search_runs(search_all_experiments=True)) == 2


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("canvasback.toml", "[project]\nname = 7\n", ["name = 7", "[project]", "string"]),
        (
            "canvasback.toml",
            '[entry_points.main]\ncommand = "x"\nparameters = { n = { type = "int", dflt = 1 } }\n',
            ["'dflt'", "parameter 'n'", "type, default"],
        ),
        ("MLproject", "entry_points:\n  main:\n    command: 3\n", ["command = 3", "string"]),
    ],
)
def test_a_project_file_value_of_the_wrong_type_is_refused_by_key(tmp_path, name, text, words):
    (tmp_path / name).write_text(text)
    with pytest.raises(ProjectError) as refused:
        load_project(tmp_path)
    for word in words:
        assert word in str(refused.value)
