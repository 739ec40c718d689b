"""The base of canvasback's errors, under MLflow's name (``mlflow.exceptions``).

Code written against MLflow catches ``MlflowException``; every error canvasback raises
for bad input, a missing run or experiment, or a refused operation derives from it, as
well as from the built-in class it has always had (``ValueError``, ``LookupError``, ...).
``InvalidInputError`` is here, not with the checks of what may be logged, because the
query layer, below the tracking API, refuses bad search arguments with it too.
"""

from __future__ import annotations

from typing import Final

INVALID_PARAMETER_VALUE: Final = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST: Final = "RESOURCE_DOES_NOT_EXIST"
INVALID_STATE: Final = "INVALID_STATE"


class MlflowException(Exception):  # noqa: N818  # MLflow's name, kept for `except` clauses
    """An error of canvasback; ``message`` and ``error_code`` as in MLflow."""

    error_code: str = INVALID_PARAMETER_VALUE

    def __init__(self, message: object = "", error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        if error_code is not None:
            self.error_code = error_code


class ExecutionException(MlflowException, RuntimeError):  # noqa: N818  # MLflow's name
    """A project or notebook run that failed (MLflow's ``mlflow.exceptions`` name)."""

    error_code: str = INVALID_STATE


class InvalidInputError(MlflowException, ValueError):
    """Input canvasback does not accept (a logged value, a name, a search's argument).

    Nothing was written.
    """
