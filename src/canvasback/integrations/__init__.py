"""Autologging: a library's training calls log their own runs (MLflow's ``autolog``).

``canvasback.autolog()`` turns on every integration canvasback has: scikit-learn today
(``canvasback.sklearn.autolog()`` turns on that one, with its own options). A library
not imported yet is patched when it is, so turning autologging on costs nothing to a
program that never trains with it. Nothing here imports MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback.integrations import post_import, settings, sklearn_autolog
from canvasback.integrations.session import AutologgingWarning

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["AutologgingWarning", "autolog"]


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    silent: bool = False,
) -> None:
    """Turn autologging on (or off, ``disable=True``) for every library canvasback knows.

    The options are those of ``canvasback.sklearn.autolog`` that every integration
    shares; see it for what a fit logs.
    """
    options = settings.checked(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        disable=disable,
        exclusive=exclusive,
        silent=silent,
    )
    if disable:
        sklearn_autolog.turn_off()
        return
    settings.enable(sklearn_autolog.INTEGRATION, options)
    post_import.when_imported("sklearn", _patch_sklearn)


def _patch_sklearn(_module: ModuleType) -> None:
    sklearn_autolog.install()
