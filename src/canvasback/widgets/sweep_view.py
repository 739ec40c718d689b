"""SweepView: a sweep running in a notebook cell, live: its points, the best, the chart.

``sweep(...)`` in a kernel shows it in place of the progress bar (the notebook side's
sweep hook, ``_notebook.sweep_view_hook``). The sweep tells it how each point ended as
the point's task completes, in the sweep's own process (``projects.sweep_watch``):
nothing polls the store. It is made of two widgets the notebook already has:

* a :class:`LiveCell` whose rows are the points: status (QUEUED, RUNNING, then FINISHED,
  FAILED, PRUNED, LOST or KILLED), the point's params, the sweep's metric. The first
  ``workers`` points run first and the next one starts as one ends, as in the sweep's
  pools, so the rows in between show RUNNING;
* a :class:`ChartView` of the finished points' parallel coordinates
  (``charts.parallel_coordinates``), redrawn as each one finishes, titled with the best
  so far.

Each has its static copy above it (the rows as HTML, the chart as SVG once the sweep
ends), so a saved notebook shows the sweep without a kernel; text from points is
escaped there, and set as text in the views.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from canvasback.projects.sweep_points import point_text
from canvasback.widgets import presence
from canvasback.widgets._static import saved_output
from canvasback.widgets.chart_view import ChartView
from canvasback.widgets.live_cell import LiveCell

if TYPE_CHECKING:
    from canvasback.projects.sweep_points import PointResult
    from canvasback.projects.sweep_results import SweepResult
    from canvasback.projects.sweep_watch import SweepStart

__all__ = ["SweepView", "show_sweep"]

_LOG = logging.getLogger(__name__)

QUEUED: Final = "QUEUED"
RUNNING: Final = "RUNNING"
ERROR_CHARS: Final = 120
"""How much of a point's error its row shows (the result has all of it)."""
CHART_HEIGHT: Final = 220
WAITING: Final = "The finished points' parallel coordinates show here."


def _now() -> int:
    return time.time_ns() // 1_000_000


class SweepView:
    """The live view of one sweep: a row per point, the best so far, parallel coordinates.

    Parameters
    ----------
    start
        The sweep about to run its points (``projects.sweep_watch.SweepStart``).

    Attributes
    ----------
    rows_view : LiveCell
        The points as rows (its ``rows`` trait).
    chart : ChartView
        The finished points' parallel coordinates, titled with the best so far.

    """

    def __init__(self, start: SweepStart) -> None:
        self.start = start
        self.rows_view = LiveCell()
        self.chart = ChartView(_waiting_spec())
        self._lock = threading.Lock()
        self._order = [task.index for task in start.tasks]
        now = _now()
        self._rows: dict[int, dict[str, Any]] = {
            task.index: _queued_row(
                f"#{task.index} · (the sampler's choice)"
                if start.searching
                else f"#{task.index} · {point_text(task.params)}",
                now,
            )
            for task in start.tasks
        }
        self._done: dict[int, PointResult] = {}
        self._chart_static: Any = None
        self._start_next(now)
        self.rows_view.rows = self._row_list()

    @property
    def best(self) -> PointResult | None:
        """The best finished point so far by the sweep's metric (None: none yet)."""
        with self._lock:
            return _best(list(self._done.values()), self.start.mode)

    def show(self) -> None:
        """Display the view in the running cell: each widget under its static copy."""
        from IPython.display import display  # noqa: PLC0415 - only inside a kernel

        cell = self.rows_view
        static = display(cell._saved_output(), raw=True, display_id=True)  # type: ignore[no-untyped-call]  # noqa: SLF001
        cell._static = static  # noqa: SLF001  # the cell keeps its static copy up to date
        data, metadata = cell.view_bundle()
        display(data, metadata=metadata, raw=True)  # type: ignore[no-untyped-call]
        waiting = saved_output(self.chart._static_keys(), f"<p>{WAITING}</p>")  # noqa: SLF001
        self._chart_static = display({"text/html": waiting}, raw=True, display_id=True)  # type: ignore[no-untyped-call]
        data, metadata = self.chart.view_bundle()
        display(data, metadata=metadata, raw=True)  # type: ignore[no-untyped-call]
        # The kernel answers no ping while the sweep's cell runs: speak for both views.
        presence.speak_while_cell_runs([cell, self.chart])

    def point_done(self, result: PointResult) -> None:
        """A point ended: its row, the next point running, the chart if it finished."""
        with self._lock:
            now = _now()
            started = self._rows.get(result.index, {}).get("start_time", now)
            self._done[result.index] = result
            self._rows[result.index] = self._row(result, started, now)
            self._start_next(now)
            self.rows_view.rows = self._row_list()
            if _scored(result):
                self._draw(list(self._done.values()))
        self.rows_view.update_static()

    def sweep_done(self, result: SweepResult) -> None:
        """The sweep ended: every point as its result says, the chart and its static copy."""
        with self._lock:
            now = _now()
            self._done = {p.index: p for p in result.points}
            self._order = sorted(self._done)
            self._rows = {p.index: self._row(p, now, now) for p in result.points}
            self.rows_view.rows = self._row_list()
            self._draw(result.points)
        self.rows_view.update_static()
        if self._chart_static is not None:
            self._chart_static.update(
                {"text/html": saved_output(self.chart._static_keys(), self._chart_html())},  # noqa: SLF001
                raw=True,
            )

    # -- rows ------------------------------------------------------------------------
    def _row(self, result: PointResult, started: int, now: int) -> dict[str, Any]:
        number = result.trial if result.trial is not None else result.index
        name = f"#{number} · {point_text(result.params)}"
        if result.error:
            name += f" · {result.error[:ERROR_CHARS]}"
        value = result.metric
        status = "PRUNED" if result.pruned else "LOST" if result.lost else result.status
        return {
            "run_id": result.run_id or "",
            "run_name": name,
            "status": status,
            "start_time": result.start_time or started,
            "end_time": result.end_time or max(now, result.start_time or started),
            "key": self.start.metric or "",
            "step": None,
            "value": value if value is not None and math.isfinite(value) else None,
            "xs": [],
            "ys": [],
        }

    def _start_next(self, now: int) -> None:
        """Mark queued points running while fewer than ``workers`` run (first come, first)."""
        running = sum(row["status"] == RUNNING for row in self._rows.values())
        for index in self._order:
            if running >= self.start.workers:
                return
            row = self._rows[index]
            if row["status"] == QUEUED:
                row.update(status=RUNNING, start_time=now, end_time=None)
                running += 1

    def _row_list(self) -> list[dict[str, Any]]:
        return [dict(self._rows[index]) for index in self._order]

    # -- chart -----------------------------------------------------------------------
    def _draw(self, results: list[PointResult]) -> None:
        spec = chart_spec(results, self.start.metric, self.start.mode)
        self.chart.set_chart(spec if spec is not None else _waiting_spec())

    def _chart_html(self) -> str:
        if not any(_scored(p) for p in self._done.values()):
            return f"<p>{WAITING}</p>"
        return self.chart._static_html() or ""  # noqa: SLF001


def show_sweep(start: SweepStart) -> SweepView:
    """Show a sweep's live view in the running cell (the notebook side's sweep hook)."""
    view = SweepView(start)
    view.show()
    return view


def _queued_row(name: str, now: int) -> dict[str, Any]:
    return {
        "run_id": "",
        "run_name": name,
        "status": QUEUED,
        "start_time": now,
        "end_time": now,
        "key": "",
        "step": None,
        "value": None,
        "xs": [],
        "ys": [],
    }


def _scored(result: PointResult) -> bool:
    return (
        result.status == "FINISHED" and result.metric is not None and math.isfinite(result.metric)
    )


def _best(results: list[PointResult], mode: str) -> PointResult | None:
    scored = [r for r in results if _scored(r)]
    if not scored:
        return None
    pick = min if mode == "min" else max
    return pick(scored, key=lambda r: r.metric if r.metric is not None else math.nan)


def best_text(results: list[PointResult], metric: str | None, mode: str) -> str:
    """``best loss = 0.0123 at #3 · lr=0.1`` (or that no point has finished with it)."""
    best = _best(results, mode)
    if best is None or metric is None:
        return f"no point has finished with {metric}" if metric else "no metric to rank by"
    number = best.trial if best.trial is not None else best.index
    return f"best {metric} = {best.metric:.4g} at #{number} · {point_text(best.params)}"


def chart_spec(results: list[PointResult], metric: str | None, mode: str) -> dict[str, Any] | None:
    """The parallel coordinates of the finished points (None: none finished with the metric).

    One line per point, labelled ``#<index>`` (a trial's number in a search), over the
    params that differ between them and the metric; titled with the best so far.
    """
    import pandas as pd  # noqa: PLC0415 - loaded with the chart

    from canvasback.charts import parallel_coordinates, parallel_data  # noqa: PLC0415

    finished = sorted((r for r in results if _scored(r)), key=lambda r: r.index)
    if not finished or metric is None:
        return None
    labels = {
        f"point-{r.index}": f"#{r.trial if r.trial is not None else r.index}" for r in finished
    }
    keys = list(dict.fromkeys(k for r in finished for k in r.params))
    frame = pd.DataFrame(
        {
            "run_id": list(labels),
            **{f"params.{k}": [r.params.get(k) for r in finished] for k in keys},
            f"metrics.{metric}": [r.metric for r in finished],
        }
    )
    data = parallel_data(frame, labels, metrics=[metric])
    chart = parallel_coordinates(
        data, runs=list(labels.values()), inline=True, interactive=False, height=CHART_HEIGHT
    )
    spec: dict[str, Any] = chart.to_dict()
    spec["title"] = {"text": best_text(finished, metric, mode), "anchor": "start", "fontSize": 12}
    return spec


def _waiting_spec() -> dict[str, Any]:
    """A chart of one line of text, until a point has finished."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": [{"text": WAITING}]},
        "mark": {"type": "text", "align": "left", "color": "#757575"},
        "encoding": {"text": {"field": "text", "type": "nominal"}},
        "width": 360,
        "height": 20,
    }
