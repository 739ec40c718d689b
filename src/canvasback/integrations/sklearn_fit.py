"""What one autologged scikit-learn fit logs, as MLflow's ``mlflow.sklearn.autolog`` does.

Before training: the estimator's params and the tags ``estimator_name`` and
``estimator_class`` (``sklearn_params.py``). A copy of the training data is taken
first, so that what training does to the arrays changes no metric or example.

After training: the training metrics (``sklearn_metrics.py``), ``estimator.html`` (the
estimator as scikit-learn draws it in a notebook), a search's results
(``sklearn_search.py``), then the fitted model as ``model`` (and a search's best
estimator as ``best_estimator``) in canvasback's model format: skops, with the signature
inferred from the first five training rows and their predictions, and those rows as
the input example when ``log_input_examples=True``. Models come last, so that a model
that cannot be saved loses nothing else. An estimator without ``predict`` (a
transformer) has no model logged.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from canvasback.integrations import sklearn_metrics, sklearn_search
from canvasback.integrations.session import LOG
from canvasback.integrations.sklearn_params import estimator_tags, flat_params, is_search
from canvasback.models import logging as model_logging
from canvasback.models import sklearn_flavor
from canvasback.models.signature import ModelSignature, infer_signature

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from canvasback.integrations.settings import Options
    from canvasback.tracking.run import Run

# Rows of the training data kept as the input example, as MLflow keeps.
EXAMPLE_ROWS: Final = 5
_POSITIONAL: Final = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
)


@dataclass(frozen=True)
class TrainingData:
    """What a fit was given: copies of the data, the labels and the sample weights."""

    x: Any
    y: Any
    sample_weight: Any


def before(
    run: Run,
    options: Options,
    estimator: Any,  # noqa: ANN401  # any scikit-learn estimator
    fit: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Callable[[], None]:
    """Log the params and tags of ``estimator`` about to be fitted; returns the rest's logger."""
    data = training_data(fit, args, kwargs)
    run.log_params(flat_params(estimator))
    run.set_tags(estimator_tags(estimator))

    def after() -> None:
        _after(run, options, estimator, data)

    return after


def _after(run: Run, options: Options, estimator: Any, data: TrainingData) -> None:  # noqa: ANN401
    metrics = sklearn_metrics.training_metrics(estimator, data.x, data.y, data.sample_weight)
    if metrics:
        run.log_metrics(metrics)
    run.log_text(_estimator_html(estimator), "estimator.html")
    search = is_search(estimator)
    if search:
        sklearn_search.log_results(run, options, estimator)
    if options.log_models:
        log_model(estimator, "model", data, options)
        if search and hasattr(estimator, "best_estimator_"):
            log_model(estimator.best_estimator_, "best_estimator", data, options)


def training_data(
    fit: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> TrainingData:
    """The data a fit is called with, by its signature's names (``fit(X, y, sample_weight)``)."""
    names = [p.name for p in inspect.signature(fit).parameters.values() if p.kind in _POSITIONAL]
    names = names[1:]  # past self

    def argument(index: int) -> Any:  # noqa: ANN401
        if len(args) > index:
            return args[index]
        return kwargs.get(names[index]) if len(names) > index else None

    weight = argument(names.index("sample_weight")) if "sample_weight" in names else None
    return TrainingData(copy.deepcopy(argument(0)), copy.deepcopy(argument(1)), weight)


def log_model(estimator: Any, name: str, data: TrainingData, options: Options) -> None:  # noqa: ANN401
    """Log ``estimator`` into the active run as the model ``name``."""
    if not hasattr(estimator, "predict"):
        LOG.info("%s has no predict method: no model is logged", type(estimator).__name__)
        return
    example = _example(data) if options.log_input_examples or options.log_model_signatures else None
    signature = _signature(estimator, example) if options.log_model_signatures else None
    kept = example if options.log_input_examples else None
    model_logging.log_model(
        lambda folder: sklearn_flavor.save(
            estimator,
            folder,
            # False, not None: no signature inferred again from the example.
            signature=signature if signature is not None else False,
            input_example=kept,
        ),
        name,
    )


def _example(data: TrainingData) -> Any:  # noqa: ANN401
    try:
        return data.x[:EXAMPLE_ROWS]
    except Exception as exc:  # noqa: BLE001 - the model is logged without one
        LOG.warning("Failed to gather an input example: %s", exc)
        return None


def _signature(estimator: Any, example: Any) -> ModelSignature | None:  # noqa: ANN401
    if example is None:
        return None
    try:
        # A copy for predict, so that the example kept is the data as given.
        return infer_signature(example, estimator.predict(copy.deepcopy(example)))
    except Exception as exc:  # noqa: BLE001 - the model is logged without one
        LOG.warning("Failed to infer the model signature: %s", exc)
        return None


def _estimator_html(estimator: Any) -> str:  # noqa: ANN401
    from sklearn.utils import estimator_html_repr  # noqa: PLC0415  # the caller has it

    # The charset, so that the drawing's toggle triangles show as triangles.
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="UTF-8"/></head>\n<body>\n'
        f"{estimator_html_repr(estimator)}\n</body>\n</html>\n"
    )
