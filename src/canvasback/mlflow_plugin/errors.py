"""canvasback's errors as MLflow's, and the methods the plugin refuses, with their reasons.

MLflow's own code branches on its exception class and error code (``set_experiment``
creates the experiment when the name is free, ``register_model`` goes on when the
model exists), so every error of canvasback that crosses into MLflow is raised again
as ``mlflow.exceptions.MlflowException`` with the matching code, its message kept.

MLflow's ``AbstractStore`` declares its abstract methods with a Python 2 metaclass
idiom that Python 3 ignores: a method a store leaves out silently returns None. So the
plugin refuses every method it does not implement by name, with a reason, and
``tests/mlflow_plugin/test_completeness.py`` checks that no method is left out.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

from mlflow.exceptions import MlflowException, MlflowNotImplementedException
from mlflow.protos.databricks_pb2 import ErrorCode

from canvasback.exceptions import RESOURCE_DOES_NOT_EXIST
from canvasback.exceptions import MlflowException as CanvasbackError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

T = TypeVar("T")
C = TypeVar("C", bound=type)

RESOURCE_ALREADY_EXISTS: Final = "RESOURCE_ALREADY_EXISTS"


def mlflow_error(message: str, code: str) -> MlflowException:
    """An MLflow exception with one of MLflow's error code names."""
    return MlflowException(message, error_code=ErrorCode.Value(code))


def _code(error: CanvasbackError) -> str:
    # canvasback's not-found errors are LookupErrors; MLflow calls them by a code.
    return RESOURCE_DOES_NOT_EXIST if isinstance(error, LookupError) else error.error_code


def translated(method: Callable[..., T]) -> Callable[..., T]:
    """``method``, raising canvasback's errors again as MLflow's (same message, its code)."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> T:  # noqa: ANN401  # any store method's arguments
        try:
            return method(*args, **kwargs)
        except CanvasbackError as exc:
            code = _code(exc)
            if code not in ErrorCode.keys():  # noqa: SIM118  # a protobuf enum, not a dict
                code = "INVALID_PARAMETER_VALUE"
            raise mlflow_error(str(exc), code) from exc

    return call


def translate_errors(cls: C) -> C:
    """Wrap every public method a class defines itself with :func:`translated`."""
    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and callable(value):
            setattr(cls, name, translated(value))
    return cls


def refusal(name: str, reason: str) -> Callable[..., NoReturn]:
    """A store method that raises MLflow's not-implemented error, naming itself and why."""

    def refused(self: object, *args: object, **kwargs: object) -> NoReturn:
        del self, args, kwargs
        msg = f"{name} is not supported by canvasback's MLflow plugin: {reason}"
        raise MlflowNotImplementedException(msg)

    refused.__name__ = refused.__qualname__ = name
    refused.__doc__ = f"Refused: {reason}"
    return refused


def refuse(reasons: Mapping[str, str]) -> Callable[[C], C]:
    """A class decorator: every method named in ``reasons`` is a :func:`refusal`.

    The class's ``REFUSED`` maps each refused method to its reason (its bases' too).
    """

    def install(cls: C) -> C:
        for name, reason in reasons.items():
            setattr(cls, name, refusal(name, reason))
        refused = {**getattr(cls, "REFUSED", {}), **reasons}
        setattr(cls, "REFUSED", refused)  # noqa: B010  # any class: no REFUSED to type-check
        return cls

    return install


def empty_answer(name: str, empty: Callable[[], object]) -> Callable[..., object]:
    """A store method that answers ``empty()`` whatever it is asked (a GenAI read)."""

    def answer(self: object, *args: object, **kwargs: object) -> object:
        del self, args, kwargs
        return empty()

    answer.__name__ = answer.__qualname__ = name
    answer.__doc__ = "Empty: the store keeps no such records (refusals.EMPTY_*)."
    return answer


def answer_empty(answers: Mapping[str, Callable[[], object]]) -> Callable[[C], C]:
    """A class decorator: every method named in ``answers`` returns its empty value.

    The class's ``EMPTY`` names them.
    """

    def install(cls: C) -> C:
        for name, empty in answers.items():
            setattr(cls, name, empty_answer(name, empty))
        setattr(cls, "EMPTY", frozenset(answers))  # noqa: B010  # any class, as REFUSED
        return cls

    return install
