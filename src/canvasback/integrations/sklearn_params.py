"""An estimator as MLflow's autolog records it: params as strings, its class as tags.

Params are ``get_params(deep=True)`` (a pipeline's steps' params too, as ``clf__C``),
but a parameter search's own only: its seed estimator's untuned params are no result.
Each value is its ``str``, cut to MLflow's 6,000 characters (keys to 250) with ``...``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvasback.integrations.session import LOG
from canvasback.tracking.validation import MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH

if TYPE_CHECKING:
    from collections.abc import Mapping


def is_search(estimator: Any) -> bool:  # noqa: ANN401  # any scikit-learn estimator
    """Whether ``estimator`` is a parameter search (``GridSearchCV``, ``RandomizedSearchCV``)."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: PLC0415

    return isinstance(estimator, GridSearchCV | RandomizedSearchCV)


def flat_params(estimator: Any) -> dict[str, str]:  # noqa: ANN401
    """``estimator.get_params`` as strings: deep, except for a parameter search."""
    return flat(estimator.get_params(deep=not is_search(estimator)))


def flat(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as MLflow logs them: ``str`` values, too long ones cut with ``...``."""
    return {
        _cut(str(key), MAX_KEY_LENGTH): _cut(str(value), MAX_PARAM_VALUE_LENGTH)
        for key, value in params.items()
    }


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    LOG.warning("Cut %r... to %d characters, as MLflow's autolog does", text[:40], limit)
    return text[: limit - 3] + "..."


def estimator_tags(estimator: Any) -> dict[str, str]:  # noqa: ANN401
    """MLflow's tags naming an estimator's class."""
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}
