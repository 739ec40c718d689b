"""The scikit-learn flavor: skops by default, pickle or cloudpickle when asked.

The folder is MLflow's: ``model.skops`` (or ``model.pkl``), an ``MLmodel`` file with the
``sklearn`` and ``python_function`` flavors, requirements files and the input example,
so MLflow's ``mlflow.sklearn.load_model`` and ``mlflow.pyfunc.load_model`` read it.
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any, Final

from canvasback.models import requirements, skops_types, trust
from canvasback.models.mlmodel import Model, save_input_example
from canvasback.models.signature import ModelSignature, infer_signature
from canvasback.registry import sources
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from pathlib import Path

FLAVOR: Final = "sklearn"
FORMATS: Final = ("skops", "pickle", "cloudpickle")
_FILES: Final = {"skops": "model.skops", "pickle": "model.pkl", "cloudpickle": "model.pkl"}


def save(
    sk_model: Any,  # noqa: ANN401  # any scikit-learn estimator
    folder: Path,
    *,
    serialization_format: str = "skops",
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,  # noqa: ANN401
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
) -> Model:
    """Write a scikit-learn model into an empty ``folder``; returns its ``MLmodel``."""
    if serialization_format not in FORMATS:
        msg = (
            f"Invalid serialization_format {serialization_format!r}: "
            f"one of {', '.join(FORMATS)} is required"
        )
        raise InvalidInputError(msg)
    if not hasattr(sk_model, pyfunc_predict_fn):
        msg = (
            f"Cannot save {type(sk_model).__name__}: it has no {pyfunc_predict_fn!r} method "
            "(pyfunc_predict_fn names the method predict calls)"
        )
        raise InvalidInputError(msg)
    model = Model(metadata=metadata)
    example = save_input_example(model, folder, input_example)
    if signature is None and example is not None:
        signature = infer_signature(example, getattr(sk_model, pyfunc_predict_fn)(example))
    if isinstance(signature, ModelSignature):
        model.signature = signature
    data_file = _FILES[serialization_format]
    _dump(sk_model, folder / data_file, serialization_format, skops_trusted_types)
    import sklearn  # noqa: PLC0415  # the model is one: scikit-learn is loaded

    model.add_flavor(
        "python_function",
        env={"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
        loader_module="mlflow.sklearn",
        model_path=data_file,
        predict_fn=pyfunc_predict_fn,
        python_version=requirements.python_version(),
    )
    model.add_flavor(
        FLAVOR,
        code=None,
        pickled_model=data_file,
        serialization_format=serialization_format,
        sklearn_version=sklearn.__version__,
        skops_trusted_types=skops_trusted_types,
    )
    needed = ["scikit-learn", "skops" if serialization_format == "skops" else "cloudpickle"]
    reqs = pip_requirements or requirements.infer(needed)
    requirements.write(folder, [*reqs, *(extra_pip_requirements or [])])
    model.model_size_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return model


def _dump(sk_model: Any, path: Path, fmt: str, trusted_types: list[str] | None) -> None:  # noqa: ANN401
    if fmt == "skops":
        import skops.io  # noqa: PLC0415  # the safe format's library, when used

        data = skops.io.dumps(sk_model)
        # Refused before the file exists: what loads back unnamed is what saves unnamed.
        untrusted = skops.io.get_untrusted_types(data=data)
        skops_types.allowed(untrusted, trusted_types, str(path), action="save")
        path.write_bytes(data)
        return
    if fmt == "cloudpickle":
        import cloudpickle  # noqa: PLC0415

        path.write_bytes(cloudpickle.dumps(sk_model, protocol=pickle.DEFAULT_PROTOCOL))
        return
    path.write_bytes(pickle.dumps(sk_model, protocol=pickle.DEFAULT_PROTOCOL))


def load(
    folder: Path,
    model: Model,
    *,
    trusted: bool | None = None,
    skops_trusted_types: list[str] | None = None,
) -> Any:  # noqa: ANN401  # the estimator
    """The estimator saved in a folder with the ``sklearn`` flavor."""
    conf = model.flavors.get(FLAVOR) or {}
    fmt = conf.get("serialization_format", "pickle")
    path = sources.model_file(folder, conf.get("pickled_model", _FILES.get(fmt, "model.pkl")))
    if fmt == "skops":
        import skops.io  # noqa: PLC0415

        data = path.read_bytes()  # audited and loaded from the same bytes
        untrusted = skops.io.get_untrusted_types(data=data)
        named = [*(skops_trusted_types or [])]
        if trusted:  # the caller trusts the file, hence the types it lists itself
            named += conf.get("skops_trusted_types") or []
        estimator = skops.io.loads(data, trusted=skops_types.allowed(untrusted, named, str(folder)))
        if skops_types.TREE in untrusted:
            skops_types.check_trees(estimator, str(folder))
        return estimator
    trust.require(trusted, f"{fmt} model", str(folder))
    with path.open("rb") as fh:
        return pickle.load(fh)  # noqa: S301  # trusted by the caller, checked above
