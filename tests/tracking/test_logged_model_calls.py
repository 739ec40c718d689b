"""MLflow 3's logged-model calls in canvasback's own API, and a custom model's files.

``import canvasback as mlflow``: ``get_logged_model``, ``search_logged_models`` and
``set_logged_model_tags`` (and the client's), over models canvasback logged; and
``pyfunc.log_model``'s ``code_paths`` (copied, on ``sys.path`` at load, in a fresh
process) and ``artifacts`` given as ``runs:/`` and ``models:/`` URIs (copied in).
"""

from __future__ import annotations

import json
import textwrap

import pytest
from sklearn.dummy import DummyRegressor

import canvasback as mlflow
from canvasback.exceptions import MlflowException
from canvasback.models.trust import PickleLoadWarning
from canvasback.query.filter_lexer import FilterError
from canvasback.tracking.logged_model_reads import LoggedModelNotFoundError


def fitted(constant: float) -> DummyRegressor:
    return DummyRegressor(strategy="constant", constant=constant).fit([[0.0]], [constant])


@pytest.fixture
def models(store):
    """Three models in two runs of one experiment, one in another experiment."""
    mlflow.set_store(store)
    mlflow.set_experiment("models")
    ids = {}
    with mlflow.start_run(live=False):
        ids["small"] = mlflow.sklearn.log_model(fitted(1.0), name="small").model_id
        ids["large"] = mlflow.sklearn.log_model(fitted(3.0), name="large").model_id
    with mlflow.start_run(live=False):
        ids["medium"] = mlflow.sklearn.log_model(fitted(2.0), name="medium").model_id
    mlflow.set_experiment("elsewhere")
    with mlflow.start_run(live=False):
        ids["other"] = mlflow.sklearn.log_model(fitted(9.0), name="other").model_id
    mlflow.set_experiment("models")
    for name, size in (("small", 1), ("medium", 2), ("large", 3)):
        mlflow.set_logged_model_tags(ids[name], {"size": size, "family": "dummy"})
    return ids


def test_get_logged_model_and_set_logged_model_tags(models, store):
    found = mlflow.get_logged_model(models["large"])
    assert (found.name, found.status, found.model_uri) == (
        "large",
        "READY",
        f"models:/{models['large']}",
    )
    assert found.tags == {"size": "3", "family": "dummy"}
    assert found.experiment_id == mlflow.get_experiment_by_name("models").experiment_id
    assert found.artifact_location.startswith((store / "artifacts").as_uri())
    mlflow.set_logged_model_tags(models["large"], {"size": "XL"})
    assert mlflow.MlflowClient().get_logged_model(models["large"]).tags["size"] == "XL"
    with pytest.raises(LoggedModelNotFoundError, match=r"No logged model 'm-0+'"):
        mlflow.get_logged_model("m-" + "0" * 32)
    with pytest.raises(MlflowException, match="tag"):
        mlflow.set_logged_model_tags(models["large"], {"": "empty key"})
    assert mlflow.get_logged_model(models["large"]).tags["size"] == "XL"  # nothing lost


@pytest.mark.usefixtures("models")
def test_search_logged_models_filters_orders_and_defaults_to_the_current_experiment():
    frame = mlflow.search_logged_models()
    assert set(frame["name"]) == {"small", "medium", "large"}
    assert list(frame.columns[:3]) == ["model_id", "experiment_id", "name"]
    by_size = mlflow.search_logged_models(
        filter_string="tags.size >= '2' AND tags.family = 'dummy'",
        order_by=[{"field_name": "tags.size", "ascending": False}],
        output_format="list",
    )
    assert [m.name for m in by_size] == ["large", "medium"]
    either = mlflow.search_logged_models(
        filter_string="name = 'small' OR name LIKE 'lar%'", order_by=["name"], output_format="list"
    )
    assert [m.name for m in either] == ["large", "small"]
    ids = [mlflow.get_experiment_by_name(n).experiment_id for n in ("models", "elsewhere")]
    every = mlflow.MlflowClient().search_logged_models(ids, order_by=["name DESC"], max_results=2)
    assert [m.name for m in every] == ["small", "other"]
    with pytest.raises(FilterError, match="unknown attribute 'colour'"):
        mlflow.search_logged_models(filter_string="colour = 'red'")
    with pytest.raises(MlflowException, match="output_format"):
        mlflow.search_logged_models(output_format="arrow")


def test_code_paths_are_copied_and_on_sys_path_when_the_model_loads_elsewhere(
    store, tmp_path, run_python
):
    """The model's class lives in the user's module: a process without it loads it."""
    code = tmp_path / "project"
    code.mkdir()
    (code / "scaling.py").write_text(
        textwrap.dedent(
            """
            import canvasback

            FACTOR = 10

            class Scaled(canvasback.pyfunc.PythonModel):
                def predict(self, context, model_input, params=None):
                    return [FACTOR * x for x in model_input["x"]]
            """
        )
    )
    log = run_python(
        """
        import json, sys
        sys.path.insert(0, sys.argv[2])
        import canvasback, scaling
        canvasback.set_store(sys.argv[1])
        with canvasback.start_run(live=False):
            info = canvasback.pyfunc.log_model(
                name="scaled",
                python_model=scaling.Scaled(),
                code_paths=[sys.argv[2] + "/scaling.py"],
            )
        print(json.dumps(info.model_uri))
        """,
        store,
        code,
    )
    model_uri = json.loads(log.stdout.strip().splitlines()[-1])
    folder = mlflow.MlflowClient(store).locate_model(model_uri).path
    assert (folder / "code" / "scaling.py").read_text() == (code / "scaling.py").read_text()
    loaded = run_python(
        """
        import json, sys, canvasback
        canvasback.set_store(sys.argv[1])
        model = canvasback.pyfunc.load_model(sys.argv[2], trusted=True)
        print(json.dumps(model.predict({"x": [1, 2]})))
        """,
        store,
        model_uri,
    )
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == [10, 20]


class Labeller(mlflow.pyfunc.PythonModel):
    """Reads the label file and the model it was given as artifacts."""

    def load_context(self, context):
        with open(context.artifacts["labels"]) as fh:  # noqa: PTH123
            self.labels = fh.read().split()
        self.base = mlflow.pyfunc.load_model(context.artifacts["base"], trusted=True)

    def predict(self, context, model_input, params=None):
        del context, params
        return [self.labels[int(v)] for v in self.base.predict(model_input)]


@pytest.mark.usefixtures("store")
def test_artifacts_given_as_runs_and_models_uris_are_copied_into_the_model(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("zero one two")
    with mlflow.start_run(live=False) as source:
        mlflow.log_artifact(labels, "meta")
        base = mlflow.sklearn.log_model(fitted(2.0), name="base", registered_model_name="base")
    mlflow.MlflowClient().set_registered_model_alias("base", "champion", 1)
    with mlflow.start_run(live=False):
        info = mlflow.pyfunc.log_model(
            name="labeller",
            python_model=Labeller(),
            artifacts={
                "labels": f"runs:/{source.info.run_id}/meta/labels.txt",
                "base": "models:/base@champion",
            },
        )
    labels.write_text("changed")  # the model keeps its own copy
    folder = mlflow.MlflowClient().locate_model(info.model_uri).path
    assert (folder / "artifacts" / "labels.txt").read_text() == "zero one two"
    assert (folder / "artifacts" / "base" / "MLmodel").is_file()
    assert base.model_id  # the base model stays where it was logged
    with pytest.warns(PickleLoadWarning, match="runs the code it holds"):
        loaded = mlflow.pyfunc.load_model(info.model_uri, trusted=True)
    assert loaded.predict([[0.0], [5.0]]) == ["two", "two"]
    with mlflow.start_run(live=False), pytest.raises(MlflowException, match="'s3://b/k'"):
        mlflow.pyfunc.log_model(name="bad", python_model=Labeller(), artifacts={"x": "s3://b/k"})
