"""Models on a real store: each flavor round-trips through every URI form, skops by
default, pickles only with trust, signatures inferred and enforced, MLflow's folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import canvasback as cb
import canvasback.pyfunc
import canvasback.sklearn
from canvasback.models import PickleLoadWarning, SignatureMismatchError, UntrustedModelError
from canvasback.registry import RegistryNotFoundError
from canvasback.registry.sources import ModelNotFoundError

pytestmark = pytest.mark.usefixtures("store")


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True, as_frame=True)
    return x, y, LogisticRegression(max_iter=500).fit(x, y)


class Doubler(canvasback.pyfunc.PythonModel):
    """A custom model: twice the first column."""

    def load_context(self, context):
        self.offset = float(open(context.artifacts["offset"]).read())  # noqa: PTH123, SIM115

    def predict(self, context, model_input, params=None):  # noqa: ARG002  # MLflow's signature
        return model_input.iloc[:, 0].to_numpy() * 2 + self.offset


def test_sklearn_round_trips_through_every_uri(iris):
    x, _, model = iris
    with cb.start_run(live=False) as run:
        info = canvasback.sklearn.log_model(model, name="model", input_example=x[:5])
    assert info.model_uri.startswith("models:/m-")
    assert info.run_id == run.info.run_id
    version = cb.register_model(info.model_uri, "iris")
    cb.client().set_registered_model_alias("iris", "champion", version.version)
    expected = model.predict(x)
    for uri in (
        info.model_uri,
        f"runs:/{run.info.run_id}/model",
        "models:/iris/1",
        "models:/iris@champion",
        "models:/iris/latest",
    ):
        assert (cb.load_model(uri).predict(x) == expected).all(), uri
    estimator = canvasback.sklearn.load_model("models:/iris@champion")
    assert isinstance(estimator, LogisticRegression)
    np.testing.assert_allclose(estimator.predict_proba(x), model.predict_proba(x))


def test_the_folder_is_mlflows_format(iris):
    x, _, model = iris
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(model, name="model", input_example=x[:3])
    folder = cb.models.model_folder(info.model_uri)
    assert sorted(p.name for p in folder.iterdir()) == [
        "MLmodel",
        "conda.yaml",
        "input_example.json",
        "model.skops",
        "python_env.yaml",
        "requirements.txt",
        "serving_input_example.json",
    ]
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["model_id"] == info.model_id
    assert mlmodel["run_id"] == info.run_id
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [c["name"] for c in inputs] == list(x.columns)
    assert {c["type"] for c in inputs} == {"double"}
    reqs = (folder / "requirements.txt").read_text().split()
    assert any(r.startswith("scikit-learn==") for r in reqs)
    assert any(r.startswith("skops==") for r in reqs)
    example = json.loads((folder / "serving_input_example.json").read_text())
    assert example["dataframe_split"]["columns"] == list(x.columns)


def test_log_model_can_register_in_the_same_call(iris):
    _, _, model = iris
    with cb.start_run(live=False):
        info = cb.log_model(model, "model", registered_model_name="iris")
    assert info.registered_model_version == 1
    assert cb.client().get_model_version("iris", 1).run_id == info.run_id


def test_pickle_formats_load_only_when_trusted(iris):
    x, _, model = iris
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(model, name="m", serialization_format="cloudpickle")
    with pytest.raises(UntrustedModelError, match="trusted=True"):
        cb.load_model(info.model_uri)
    with pytest.warns(PickleLoadWarning, match="runs the code it holds"):
        loaded = cb.load_model(info.model_uri, trusted=True)
    assert (loaded.predict(x) == model.predict(x)).all()


def test_skops_refuses_types_it_does_not_know_unless_named(iris, tmp_path):
    x, y, _ = iris
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)
    with cb.start_run(live=False):  # scikit-learn's own types (trees) are trusted
        info = canvasback.sklearn.log_model(forest, name="forest")
    assert (cb.load_model(info.model_uri).predict(x) == forest.predict(x)).all()

    custom = Constant()
    with pytest.raises(UntrustedModelError, match=r"test_models\.Constant"):
        canvasback.sklearn.save_model(custom, tmp_path / "refused")
    named = [f"{Constant.__module__}.Constant"]
    canvasback.sklearn.save_model(custom, tmp_path / "named", skops_trusted_types=named)
    with pytest.raises(UntrustedModelError, match="skops_trusted_types"):
        canvasback.sklearn.load_model(tmp_path / "named")
    loaded = canvasback.sklearn.load_model(tmp_path / "named", skops_trusted_types=named)
    assert loaded.predict(x[:2]).tolist() == [7, 7]


class Constant(BaseEstimator):
    """An estimator skops does not know."""

    def predict(self, data):
        return np.full(len(data), 7)


def test_a_custom_pyfunc_model_round_trips_with_trust(tmp_path):
    offset = tmp_path / "offset.txt"
    offset.write_text("0.5")
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    with cb.start_run(live=False):
        info = canvasback.pyfunc.log_model(
            name="doubler",
            python_model=Doubler(),
            artifacts={"offset": str(offset)},
            input_example=frame,
        )
    with pytest.raises(UntrustedModelError, match="cloudpickle"):
        cb.load_model(info.model_uri)
    with pytest.warns(PickleLoadWarning):
        loaded = canvasback.pyfunc.load_model(info.model_uri, trusted=True)
    assert loaded.predict(frame).tolist() == [2.5, 4.5]
    assert isinstance(loaded.unwrap_python_model(), Doubler)


def test_predict_checks_the_signature(iris):
    x, _, model = iris
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(model, name="model", input_example=x[:5])
    loaded = cb.load_model(info.model_uri)
    with pytest.raises(
        SignatureMismatchError, match=r"missing column\(s\) \['petal width \(cm\)'\]"
    ):
        loaded.predict(x.drop(columns=["petal width (cm)"]))
    bad = x.assign(**{"sepal length (cm)": "long"})
    with pytest.raises(SignatureMismatchError, match=r"column 'sepal length \(cm\)'.*string"):
        loaded.predict(bad)
    as_int = x.astype({"sepal width (cm)": "int64"})  # int -> double loses nothing
    assert len(loaded.predict(as_int)) == len(x)
    assert (loaded.predict(x.to_numpy()) == model.predict(x)).all()  # columns by position


def test_tensor_signatures_from_numpy(iris):
    x, y, _ = iris
    model = LogisticRegression(max_iter=500).fit(x.to_numpy(), y)
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(model, name="model", input_example=x.to_numpy()[:4])
    loaded = cb.load_model(info.model_uri)
    assert loaded.signature.inputs.to_json() == (
        '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]'
    )
    with pytest.raises(SignatureMismatchError, match=r"shape \(150, 3\).*\(-1, 4\)"):
        loaded.predict(x.to_numpy()[:, :3])
    assert len(loaded.predict(x.to_numpy())) == len(x)


def test_unknown_uris_name_what_exists(iris):
    _, _, model = iris
    with cb.start_run(live=False) as run:
        canvasback.sklearn.log_model(model, name="model", registered_model_name="iris")
    with pytest.raises(RegistryNotFoundError, match=r"No registered model named 'nope'.*'iris'"):
        cb.load_model("models:/nope/1")
    with pytest.raises(RegistryNotFoundError, match="no version 7; its versions are 1"):
        cb.load_model("models:/iris/7")
    with pytest.raises(RegistryNotFoundError, match="no alias 'gold'"):
        cb.load_model("models:/iris@gold")
    with pytest.raises(ModelNotFoundError, match=r"no model at 'weights'.*'model'"):
        cb.load_model(f"runs:/{run.info.run_id}/weights")
    with pytest.raises(ModelNotFoundError, match="No logged model 'm-0123'"):
        cb.load_model("models:/m-0123")
    with cb.start_run(live=False):
        canvasback.sklearn.log_model(model, name="model")
        with pytest.raises(cb.InvalidInputError, match="already has"):
            canvasback.sklearn.log_model(model, name="model")
