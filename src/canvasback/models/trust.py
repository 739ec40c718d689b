"""Loading code from a model file needs the user's word: ``trusted=True``.

Pickle and cloudpickle files run code while they load; canvasback loads them only when
the caller says so (``trusted=True``, or ``CANVASBACK_TRUST_PICKLE=1`` for a process),
and warns each time. skops files load without unpickling; types skops does not know as
safe (outside scikit-learn) need to be named, as in ``skops.io.load(trusted=...)``.
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


def skops_types_allowed(untrusted: list[str], named: list[str] | None, where: str) -> list[str]:
    """The types to pass to ``skops.io.load``: scikit-learn's own and the ones named."""
    allowed = set(named or [])
    refused = [t for t in untrusted if t not in allowed and not t.startswith("sklearn.")]
    if refused:
        msg = (
            f"Refusing to load the skops model at {where!r}: it holds types that skops does "
            f"not know as safe: {refused}. If you trust them, pass "
            f"skops_trusted_types={refused!r}."
        )
        raise UntrustedModelError(msg)
    return untrusted
