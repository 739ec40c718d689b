"""The notebook side of runs: a run started in a Jupyter kernel shows its live view.

Registered by the package root as a run-start hook, so that ``canvasback.tracking``
never imports the widgets, and a script (no kernel) never imports IPython or anywidget.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from types import ModuleType

    from canvasback.projects.sweep_watch import MakeWatch
    from canvasback.tracking.hooks import RunAttach
    from canvasback.tracking.run import Run

_log = logging.getLogger(__name__)


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel, whose front end can show widgets."""
    # Only a kernel has imported ipykernel; checking first keeps scripts from importing
    # IPython just to ask.
    if "ipykernel" not in sys.modules:
        return False
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return getattr(shell, "kernel", None) is not None


def _widgets_module(live: bool | None, name: str, refusal: str, view: str) -> ModuleType | None:
    """``canvasback.widgets.<name>`` if a view is to be shown in this process, else None.

    ``live=None`` shows one only inside a Jupyter kernel, ``live=False`` never and
    ``live=True`` always: outside a kernel (``refusal``), or without the widgets, that is
    an error, raised before anything is written.
    """
    if live is False:
        return None
    if not in_kernel():
        if live:
            raise RuntimeError(refusal)
        return None
    try:  # widgets only in a kernel
        return importlib.import_module(f"canvasback.widgets.{name}")
    except (ImportError, FileNotFoundError):  # no widgets extra, or no built bundle
        if live:
            raise  # the message names the fix
        _log.warning("canvasback: %s is unavailable", view, exc_info=True)
        return None


def live_view_hook(live: bool | None) -> RunAttach | None:
    """The run-start hook: how to show a live view of the run about to start, if any."""
    live_cell = _widgets_module(
        live,
        "live_cell",
        "start_run(live=True) shows the run's live view in a notebook cell, but this "
        "process is not a Jupyter kernel. Pass live=False, or leave live unset to "
        "show the view only when running in a notebook.",
        "the live run view",
    )
    if live_cell is None:
        return None

    def attach(run: Run) -> None:
        try:
            live_cell.show_run(run)
        except Exception:
            if live:
                run.end("FAILED")  # the caller never gets the handle: leave no active run
                raise
            # Training goes on without the view; the reason shows in the cell's stderr.
            _log.warning("canvasback: could not show the live run view", exc_info=True)

    return attach


def sweep_view_hook(live: bool | None) -> MakeWatch | None:
    """The sweep hook: how to show a sweep live in the running cell, if at all.

    As :func:`live_view_hook`, with a progress bar where no view shows.
    """
    sweep_view = _widgets_module(
        live,
        "sweep_view",
        "sweep(live=True) shows the sweep's live view in a notebook cell, but this "
        "process is not a Jupyter kernel. Pass live=False, or leave live unset to "
        "show the view only when running in a notebook (a progress bar otherwise).",
        "the sweep's live view",
    )
    return None if sweep_view is None else cast("MakeWatch", sweep_view.show_sweep)
