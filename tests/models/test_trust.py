"""Loading a model is trustworthy on a real store: a skops file runs no code unless the
user names what it calls, a model's files stay inside its folder, and a model folder
that a killed ``log_model`` left behind neither registers nor loads."""

from __future__ import annotations

import io
import json
import re
import signal
import zipfile
from typing import TYPE_CHECKING

import pytest
import skops
import skops.io
import yaml
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import canvasback as cb
import canvasback.sklearn
from canvasback.models import IncompleteModelError, ModelFileOutsideError, UntrustedModelError
from canvasback.registry.sources import ModelNotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

pytestmark = pytest.mark.usefixtures("store")

RUNS_CODE = "sklearn.utils._testing.assert_run_python_script_without_output"


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True)
    return x, y


def _hostile_skops(path: Path, marker: Path) -> None:
    """A skops file whose one object is a call of a scikit-learn function that runs code."""
    with zipfile.ZipFile(io.BytesIO(skops.io.dumps(0))) as real:  # the installed protocol
        protocol = json.loads(real.read("schema.json"))["protocol"]
    module, _, function = RUNS_CODE.rpartition(".")
    source = f"import pathlib; pathlib.Path({str(marker)!r}).touch()"
    schema = {
        "__class__": function,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "JsonNode",
            "content": json.dumps([source]),
            "is_json": True,
        },
        "protocol": protocol,
        "_skops_version": skops.__version__,
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))


@pytest.mark.slow  # once trusted, the file's function runs a Python script
def test_a_skops_file_that_calls_a_function_runs_nothing_unless_named(iris, tmp_path):
    x, y = iris
    marker = tmp_path / "code-ran"
    folder = tmp_path / "hostile"
    canvasback.sklearn.save_model(LogisticRegression(max_iter=500).fit(x, y), folder)
    _hostile_skops(folder / "model.skops", marker)
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(LogisticRegression(max_iter=500).fit(x, y), name="m")
    _hostile_skops(cb.models.model_folder(info.model_uri) / "model.skops", marker)
    cb.register_model(info.model_uri, "hostile")

    loads = {
        "load_model(folder)": lambda: cb.load_model(folder),
        "sklearn.load_model(folder)": lambda: canvasback.sklearn.load_model(folder),
        "load_model(models:/hostile/1)": lambda: cb.load_model("models:/hostile/1"),
        "sklearn.load_model(models:/hostile/1)": lambda: canvasback.sklearn.load_model(
            "models:/hostile/1"
        ),
    }
    for how, load in loads.items():
        with pytest.raises(UntrustedModelError, match=RUNS_CODE.replace(".", r"\.")):
            load()
        assert not marker.exists(), f"{how} ran the file's code"

    # The file is live: named by the user, the function is called and its code runs.
    canvasback.sklearn.load_model(folder, skops_trusted_types=[RUNS_CODE])
    assert marker.exists()


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGDClassifier(random_state=0),
        lambda: LogisticRegression(max_iter=500),
        lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        lambda: make_pipeline(SimpleImputer(), StandardScaler(), SGDClassifier(random_state=0)),
        lambda: DecisionTreeClassifier(random_state=0),
        lambda: GradientBoostingClassifier(n_estimators=5, random_state=0),
        lambda: MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
        lambda: KNeighborsClassifier(algorithm="brute"),
    ],
    ids=["sgd", "logistic", "scaled", "imputed", "tree", "boosting", "mlp", "knn-brute"],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fitted_estimators_load_without_words(iris, make):
    x, y = iris
    model = make().fit(x, y)
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(model, name="model", registered_model_name="plain")
    loaded = canvasback.sklearn.load_model(f"models:/plain/{info.registered_model_version}")
    assert (loaded.predict(x) == model.predict(x)).all()


def test_the_registry_notebooks_forest_champion_loads_without_words():
    x, y = load_digits(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=60, max_depth=12, random_state=0).fit(x, y)
    with cb.start_run(live=False):
        info = cb.sklearn.log_model(forest, name="model", input_example=x[:5])
    version = cb.register_model(info.model_uri, "digits-classifier")
    cb.MlflowClient().set_registered_model_alias("digits-classifier", "champion", version.version)
    champion = cb.load_model("models:/digits-classifier@champion")
    assert (champion.predict(x) == forest.predict(x)).all()


def test_a_function_of_scikit_learn_is_refused_unless_named(iris, tmp_path):
    x, y = iris
    selector = make_pipeline(SelectKBest(f_classif, k=2), LogisticRegression(max_iter=500))
    selector.fit(x, y)
    function = "sklearn.feature_selection._univariate_selection.f_classif"
    with pytest.raises(
        UntrustedModelError, match=rf"(?s)save.*\['{function}'\].*skops_trusted_types"
    ):
        canvasback.sklearn.save_model(selector, tmp_path / "refused")
    assert not (tmp_path / "refused" / "model.skops").exists()
    canvasback.sklearn.save_model(selector, tmp_path / "named", skops_trusted_types=[function])
    with pytest.raises(UntrustedModelError, match=function):
        canvasback.sklearn.load_model(tmp_path / "named")
    for loaded in (
        canvasback.sklearn.load_model(tmp_path / "named", skops_trusted_types=[function]),
        canvasback.sklearn.load_model(tmp_path / "named", trusted=True),  # the file's own list
    ):
        assert (loaded.predict(x) == selector.predict(x)).all()


def test_index_holding_types_are_named_in_the_error_with_the_reason(iris, tmp_path):
    x, y = iris
    knn = KNeighborsClassifier(algorithm="kd_tree").fit(x, y)
    with pytest.raises(UntrustedModelError) as refused:
        canvasback.sklearn.save_model(knn, tmp_path / "knn")
    message = str(refused.value)
    names = [
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.neighbors._kd_tree.KDTree",
    ]
    assert f"skops_trusted_types={names!r}" in message
    assert "without bounds checks" in message
    canvasback.sklearn.save_model(knn, tmp_path / "knn", skops_trusted_types=names)
    loaded = canvasback.sklearn.load_model(tmp_path / "knn", skops_trusted_types=names)
    assert (loaded.predict(x) == knn.predict(x)).all()


def test_a_forest_whose_tree_indices_leave_its_nodes_is_refused(iris, tmp_path):
    x, y = iris
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)
    tree = forest.estimators_[1].tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    nodes["left_child"][0] = 10**9  # scikit-learn takes it, and predict would follow it
    tree.__setstate__({**state, "nodes": nodes})
    canvasback.sklearn.save_model(forest, tmp_path / "forest")
    with pytest.raises(UntrustedModelError, match=r"estimators_\[1\]\.tree_.*1000000000"):
        canvasback.sklearn.load_model(tmp_path / "forest")
    with pytest.raises(UntrustedModelError, match="not one scikit-learn built"):
        cb.load_model(tmp_path / "forest")


def _logged(x: np.ndarray, y: np.ndarray) -> tuple[str, Path]:
    with cb.start_run(live=False) as run:
        canvasback.sklearn.log_model(LogisticRegression(max_iter=500).fit(x, y), name="model")
    uri = f"runs:/{run.info.run_id}/model"
    return uri, cb.models.model_folder(uri)


def _symlink_mlmodel(folder: Path, outside: Path) -> str:
    (outside / "MLmodel").write_bytes((folder / "MLmodel").read_bytes())
    (folder / "MLmodel").unlink()
    (folder / "MLmodel").symlink_to(outside / "MLmodel")
    return "MLmodel"


def _symlink_model_file(folder: Path, outside: Path) -> str:
    (folder / "model.skops").rename(outside / "model.skops")
    (folder / "model.skops").symlink_to(outside / "model.skops")
    return "model.skops"


def _absolute_model_file(folder: Path, outside: Path) -> str:
    (folder / "model.skops").rename(outside / "model.skops")
    described = yaml.safe_load((folder / "MLmodel").read_text())
    described["flavors"]["sklearn"]["pickled_model"] = str(outside / "model.skops")
    described["flavors"]["python_function"]["model_path"] = str(outside / "model.skops")
    (folder / "MLmodel").write_text(yaml.safe_dump(described))
    return str(outside / "model.skops")


@pytest.mark.parametrize(
    "point_outside",
    [_symlink_mlmodel, _symlink_model_file, _absolute_model_file],
    ids=["MLmodel-symlink", "model-file-symlink", "absolute-pickled_model"],
)
def test_model_files_pointing_outside_the_folder_are_refused(iris, tmp_path, point_outside):
    uri, folder = _logged(*iris)
    outside = tmp_path / "outside"
    outside.mkdir()
    name = point_outside(folder, outside)
    expected = re.escape(f"{name!r} points to '{outside.resolve()}/")
    for attempt in (
        lambda: cb.load_model(uri),
        lambda: canvasback.sklearn.load_model(folder),
        lambda: cb.register_model(uri, "escaping"),
    ):
        with pytest.raises(ModelFileOutsideError, match=expected):
            attempt()
    assert cb.MlflowClient().search_model_versions() == []


def test_a_model_folder_missing_its_model_file_is_neither_registered_nor_loaded(iris):
    # What a copy cut short after MLmodel leaves (canvasback before MLmodel went last,
    # or a folder copied by hand): MLmodel names a model file that is not there.
    uri, folder = _logged(*iris)
    (folder / "model.skops").unlink()
    expected = rf"{folder}' is incomplete: its MLmodel names the sklearn model file 'model\.skops'"
    with pytest.raises(IncompleteModelError, match=expected):
        cb.register_model(uri, "partial")
    with pytest.raises(IncompleteModelError, match=expected):
        cb.load_model(uri)
    assert cb.MlflowClient().search_model_versions() == []


@pytest.mark.slow
def test_a_log_model_killed_mid_copy_leaves_no_model(store, tmp_path, spawn_python, wait):
    ready, go = tmp_path / "copying-model-file", tmp_path / "never"
    child = spawn_python(
        f"""
        import pathlib, time
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        import canvasback as cb
        import canvasback.sklearn
        from canvasback.store.fs import LocalFileSystem

        copy_in = LocalFileSystem.copy_in
        def held(self, source, rel):
            if source.name == "model.skops":  # its MLmodel is copied, or not, by now
                pathlib.Path({str(ready)!r}).write_text(rel)
                while not pathlib.Path({str(go)!r}).exists():
                    time.sleep(0.01)
            return copy_in(self, source, rel)
        LocalFileSystem.copy_in = held

        cb.set_store({str(store)!r})
        x, y = load_iris(return_X_y=True)
        with cb.start_run(live=False):
            canvasback.sklearn.log_model(LogisticRegression(max_iter=500).fit(x, y), name="m")
        """
    )
    wait(lambda: ready.exists() and ready.read_text(), what="the child copying model.skops")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    run_id = ready.read_text().split("/")[1]
    folder = store / "artifacts" / run_id / "m"
    assert folder.is_dir()  # the copy had begun
    assert not (folder / "model.skops").exists()

    with pytest.raises(ModelNotFoundError, match=r"no MLmodel file there"):
        cb.register_model(f"runs:/{run_id}/m", "killed")
    with pytest.raises(ModelNotFoundError, match=r"no MLmodel file there"):
        cb.load_model(f"runs:/{run_id}/m")
    assert cb.MlflowClient().search_model_versions() == []
