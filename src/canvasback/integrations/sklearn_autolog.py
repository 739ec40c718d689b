"""scikit-learn autologging, as MLflow's ``mlflow.sklearn.autolog`` does it, without MLflow.

``autolog()`` patches ``fit``, ``fit_transform`` and ``fit_predict`` of every estimator
``sklearn.utils.all_estimators`` lists, and of ``Pipeline``, ``GridSearchCV`` and
``RandomizedSearchCV``; not those of data preparation (``sklearn.preprocessing``,
``impute``, ``feature_extraction``, ``feature_selection``, ``ColumnTransformer``), which
log only as a pipeline's steps. A patched call logs what ``sklearn_fit.py`` says, under
the rules of ``session.py``. ``cross_val_score`` and its kin are patched to log none of
the fits they make. ``autolog(disable=True)`` puts every original back.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import TYPE_CHECKING, Any, Final

from canvasback.integrations import post_import, session, settings, sklearn_fit
from canvasback.integrations.patching import Patches

if TYPE_CHECKING:
    from collections.abc import Callable

INTEGRATION: Final = "sklearn"
FIT_METHODS: Final = ("fit", "fit_transform", "fit_predict")
_NOT_PATCHED_MODULES: Final = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
_NOT_PATCHED_CLASSES: Final = ("sklearn.compose._column_transformer.ColumnTransformer",)
# Functions that fit clones of an estimator for their own ends: none of those fits logs.
_UNLOGGED_FUNCTIONS: Final = (
    "cross_validate",
    "cross_val_predict",
    "cross_val_score",
    "learning_curve",
    "permutation_test_score",
    "validation_curve",
)

_PATCHES: Final = Patches()
_install_lock = threading.Lock()


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = settings.DEFAULT_MAX_TUNING_RUNS,
) -> None:
    """Log every scikit-learn fit as a run (MLflow's ``mlflow.sklearn.autolog``).

    A fit with no active run starts one and ends it; inside a run, it logs into that
    run (not with ``exclusive=True``). Logged: the estimator's params, its training
    metrics (``training_score``, ``training_accuracy_score``, ...), its class as tags,
    and the fitted model (``log_models``) with its signature (``log_model_signatures``)
    and five training rows as input example (``log_input_examples``). A parameter
    search gets the best params and score, and a child run for each of its
    ``max_tuning_runs`` best candidates (None: all). An error while logging is a
    warning and never fails the fit (``silent=True`` hides it and every message of
    autologging). ``disable=True`` turns it off and unpatches scikit-learn.
    """
    options = settings.checked(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        disable=disable,
        exclusive=exclusive,
        silent=silent,
        max_tuning_runs=max_tuning_runs,
    )
    if disable:
        turn_off()
        return
    install()
    settings.enable(INTEGRATION, options)


def turn_off() -> None:
    """Stop autologging scikit-learn and put its originals back."""
    settings.disable(INTEGRATION)
    post_import.forget("sklearn")
    with _install_lock:
        _PATCHES.revert()


def install() -> None:
    """Patch scikit-learn (once; it is imported if it is not yet)."""
    with _install_lock:
        if _PATCHES.installed:
            return
        import sklearn.model_selection  # noqa: PLC0415  # scikit-learn is optional

        for cls in _estimators():
            for name in FIT_METHODS:
                _PATCHES.method(cls, name, _logged_fit)
        for name in _UNLOGGED_FUNCTIONS:
            function = getattr(sklearn.model_selection, name)
            patched = _unlogged(function)
            # Where it is defined too: cross_val_score calls cross_validate there.
            for module in {sklearn.model_selection, sys.modules[function.__module__]}:
                if getattr(module, name, None) is function:
                    _PATCHES.replace(module, name, patched)


def _estimators() -> list[type]:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: PLC0415
    from sklearn.pipeline import Pipeline  # noqa: PLC0415
    from sklearn.utils import all_estimators  # noqa: PLC0415

    found = {cls for _, cls in all_estimators()} | {GridSearchCV, RandomizedSearchCV, Pipeline}
    return sorted(
        (
            cls
            for cls in found
            if not cls.__module__.startswith(_NOT_PATCHED_MODULES)
            and f"{cls.__module__}.{cls.__name__}" not in _NOT_PATCHED_CLASSES
        ),
        key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
    )


def _logged_fit(fit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fit)
    def logged_fit(self: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        return session.autologged(
            INTEGRATION,
            f"{type(self).__name__}.{fit.__name__}",
            lambda: fit(self, *args, **kwargs),
            lambda run, options: sklearn_fit.before(run, options, self, fit, args, kwargs),
        )

    return logged_fit


def _unlogged(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def unlogged(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        with session.training():
            return function(*args, **kwargs)

    return unlogged
