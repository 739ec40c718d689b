"""MLflow loads canvasback's model folders and canvasback loads MLflow's, both ways,
with real MLflow 3 in the benchmarks' throw-away environment (built on first use)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import canvasback as cb
import canvasback.sklearn
from canvasback.models import PickleLoadWarning, UntrustedModelError

# MLflow runs in a venv of its own, built on first use.
pytestmark = [pytest.mark.slow, pytest.mark.wheel, pytest.mark.usefixtures("store")]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def mlflow_python() -> Path:
    """The python of a venv with MLflow, scikit-learn and skops (pinned in benchmarks)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("bench_run", BENCHMARKS / "run.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_run"] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        return Path(module.ensure_peer_venv())
    finally:
        sys.path.remove(str(BENCHMARKS))


def _in_mlflow(python: Path, code: str, *args: object) -> object:
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [str(python), "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True, as_frame=True)
    return x, LogisticRegression(max_iter=500).fit(x, y)


@pytest.mark.parametrize("fmt", ["skops", "cloudpickle"])
def test_mlflow_loads_a_model_canvasback_logged(iris, mlflow_python, fmt):
    x, model = iris
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(
            model, name="model", input_example=x[:5], serialization_format=fmt
        )
    folder = cb.models.model_folder(info.model_uri)
    got = _in_mlflow(
        mlflow_python,
        """
        import json, sys
        import mlflow.pyfunc, mlflow.sklearn
        from sklearn.datasets import load_iris
        x, _ = load_iris(return_X_y=True, as_frame=True)
        pyfunc = mlflow.pyfunc.load_model(sys.argv[1])
        estimator = mlflow.sklearn.load_model(sys.argv[1])
        print(json.dumps({
            "pyfunc": pyfunc.predict(x).tolist(),
            "sklearn": estimator.predict(x).tolist(),
            "inputs": pyfunc.metadata.signature.inputs.input_names(),
            "run_id": pyfunc.metadata.run_id,
        }))
        """,
        folder,
    )
    assert isinstance(got, dict)
    expected = model.predict(x).tolist()
    assert got["pyfunc"] == expected
    assert got["sklearn"] == expected
    assert got["inputs"] == list(x.columns)
    assert got["run_id"] == info.run_id


def test_canvasback_loads_models_mlflow_saved(iris, mlflow_python, tmp_path):
    x, _ = iris
    got = _in_mlflow(
        mlflow_python,
        """
        import json, sys
        import mlflow.pyfunc, mlflow.sklearn
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        x, y = load_iris(return_X_y=True, as_frame=True)
        model = LogisticRegression(max_iter=500).fit(x, y)
        root = sys.argv[1]
        mlflow.sklearn.save_model(model, root + "/skops", serialization_format="skops",
                                  input_example=x[:5])
        mlflow.sklearn.save_model(model, root + "/cloudpickle",
                                  serialization_format="cloudpickle")

        class AddOne(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return model_input.iloc[:, 0] + 1

        mlflow.pyfunc.save_model(root + "/custom", python_model=AddOne(),
                                 input_example=x[:3])
        print(json.dumps(model.predict(x).tolist()))
        """,
        tmp_path,
    )
    skops_model = cb.load_model(tmp_path / "skops")  # skops: no trust needed
    assert skops_model.predict(x).tolist() == got
    assert canvasback.sklearn.load_model(tmp_path / "skops").predict(x).tolist() == got
    with pytest.raises(UntrustedModelError):
        cb.load_model(tmp_path / "cloudpickle")
    with pytest.warns(PickleLoadWarning):
        assert cb.load_model(tmp_path / "cloudpickle", trusted=True).predict(x).tolist() == got
    with pytest.warns(PickleLoadWarning):
        custom = cb.load_model(tmp_path / "custom", trusted=True)
    assert custom.predict(x[:3]).tolist() == (x.iloc[:3, 0] + 1).tolist()
