"""The README's opening examples for MLflow users do what the README says they do.

The first is MLflow's own code: it runs unchanged, with real MLflow and canvasback's
plugin (``MLFLOW_TRACKING_URI=canvasback:///<store>``), and its run lands in the store.
The second is the same code with one line changed, the import, and runs on canvasback
alone. The trap the README names is real: an import statement of an MLflow submodule
after ``import canvasback as mlflow`` brings MLflow's own package back.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from canvasback.mlflow_plugin import uris
from canvasback.tracking.client import Client

pytestmark = pytest.mark.slow  # each example runs in a child process, MLflow's in seconds

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def opening_examples() -> list[str]:
    """The Python examples before the README's first section."""
    opening = README.read_text().split("\n## ", 1)[0]
    return PYTHON_BLOCK.findall(opening)


def entry_points_folder(folder: Path) -> Path:
    """A distribution holding canvasback's MLflow entry points, as an install writes them."""
    import tomllib  # noqa: PLC0415

    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    dist = folder / "canvasback_readme_entry_points-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cb-readme-ep\nVersion: 0\n")
    lines = [
        line
        for group, targets in groups.items()
        for line in (f"[{group}]", *(f"{n} = {t}" for n, t in targets.items()), "")
    ]
    (dist / "entry_points.txt").write_text("\n".join(lines))
    return folder


def _logged(store: Path) -> list[tuple[str, str, float]]:
    client = Client(store)
    frame = client.search_runs_frame([client.experiment_id_for("Default")])
    return list(zip(frame["run_name"], frame["params.lr"], frame["metrics.loss"], strict=True))


def _run(run_python, example: str, *, store: Path | None = None):
    # The example's last line is an expression: the script says how many runs it found.
    # A store is chosen as a user would, in the environment (the child's own is cleared).
    *body, last = example.rstrip().splitlines()
    setup = [f"import os; os.environ['CANVASBACK_STORE'] = {str(store)!r}"] if store else []
    return run_python("\n".join([*setup, *body, f"print(len({last}))"]), timeout=300)


def test_the_first_example_is_mlflows_own_code_and_runs_unchanged(
    run_python, tmp_path, monkeypatch
):
    first = opening_examples()[0]
    assert first.startswith("import mlflow ")
    assert "canvasback" not in first
    store = tmp_path / "store"
    found = entry_points_folder(tmp_path / "entry-points")
    path = os.pathsep.join([str(found), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uris.store_uri(store))
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    assert _run(run_python, first).stdout.split()[-1] == "1"
    assert _logged(store) == [("baseline", "0.01", 0.01)]


def test_the_second_example_changes_only_the_import_and_runs_on_canvasback(run_python, tmp_path):
    first, second = opening_examples()[:2]
    changed = [
        (a, b) for a, b in zip(first.splitlines(), second.splitlines(), strict=True) if a != b
    ]
    assert [b.split("#")[0].strip() for _, b in changed] == ["import canvasback as mlflow"]
    store = tmp_path / "store"
    assert _run(run_python, second, store=store).stdout.split()[-1] == "1"
    assert _logged(store) == [("baseline", "0.01", 0.01)]


def test_an_import_statement_of_an_mlflow_submodule_brings_mlflow_back(run_python):
    text = README.read_text()
    assert "`import mlflow.sklearn`" in text
    assert "write `import canvasback.sklearn`" in text
    shown = run_python(
        """
        import json
        import canvasback as mlflow
        before = (mlflow.__name__, mlflow.sklearn.log_model.__module__)
        import mlflow.sklearn
        print(json.dumps([*before, mlflow.__name__, mlflow.sklearn.log_model.__module__]))
        """,
        timeout=300,
    )
    assert json.loads(shown.stdout.splitlines()[-1]) == [
        "canvasback",
        "canvasback.sklearn",
        "mlflow",
        "mlflow.sklearn",
    ]
