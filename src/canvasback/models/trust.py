"""Loading code from a model file needs the user's word: ``trusted=True``.

Pickle and cloudpickle files run code while they load; canvasback loads them only when
the caller says so (``trusted=True``, or ``CANVASBACK_TRUST_PICKLE=1`` for a process),
and warns each time. skops files load without unpickling; which types they may hold
without being named is decided in :mod:`canvasback.models.skops_types`.
"""

from __future__ import annotations

import os
import warnings
from typing import Final

from canvasback.exceptions import MlflowException

TRUST_ENV: Final = "CANVASBACK_TRUST_PICKLE"


class UntrustedModelError(MlflowException, PermissionError):
    """A model file that would run code while loading, without the caller's trust."""


class PickleLoadWarning(UserWarning):
    """A pickled model is being loaded: it can run any code it holds."""


def require(trusted: bool | None, what: str, where: str) -> None:
    """Refuse to unpickle ``what`` unless trusted; warn when trusted."""
    if trusted is None:
        trusted = os.environ.get(TRUST_ENV, "") == "1"
    if not trusted:
        msg = (
            f"Refusing to load {what} from {where!r}: loading it "
            "runs whatever code it holds. If you trust where it came from, pass "
            f"trusted=True (or set {TRUST_ENV}=1); models saved by canvasback.sklearn with "
            "the default serialization_format='skops' load without this."
        )
        raise UntrustedModelError(msg)
    warnings.warn(
        f"canvasback: loading {what} from {where!r} runs the code it holds (trusted=True)",
        PickleLoadWarning,
        stacklevel=4,
    )
