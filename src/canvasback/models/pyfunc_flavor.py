"""The ``python_function`` flavor: custom models (``PythonModel``) and generic loading.

``load_pyfunc`` loads any folder whose pyfunc flavor canvasback knows (scikit-learn's,
and cloudpickled ``PythonModel`` objects, whether canvasback or MLflow saved them) as a
:class:`PyFuncModel`, whose ``predict`` checks its input against the signature first.
"""

from __future__ import annotations

import inspect
import pickle
from typing import TYPE_CHECKING, Any, Final

from canvasback.exceptions import MlflowException
from canvasback.models import model_files, requirements, sklearn_flavor, trust
from canvasback.models.mlmodel import Model, save_input_example
from canvasback.models.signature import ModelSignature, enforce, infer_signature
from canvasback.registry import sources
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

FLAVOR: Final = "python_function"
_PYTHON_MODEL: Final = "python_model.pkl"
_LOADER: Final = "mlflow.pyfunc.model"


class PythonModelContext:
    """What a custom model gets at load time: its artifacts' local paths."""

    def __init__(
        self, artifacts: dict[str, str], model_config: dict[str, Any] | None = None
    ) -> None:
        self.artifacts = artifacts
        self.model_config = model_config or {}


class PythonModel:
    """Base of custom models (MLflow's ``mlflow.pyfunc.PythonModel``)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Prepare the model from its artifacts (called once, at load)."""

    def predict(
        self,
        context: PythonModelContext,
        model_input: Any,  # noqa: ANN401
        params: dict[str, Any] | None = None,
    ) -> Any:  # noqa: ANN401
        """The model's predictions for ``model_input``."""
        raise NotImplementedError


class _TypeHintsStandIn:
    """Holds the state of MLflow's cached type hints, which canvasback does not use."""


class _MlflowNamesUnpickler(pickle.Unpickler):
    # A model MLflow saved subclasses mlflow's PythonModel (and caches its type hints);
    # without MLflow installed, canvasback's classes of the same interface stand in.
    _STAND_INS: Final = {
        ("mlflow.pyfunc.model", "PythonModel"): PythonModel,
        ("mlflow.pyfunc.model", "PythonModelContext"): PythonModelContext,
        ("mlflow.models.signature", "_TypeHints"): _TypeHintsStandIn,
    }

    def find_class(self, module: str, name: str) -> Any:  # noqa: ANN401
        try:
            return super().find_class(module, name)
        except ImportError:
            stand_in = self._STAND_INS.get((module, name))
            if stand_in is None:
                raise
            return stand_in


class PyFuncModel:
    """A loaded model with one ``predict`` (MLflow's ``PyFuncModel``)."""

    def __init__(self, model: Model, implementation: Any, folder: Path) -> None:  # noqa: ANN401
        self.metadata = model
        self._impl = implementation
        self.folder = folder

    @property
    def signature(self) -> ModelSignature | None:
        """What the model takes and returns, if it was saved with a signature."""
        return self.metadata.signature

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:  # noqa: ANN401
        """Predictions for ``data``, after checking it against the signature."""
        return self._impl.predict(enforce(self.metadata.signature, data), params)

    def unwrap_python_model(self) -> Any:  # noqa: ANN401
        """The object behind the model (the estimator, or the ``PythonModel``)."""
        return self._impl.raw

    def __repr__(self) -> str:
        flavors = ", ".join(self.metadata.flavors)
        return f"PyFuncModel(flavors=[{flavors}], run_id={self.metadata.run_id!r})"


class _Estimator:
    def __init__(self, raw: Any, predict_fn: str) -> None:  # noqa: ANN401
        self.raw, self._predict = raw, getattr(raw, predict_fn)

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:  # noqa: ANN401
        del params
        return self._predict(data)


class _Custom:
    def __init__(self, raw: Any, context: PythonModelContext) -> None:  # noqa: ANN401
        self.raw, self.context = raw, context
        names = list(inspect.signature(raw.predict).parameters)
        self._with_context = bool(names) and names[0] == "context"

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:  # noqa: ANN401
        if self._with_context:
            return self.raw.predict(self.context, data, params=params)
        return self.raw.predict(data, params=params)


def save(
    python_model: Any,  # noqa: ANN401  # an object with predict
    folder: Path,
    *,
    artifacts: Mapping[str, str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,  # noqa: ANN401
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    code_paths: Sequence[str | Path] | None = None,
) -> Model:
    """Write a custom model (cloudpickled, as MLflow does) into an empty ``folder``.

    ``artifacts`` are copied into it (``runs:/`` and ``models:/`` URIs fetched first),
    and ``code_paths`` into its ``code/``, which loading puts on ``sys.path``.
    """
    if not callable(getattr(python_model, "predict", None)):
        msg = (
            f"Invalid python_model {type(python_model).__name__}: an object with a "
            "predict(context, model_input, params=None) method is required"
        )
        raise InvalidInputError(msg)
    import cloudpickle  # noqa: PLC0415  # the format MLflow uses for custom models

    model = Model(metadata=metadata)
    saved = model_files.copy_artifacts(artifacts, folder)
    code = model_files.copy_code(code_paths, folder)
    example = save_input_example(model, folder, input_example)
    if signature is None and example is not None:
        context = PythonModelContext({k: str(folder / v["path"]) for k, v in saved.items()})
        python_model.load_context(context) if hasattr(python_model, "load_context") else None
        output = _Custom(python_model, context).predict(example, None)
        signature = infer_signature(example, output)
    if isinstance(signature, ModelSignature):
        model.signature = signature
    (folder / _PYTHON_MODEL).write_bytes(
        cloudpickle.dumps(python_model, protocol=pickle.DEFAULT_PROTOCOL)
    )
    model.add_flavor(
        FLAVOR,
        artifacts=saved or None,
        cloudpickle_version=cloudpickle.__version__,
        code=code,
        env={"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
        loader_module=_LOADER,
        python_model=_PYTHON_MODEL,
        python_version=requirements.python_version(),
        streamable=False,
    )
    reqs = pip_requirements or requirements.infer(["cloudpickle"])
    requirements.write(folder, [*reqs, *(extra_pip_requirements or [])])
    model.model_size_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return model


def load_pyfunc(
    folder: Path,
    *,
    trusted: bool | None = None,
    skops_trusted_types: list[str] | None = None,
) -> PyFuncModel:
    """A model folder as a :class:`PyFuncModel`."""
    model = Model.load(folder)
    conf = model.flavors.get(FLAVOR)
    if conf is None:
        have = ", ".join(model.flavors) or "none"
        msg = f"The model at {str(folder)!r} has no python_function flavor (its flavors: {have})"
        raise MlflowException(msg)
    loader = conf.get("loader_module")
    model_files.add_code_to_path(folder, conf)
    if loader == "mlflow.sklearn":
        raw = sklearn_flavor.load(
            folder, model, trusted=trusted, skops_trusted_types=skops_trusted_types
        )
        return PyFuncModel(model, _Estimator(raw, conf.get("predict_fn", "predict")), folder)
    if loader == _LOADER and "python_model" in conf:
        trust.require(trusted, "cloudpickle custom model", str(folder))
        with sources.model_file(folder, conf["python_model"]).open("rb") as fh:
            raw = _MlflowNamesUnpickler(fh).load()
        artifacts = {
            k: str(sources.model_file(folder, v["path"]))
            for k, v in (conf.get("artifacts") or {}).items()
        }
        context = PythonModelContext(artifacts)
        if hasattr(raw, "load_context"):
            raw.load_context(context)
        return PyFuncModel(model, _Custom(raw, context), folder)
    msg = (
        f"The model at {str(folder)!r} needs the pyfunc loader {loader!r}; canvasback loads "
        "scikit-learn models and custom python_model models (mlflow.pyfunc.model)"
    )
    raise MlflowException(msg)
