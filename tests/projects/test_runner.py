"""run_project: an entry point runs as a tracked run, its command or its notebook, and ends
FINISHED or FAILED by its exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

import canvasback as cb
from canvasback.projects import ParamError

pytestmark = pytest.mark.slow  # a project's entry points run as child processes


@pytest.fixture(autouse=True)
def _capture_on(monkeypatch):
    """Capture as it is by default (the suite's conftest switches it off elsewhere)."""
    monkeypatch.delenv("CANVASBACK_CAPTURE", raising=False)


def test_the_main_entry_point_runs_its_command_in_the_same_run(store, mlproject):
    run = cb.run_project(mlproject, params={"alpha": "0.2", "note": "hi"}, experiment="mlp")
    assert run.info.status == "FINISHED"
    # Declared params with their defaults, and the extra one MLflow passes as --note.
    assert run.data.params == {"alpha": "0.2", "epochs": "3.0", "note": "hi"}
    assert cb.get_metric_history(run.run_id, "loss")["value"].tolist() == [0.2, 0.1, 0.2 / 3]
    tags = run.data.tags
    assert tags["seen.run_id"] == run.run_id
    assert tags["seen.tracking_uri"] == "canvasback://" + str(store)
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["canvasback.project.command"] == (
        "python train.py --alpha 0.2 --epochs 3.0 --note hi"
    )
    assert tags["canvasback.project.exit_code"] == "0"
    output = Path(cb.client().download_artifacts(run.run_id, "project/output.log")).read_text()
    assert "trained with 0.2" in output
    assert len(cb.search_runs(experiment_names=["mlp"])) == 1


@pytest.mark.usefixtures("store")
def test_a_second_entry_point_with_a_path_parameter(mlproject, monkeypatch):
    monkeypatch.chdir(mlproject)  # a relative path is read from where run_project is called
    run = cb.run_project(mlproject, "validate", {"data_file": "data.csv"})
    assert run.info.status == "FINISHED"
    assert run.data.metrics["rows"] == 3.0
    assert run.data.tags["label"] == "v1"
    assert run.data.params["data_file"] == str(mlproject / "data.csv")


@pytest.mark.usefixtures("store")
def test_a_failing_command_fails_its_run_with_the_exit_status(mlproject):
    with pytest.warns(cb.projects.ProjectRunWarning, match="exited with status 1"):
        run = cb.run_project(mlproject, params={"alpha": -1})
    assert run.info.status == "FAILED"
    assert run.data.tags["canvasback.project.exit_code"] == "1"
    assert "alpha must not be negative" in run.data.tags["canvasback.project.error"]


@pytest.mark.usefixtures("store")
def test_a_python_file_of_the_folder_is_an_entry_point_as_in_mlflow(mlproject):
    with pytest.warns(cb.projects.ProjectRunWarning):
        run = cb.run_project(mlproject, "validate.py", {"x": 1})
    # validate.py reads sys.argv[1] as a file: "--x" is no file, so the run fails.
    assert run.info.status == "FAILED"
    assert run.data.tags["canvasback.project.command"] == "python validate.py --x 1"


@pytest.mark.kernel
@pytest.mark.usefixtures("store")
def test_a_notebook_entry_point_with_typed_params(tmp_path):
    import nbformat  # noqa: PLC0415

    root = tmp_path / "nbproj"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = nbformat.v4.new_code_cell("rate = 0.5\nname = 'x'")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [
        cell,
        nbformat.v4.new_code_cell("import canvasback as cb\ncb.log_metric('r', rate)"),
    ]
    nbformat.write(nb, root / "fit.ipynb")
    (root / "canvasback.toml").write_text(
        '[entry_points.main]\nnotebook = "fit.ipynb"\n'
        'parameters = { rate = { type = "float", default = 0.25 } }\n'
    )
    run = cb.run_project(root, params={"name": "y"})
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"r": 0.25}  # the project's default, typed as a float
    assert run.data.params == {"rate": "0.25", "name": "y"}
    assert run.data.tags["canvasback.project.entry_point"] == "main"
    with pytest.raises(ParamError, match=r"Invalid value 'fast' for parameter 'rate'"):
        cb.run_project(root, params={"rate": "fast"})
    with pytest.raises(ParamError, match="Unknown parameter 'depth'"):
        cb.run_project(root, params={"depth": 3})  # neither the project nor the notebook
