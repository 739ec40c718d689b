"""While the cell that showed a widget still runs, Python tells its views it is there.

A view pings Python when it starts and, with no answer within 5 s, steps aside for the
widget's saved static copy: that is how a notebook reopened without a kernel shows its
tables and charts (``js/lib/saved_view.ts``). But a kernel busy with a long cell answers
no ping until the cell ends, so a run table shown at the top of a cell that then trains
would give way to its copy for the whole training. Messages sent from a thread reach
the front end while the cell runs; so, until the cell that displayed it ends, a thread
sends each widget it showed a sign of life every second, as the live run views do for
theirs (``live_run.py``). Outside a kernel it does nothing.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import TYPE_CHECKING, Any, Final

from canvasback.tracking.context import Slot, current_context

if TYPE_CHECKING:
    from collections.abc import Iterable

_LOG = logging.getLogger(__name__)

INTERVAL_S: Final = 1.0
"""Seconds between signs of life: well within the front end's 5 s wait."""


class _Speaker:
    """The widgets shown by cells still running, and the one thread that speaks for them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.widgets: list[tuple[Any, object, int | None]] = []  # (widget, shell, cell)
        self.thread: threading.Thread | None = None
        self.wake = threading.Event()

    def add(self, widgets: Iterable[Any], shell: object) -> None:
        cell = getattr(shell, "execution_count", None)
        with self.lock:
            known = {id(w) for w, _, _ in self.widgets}
            self.widgets += [(w, shell, cell) for w in widgets if id(w) not in known]
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._speak, name="canvasback-presence", daemon=True
                )
                self.thread.start()

    def _still_running(self) -> list[Any]:
        """The widgets whose cell still runs; forgets the others, and the thread if none."""
        with self.lock:
            self.widgets = [
                (w, shell, cell)
                for w, shell, cell in self.widgets
                if getattr(shell, "execution_count", None) == cell
            ]
            if not self.widgets:
                self.thread = None
            return [w for w, _, _ in self.widgets]

    def _speak(self) -> None:
        while widgets := self._still_running():
            for widget in widgets:
                try:
                    widget.send({"kind": "alive"})
                except Exception:  # noqa: BLE001 - a closed view hears nothing; the cell goes on
                    _LOG.debug("canvasback: no sign of life for %r", widget, exc_info=True)
            self.wake.wait(INTERVAL_S)  # a pace, not a synchronisation


_SPEAKER: Final[Slot[_Speaker]] = Slot("the widgets' signs of life", lambda _ctx: _Speaker())


def speak_while_cell_runs(widgets: Iterable[Any]) -> None:
    """Send ``widgets`` a sign of life every second until the running cell ends."""
    if "ipykernel" not in sys.modules:
        return
    from IPython import get_ipython  # noqa: PLC0415 - only inside a kernel

    shell = get_ipython()
    if shell is None:
        return
    current_context().get(_SPEAKER).add(widgets, shell)
