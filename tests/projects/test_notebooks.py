"""run_notebook and reproduce: real notebooks executed by nbclient in a real kernel.

A kernel start costs a second or two, so each test here runs as few notebooks as it can
and the bad-input tests run none at all (that is their point: refused before anything).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest
from nbformat.sign import NotebookNotary

import canvasback as cb
from canvasback.projects import ParamError, notebooks

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.kernel  # notebooks run in fresh kernels (nbclient)

PARAMS = "lr = 0.1\nepochs = 2\nlabel = 'base'\nlayers = [8, 4]\nscale = 2 * 0.5\n"
BODY = """
import canvasback as mlflow
for epoch in range(epochs):
    mlflow.log_metric("loss", lr / (epoch + 1), step=epoch)
mlflow.log_param("label_seen", label)
mlflow.log_metric("width", float(sum(layers)))
print("trained", label)
"""


@pytest.fixture(autouse=True)
def _capture_on(monkeypatch):
    """Capture as it is by default (the suite's conftest switches it off elsewhere)."""
    monkeypatch.delenv("CANVASBACK_CAPTURE", raising=False)


def write_notebook(path: Path, *cells: str, parameters: str | None = PARAMS) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in cells)
    nbformat.write(nb, path)
    return path


@contextlib.contextmanager
def notary_of(data_dir: Path) -> Iterator[NotebookNotary]:
    """The notebook notary of a Jupyter data directory, as `jupyter trust` opens it."""
    notary = NotebookNotary(data_dir=str(data_dir))
    try:
        yield notary
    finally:
        notary.store.close()


def trusted(path: Path, data_dir: Path) -> bool:
    """Whether the notary of ``data_dir`` trusts the notebook, as JupyterLab checks it."""
    if not (data_dir / "nbsignatures.db").is_file():
        return False  # nothing was ever signed there
    with notary_of(data_dir) as notary:
        return bool(notary.check_signature(nbformat.read(path, as_version=4)))


def executed_notebook(run: cb.Run, name: str) -> Path:
    return Path(cb.client().download_artifacts(run.run_id, f"notebook/{name}"))


@pytest.fixture
def train(tmp_path):
    return write_notebook(tmp_path / "train.ipynb", BODY)


@pytest.mark.usefixtures("store")
def test_a_notebook_runs_as_one_run_with_its_params_and_its_own_logging(train):
    run = cb.run_notebook(train, {"lr": 0.5, "epochs": 3}, experiment="nb", run_name="first")
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "first"
    assert cb.get_experiment(run.info.experiment_id).name == "nb"
    # Every declared param with its value; a default that is code is logged as its code.
    assert run.data.params == {
        "lr": "0.5",
        "epochs": "3",
        "label": "base",
        "layers": "[8, 4]",
        "scale": "2 * 0.5",
        "label_seen": "base",
    }
    history = cb.get_metric_history(run.run_id, "loss")
    assert list(history["value"]) == [0.5, 0.25, 0.5 / 3]
    assert run.data.metrics["width"] == 12.0
    # The notebook's logging went into this run, not into runs of its own.
    assert len(cb.search_runs(experiment_names=["nb"])) == 1
    tags = run.data.tags
    assert tags["canvasback.notebook.path"] == str(train)
    assert tags["canvasback.source.kind"] == "notebook"
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlflow.source.name"] == str(train)
    files = {f.path for f in cb.client().list_artifacts(run.run_id, "notebook")}
    assert files == {"notebook/train.ipynb"}
    executed = nbformat.read(
        cb.client().download_artifacts(run.run_id, "notebook/train.ipynb"), as_version=4
    )
    injected = executed.cells[1]
    assert injected.metadata["tags"] == ["injected-parameters"]
    assert "lr = 0.5" in injected.source
    assert "epochs = 3" in injected.source
    outputs = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "trained base" in outputs
    # The source notebook is copied when the run ends, as it was saved.
    source = cb.client().download_artifacts(run.run_id, "source/train.ipynb")
    assert json.loads(Path(source).read_text()) == json.loads(train.read_text())


@pytest.mark.usefixtures("store")
def test_the_kernel_takes_its_run_up_without_reading_the_store(tmp_path):
    # The launcher hands the kernel its run (attributes and params) with the run's id:
    # the kernel's first log call resumes it without loading the store's catalog, which
    # is what imports DuckDB.
    notebook = write_notebook(
        tmp_path / "quick.ipynb",
        "import sys\nimport canvasback as cb\ncb.log_metric('loss', lr)",
        "cb.set_tag('duckdb_loaded', 'duckdb' in sys.modules)",
    )
    run = cb.run_notebook(notebook, {"lr": 0.25})
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"loss": 0.25}
    assert run.data.tags["duckdb_loaded"] == "False"
    assert run.data.params["lr"] == "0.25"


@pytest.mark.usefixtures("store")
def test_a_failing_cell_fails_the_run_with_the_cell_and_traceback(tmp_path, jupyter_data_dir):
    path = write_notebook(
        tmp_path / "broken.ipynb",
        "import canvasback as mlflow\nmlflow.log_metric('before', 1.0)",
        "raise ValueError(f'lr too high: {lr}')",
        "mlflow.log_metric('after', 1.0)",
    )
    with pytest.warns(notebooks.NotebookRunWarning, match=r"cell 2: ValueError: lr too high"):
        run = cb.run_notebook(path, {"lr": 9.0})
    assert run.info.status == "FAILED"
    assert run.data.tags["canvasback.notebook.failed_cell"] == "2"
    assert run.data.tags["canvasback.notebook.error"] == "ValueError: lr too high: 9.0"
    assert run.data.metrics == {"before": 1.0}  # the cells after the failure never ran
    text = Path(cb.client().download_artifacts(run.run_id, notebooks.ERROR_ARTIFACT)).read_text()
    assert "ValueError" in text
    assert "lr too high" in text
    assert "\x1b[" not in text  # colour codes stripped
    assert "notebook/broken.ipynb" in {
        f.path for f in cb.client().list_artifacts(run.run_id, "notebook")
    }
    # Its outputs, the traceback included, all came from this run: it is signed.
    assert trusted(executed_notebook(run, "broken.ipynb"), jupyter_data_dir)
    with pytest.raises(notebooks.NotebookRunError, match="cell 2") as caught:
        cb.run_notebook(path, {"lr": 1.0}, raise_on_error=True)
    assert caught.value.run.info.status == "FAILED"
    assert caught.value.failure.cell_index == 2


CHART = """
from canvasback import ChartView
rows = [{"step": step, "loss": 1 / (step + 1)} for step in range(20)]
ChartView({
    "data": {"values": rows},
    "mark": "line",
    "encoding": {
        "x": {"field": "step", "type": "quantitative"},
        "y": {"field": "loss", "type": "quantitative"},
    },
})
"""


@pytest.mark.usefixtures("store")
def test_the_executed_notebook_is_signed_so_jupyterlab_shows_its_charts(tmp_path, jupyter_data_dir):
    path = write_notebook(tmp_path / "chart.ipynb", CHART, parameters=None)
    assert not jupyter_data_dir.exists()
    run = cb.run_notebook(path)
    assert run.info.status == "FINISHED"
    executed = executed_notebook(run, "chart.ipynb")
    outputs = nbformat.read(executed, as_version=4).cells[0].outputs
    # The chart's static copy is SVG, which JupyterLab strips from an untrusted notebook.
    assert "<svg" in "".join(outputs[0]["data"]["text/html"])
    assert "application/vnd.jupyter.widget-view+json" in outputs[1]["data"]
    # Signed in the user's notary (the Jupyter data directory), as `jupyter trust` does.
    assert (jupyter_data_dir / "nbsignatures.db").is_file()
    assert trusted(executed, jupyter_data_dir)
    # Only what it executed: the notebook as written stays as it was, unsigned.
    assert not trusted(path, jupyter_data_dir)
    # Another user's notary (one that has signed notebooks of its own) does not trust it,
    # nor does this one an edited copy.
    other = tmp_path / "another-user"
    other.mkdir()
    with notary_of(other) as notary:
        notary.sign(nbformat.read(path, as_version=4))
    assert not trusted(executed, other)
    edited = nbformat.read(executed, as_version=4)
    edited.cells[0].outputs[0]["data"]["text/html"] += "<script>alert(1)</script>"
    nbformat.write(edited, tmp_path / "edited.ipynb")
    assert not trusted(tmp_path / "edited.ipynb", jupyter_data_dir)


@pytest.mark.usefixtures("store")
def test_signing_is_switched_off_by_its_environment_variable(
    tmp_path, jupyter_data_dir, monkeypatch
):
    monkeypatch.setenv(notebooks.SIGN_ENV, "off")
    path = write_notebook(tmp_path / "plain.ipynb", "print('ran')", parameters=None)
    run = cb.run_notebook(path)
    assert run.info.status == "FINISHED"
    assert not trusted(executed_notebook(run, "plain.ipynb"), jupyter_data_dir)


@pytest.mark.usefixtures("store")
def test_outputs_the_run_did_not_make_are_never_signed(tmp_path, jupyter_data_dir):
    # Saved with an output (a script, say from a downloaded notebook) in a cell that
    # never runs, below the one that fails: the notebook keeps it, and stays untrusted.
    path = write_notebook(
        tmp_path / "stale.ipynb", "raise ValueError('stop')", "print('after')", parameters=None
    )
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", {"text/html": "<script>alert(1)</script>"})
    ]
    nbformat.write(nb, path)
    with pytest.warns(notebooks.NotebookRunWarning, match="ValueError: stop"):
        run = cb.run_notebook(path)
    executed = executed_notebook(run, "stale.ipynb")
    kept = nbformat.read(executed, as_version=4).cells[1].outputs
    assert kept[0]["data"]["text/html"] == "<script>alert(1)</script>"
    assert not trusted(executed, jupyter_data_dir)


@pytest.mark.usefixtures("store")
def test_reproduce_runs_again_with_the_same_params_and_reports_what_differs(train):
    first = cb.run_notebook(train, {"lr": 0.2}, experiment="repro")
    # Change the code between the two runs: the comparison shows it in the metrics.
    text = train.read_text().replace("lr / (epoch + 1)", "lr / (epoch + 2)")
    train.write_text(text)
    comparison = cb.reproduce(first.run_id)
    again = cb.get_run(comparison.reproduced_run_id)
    assert again.run_id != first.run_id
    assert again.info.status == "FINISHED"
    assert again.data.params["lr"] == "0.2"
    assert again.data.params == first.data.params
    assert again.data.tags["canvasback.reproduces"] == first.run_id
    assert again.info.experiment_id == first.info.experiment_id
    assert comparison.section("params") == []
    code = {d.key for d in comparison.section("code")}
    assert code == {"canvasback.source.digest"}  # the notebook was edited in between
    metrics = {d.key: (d.original, d.reproduced) for d in comparison.section("metrics")}
    assert metrics == {"loss": (repr(0.2 / 2), repr(0.2 / 3))}
    assert comparison.section("environment") == []  # same interpreter and packages
    assert not comparison.same
    assert "loss" in repr(comparison)
    html = comparison._repr_html_()
    assert "<td>loss</td>" in html


@pytest.mark.usefixtures("store")
def test_reproduce_refuses_a_run_it_did_not_launch():
    with cb.start_run() as run:
        pass
    with pytest.raises(cb.projects.ProjectError, match="not launched by run_notebook"):
        cb.reproduce(run.run_id)


def test_the_command_line_runs_a_notebook(store, train):
    env = {"CANVASBACK_STORE": str(store), "PATH": str(Path(sys.executable).parent)}
    if "PYTHONPATH" in os.environ:  # the canvasback this test imported, not another one
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "canvasback.cli",
            "run",
            str(train),
            "-P",
            "lr=0.25",
            "-P",
            "label=cli",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # One line, naming the experiment; nothing of the kernel's own log (its warning that
    # it talks over TCP, an interrupt caught at shutdown) reaches the terminal.
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1
    assert "FINISHED in experiment 'Default' (id 0)" in result.stdout
    run_id = re.search(r"run ([0-9a-f]{32})", result.stdout).group(1)
    run = cb.get_run(run_id)
    assert run.data.params["lr"] == "0.25"  # text from the command line, read as a float
    assert run.data.params["label"] == "cli"


@pytest.mark.usefixtures("store")
def test_a_kernel_that_never_starts_fails_the_run_with_what_it_said(tmp_path, train, monkeypatch):
    spec = tmp_path / "kernels" / "kernels" / "broken"
    spec.mkdir(parents=True)
    said = "No module named ipykernel_launcher (a broken environment)"
    code = f"import sys; sys.stderr.write({said!r}); sys.exit(3)"
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-c", code, "{connection_file}"],
                "language": "python",
                "display_name": "broken",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(spec.parents[1]))
    with pytest.warns(notebooks.NotebookRunWarning, match="Kernel died"):
        run = cb.run_notebook(train, kernel_name="broken")
    assert run.info.status == "FAILED"
    assert run.data.tags["canvasback.notebook.failed_cell"] == "-1"
    text = Path(cb.client().download_artifacts(run.run_id, notebooks.ERROR_ARTIFACT)).read_text()
    assert f"The kernel's log ended with:\n{said}" in text


# -- bad input: each refused before anything runs ------------------------------------------
def _runs() -> int:
    return len(cb.search_runs(search_all_experiments=True))


@pytest.mark.usefixtures("store")
def test_a_missing_notebook_is_refused_naming_the_notebooks_there(train):
    with pytest.raises(FileNotFoundError, match=r"missing\.ipynb.* does not exist.*train\.ipynb"):
        cb.run_notebook(train.parent / "missing.ipynb")
    assert _runs() == 0


@pytest.mark.usefixtures("store")
def test_a_param_the_notebook_does_not_declare_is_refused(train):
    with pytest.raises(
        ParamError, match=r"Unknown parameter 'momentum'.*epochs, label, layers, lr, scale"
    ):
        cb.run_notebook(train, {"momentum": 0.9})
    assert _runs() == 0


@pytest.mark.usefixtures("store")
def test_a_param_of_the_wrong_type_for_its_default_is_refused(train):
    with pytest.raises(ParamError, match=r"Invalid value 'fast' for parameter 'epochs'.*type int"):
        cb.run_notebook(train, {"epochs": "fast"})
    assert _runs() == 0


@pytest.mark.usefixtures("store")
def test_params_for_a_notebook_without_a_parameters_cell_are_refused(tmp_path):
    path = write_notebook(tmp_path / "plain.ipynb", "x = 1", parameters=None)
    with pytest.raises(ParamError, match="no cell tagged 'parameters'"):
        cb.run_notebook(path, {"x": 2})
    assert _runs() == 0


def test_the_command_line_reports_bad_input_with_status_2(store, train):
    result = subprocess.run(
        [sys.executable, "-m", "canvasback.cli", "run", str(train), "-P", "nope=1"],
        capture_output=True,
        text=True,
        env={"CANVASBACK_STORE": str(store)},
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Unknown parameter 'nope'" in result.stderr
    assert _runs() == 0


def test_injection_follows_papermills_convention():
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell("%matplotlib inline\nalpha: float = 0.5\nname = 'x'")
    first.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), first, nbformat.v4.new_code_cell("y = 1")]
    declared = notebooks.parameters_of(nb)
    assert declared.cell_index == 1
    assert {k: (s.type, s.default) for k, s in declared.specs.items()} == {
        "alpha": ("float", 0.5),
        "name": ("string", "x"),
    }
    out = notebooks.inject(nb, {"alpha": float("inf"), "name": "it's"})
    assert [c.metadata.get("tags", []) for c in out.cells] == [
        [],
        ["parameters"],
        ["injected-parameters"],
        [],
    ]
    namespace: dict[str, object] = {}
    exec(out.cells[2].source, namespace)  # noqa: S102  # the injected cell is valid Python
    assert namespace["alpha"] == float("inf")
    assert namespace["name"] == "it's"
    # Injecting again replaces the old injected cell rather than adding another.
    again = notebooks.inject(out, {"alpha": 1.0})
    assert sum("injected-parameters" in c.metadata.get("tags", []) for c in again.cells) == 1
