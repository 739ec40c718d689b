"""LiveCell: the runs one notebook cell started, as rows of one live view (a sweep).

The first run a cell starts shows its :class:`~canvasback.widgets.live_run.LiveRun`. A
second run in the same cell turns that output into a LiveCell: one row per run (status,
name, elapsed time, the latest value of its first metric and a sparkline), so a sweep of
twenty runs is one view rather than twenty. Each run keeps a LiveRun that follows it
(polling the store as it always does) but is not displayed; the cell view reads their
state whenever it changes, and each run's heartbeat speaks for the cell view too, so
that the view keeps its place while the cell trains one run after another. The cell's
system strip (CPU, memory, GPUs) is that of its newest run that logs system metrics.
"""

from __future__ import annotations

import html
import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any, Final

import traitlets

from canvasback.tracking.context import Slot, current_context
from canvasback.widgets._base import BaseWidget
from canvasback.widgets._static import saved_output
from canvasback.widgets.live_run import LiveRun, clock, svg_line

if TYPE_CHECKING:
    from canvasback.tracking.run import Run

__all__ = ["LiveCell", "cell_view", "show_run"]

_LOG = logging.getLogger(__name__)

SPARK_POINTS: Final = 48
_ENDED: Final = ("FINISHED", "FAILED", "KILLED")


class LiveCell(BaseWidget):
    """One live view of several runs, a row each; ``show_run`` makes one per cell."""

    _shared_bundle = "live_cell"

    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    """Per run: ``run_id``, ``run_name``, ``status``, times, ``key``/``value``/``step``
    of its first metric, and sparkline points ``xs``/``ys``."""
    system = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The system strip of the newest run that has one (see ``LiveRun.system``)."""

    def __init__(self, views: list[LiveRun] | None = None) -> None:
        super().__init__()
        self._views: list[LiveRun] = []
        self._lock = threading.Lock()
        self._static: Any = None  # the display handle of the saved static output
        for view in views or []:
            self.add(view)

    @property
    def views(self) -> list[LiveRun]:
        """The runs' own views, in the order the runs started."""
        return list(self._views)

    def add(self, view: LiveRun) -> None:
        """Show ``view``'s run as the next row."""
        with self._lock:
            self._views.append(view)
        view.speak_for(self)
        view.observe(self._on_view, names=["latest", "series", "status", "end_time", "system"])
        self._push()

    def _on_view(self, change: dict[str, Any]) -> None:
        self._push()
        if change["name"] == "status" and change["new"] in _ENDED:
            self.update_static()

    def update_static(self) -> None:
        """Write the rows as they are now into the cell's static output (a saved notebook's)."""
        # Under the lock, as pushes are: of two threads updating it, the later one writes
        # the later state.
        with self._lock:
            if self._static is None:
                return
            try:
                self._static.update(self._saved_output(), raw=True)
            except Exception:  # noqa: BLE001 - the view goes on without its static copy
                _LOG.debug("canvasback: could not update the cell's summary", exc_info=True)

    def _push(self) -> None:
        # Each run's polling thread pushes: reading the views and sending the rows under
        # one lock, so that rows read earlier never overwrite rows read later.
        with self._lock, self.hold_sync():
            self.rows = [_row(view) for view in self._views]
            self.system = next((v.system for v in reversed(self._views) if v.system), [])

    def _saved_output(self) -> dict[str, str]:
        return {"text/html": saved_output([self._static_key], self.summary_html())}

    def summary_html(self) -> str:
        """The runs as a self-contained HTML table (a notebook saved without a kernel)."""
        cells = []
        now = time.time_ns() // 1_000_000
        for row in self.rows:
            points = list(zip(row["xs"], row["ys"], strict=True))
            value = "—" if row["value"] is None else f"{row['value']:.4g}"
            end = row["end_time"] if row["end_time"] is not None else now
            cells.append(
                f'<tr><td style="padding:1px 8px 1px 0;font-weight:600">'
                f"{html.escape(row['status'])}</td>"
                f'<td style="padding:1px 8px">{html.escape(row["run_name"])}</td>'
                f'<td style="padding:1px 8px">{html.escape(row["key"])} {html.escape(value)}</td>'
                f"<td>{svg_line(points)}</td>"
                f'<td style="padding:1px 8px;color:#757575">{clock(end - row["start_time"])}</td>'
                "</tr>"
            )
        return (
            '<div class="canvasback-live-cell-static" style="font:13px system-ui,sans-serif;'
            'border:1px solid #e0e0e0;border-radius:6px;padding:6px 10px;display:inline-block">'
            f'<table style="border-collapse:collapse">{"".join(cells)}</table></div>'
        )


def _row(view: LiveRun) -> dict[str, Any]:
    first = view.latest_rows()[:1]
    key, step, value = (first[0][0], first[0][1], first[0][3]) if first else ("", None, None)
    points = view.chart_points(key) if key else []
    if len(points) > SPARK_POINTS:
        stride = len(points) / SPARK_POINTS
        points = [points[int(i * stride)] for i in range(SPARK_POINTS)] + [points[-1]]
    return {
        "run_id": view.run_id,
        "run_name": view.run_name,
        "status": view.status,
        "start_time": view.start_time,
        "end_time": view.end_time,
        "key": key,
        "step": step,
        "value": value if value is None or math.isfinite(value) else None,  # JSON-safe
        "xs": [float(x) for x, _ in points],
        "ys": [float(y) for _, y in points],
    }


class _CellEntry:
    __slots__ = ("cell", "static", "view", "widget")

    def __init__(self, view: LiveRun, static: Any, widget: Any) -> None:  # noqa: ANN401 - IPython handles
        self.view = view
        self.static = static
        self.widget = widget
        self.cell: LiveCell | None = None


# The outputs of the cell running now, by cell: a new cell's first run replaces them.
_CELLS: Final[Slot[dict[object, _CellEntry]]] = Slot("the cell's live views", lambda _ctx: {})


def _cell_key() -> object:
    from IPython import get_ipython  # noqa: PLC0415 - only inside a kernel

    shell = get_ipython()
    return (id(shell), getattr(shell, "execution_count", None))


def show_run(run: Run) -> LiveRun:
    """Show ``run`` live in the current cell: its own view, or a row of the cell's view.

    ``start_run`` calls this in a notebook.
    """
    from IPython.display import display  # noqa: PLC0415 - only inside a kernel

    key = _cell_key()
    cells = current_context().get(_CELLS)
    entry = cells.get(key)
    if entry is None:
        cells.clear()  # a new cell: earlier cells' views are done with
        view = LiveRun(run)
        static = display(view._saved_output(), raw=True, display_id=True)  # type: ignore[no-untyped-call]  # noqa: SLF001
        data, metadata = view.view_bundle()
        widget = display(data, metadata=metadata, raw=True, display_id=True)  # type: ignore[no-untyped-call]
        view._display = static  # noqa: SLF001
        cells[key] = _CellEntry(view, static, widget)
        return view
    view = LiveRun(run)
    if entry.cell is None:
        # The second run of the cell: its first run's output becomes the cell's view.
        first = entry.view
        first._display = None  # noqa: SLF001  # the cell's summary stands for it now
        entry.cell = LiveCell([first])
        entry.cell._static = entry.static  # noqa: SLF001
        data, metadata = entry.cell.view_bundle()
        entry.widget.update(data, metadata=metadata, raw=True)
    entry.cell.add(view)
    entry.cell.update_static()
    return view


def cell_view() -> LiveCell | None:
    """The view of the runs of the cell running now, once its second run has made one."""
    entry = current_context().get(_CELLS).get(_cell_key())
    return None if entry is None else entry.cell
