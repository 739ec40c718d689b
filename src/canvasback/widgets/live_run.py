"""LiveRun: a run's status, elapsed time, latest metrics and small charts, live in a cell.

``start_run`` shows one when it runs in a notebook. Logging never waits on it:
``Run.log_metric`` only appends to the writer's buffer and is not touched here. A daemon
thread polls the store about twice a second, reads only the metric files that appeared
since its last look (the background flusher writes them, at most a second apart), folds
the run's new points into a bounded min/max sketch per charted key, and pushes a few
kilobytes of Arrow into synced traits when anything changed. When the run ends the
thread makes one final update, which flushes first so that it holds every point, and
stops.

A run's system metrics (``start_run(log_system_metrics=True)``: MLflow's ``system/*``
keys) stay out of the grid of charts and the list of latest values: the view shows
CPU, memory and each GPU as a strip of chips beside them (``_system_strip.py``).

While it polls, the thread also says "alive" to the front end every second. A kernel
busy with the cell answers none of the page's messages until the cell ends, and a view
that hears nothing from Python for a few seconds takes itself for one restored without a
kernel and shows its static copy instead (``js/lib/saved_view.ts``): without the
heartbeat, every view of a cell that trains for longer than that would freeze.
"""

from __future__ import annotations

import atexit
import html
import logging
import math
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import traitlets

from canvasback import query
from canvasback.query.downsample import SKETCH_BUCKETS, StreamSketch
from canvasback.widgets._base import BaseWidget, arrow_ipc_bytes
from canvasback.widgets._static import saved_output
from canvasback.widgets._system_strip import is_system_key, strip, strip_text

if TYPE_CHECKING:
    from canvasback.store import Store
    from canvasback.tracking.run import Run

__all__ = ["LiveRun", "clock", "live_view_of", "show_live_run", "svg_line"]

_LOG = logging.getLogger(__name__)

DEFAULT_INTERVAL_S: Final = 0.5
# Seconds between heartbeats: well within the front end's wait for a sign of Python (5 s).
HEARTBEAT_S: Final = 1.0
MAX_CHARTS: Final = 8
# Buckets per chart; each keeps its minimum and maximum, so a chart has at most twice
# as many points, whatever the run's length.
BUCKETS: Final = SKETCH_BUCKETS
# Latest values shipped for keys without a chart (a run may log hundreds of keys).
MAX_LISTED: Final = 40

_STATUS_COLORS: Final = {
    "RUNNING": "#1565c0",
    "FINISHED": "#2e7d32",
    "FAILED": "#c62828",
    "KILLED": "#e65100",
}

LatestRow = tuple[str, int, int, float]

# The view following each run handle: a run carries no widget state of its own.
_VIEWS: weakref.WeakKeyDictionary[Run, LiveRun] = weakref.WeakKeyDictionary()


def live_view_of(run: Run) -> LiveRun | None:
    """The live view that follows a run handle, if one was made."""
    return _VIEWS.get(run)


def _stop_polling_at_exit() -> None:
    # A polling thread still inside DuckDB while the interpreter tears DuckDB down
    # aborts the process (SIGABRT): stop and join every one first. Registered after
    # the run-ending exit hook, so it runs before it (atexit is last in, first out).
    for view in list(_VIEWS.values()):
        view.stop()


atexit.register(_stop_polling_at_exit)


class _Series:
    """One charted key: sketches by step and by time (for keys always logged at one step)."""

    __slots__ = ("by_step", "by_time", "steps")

    def __init__(self) -> None:
        self.by_step = StreamSketch()
        self.by_time = StreamSketch()
        self.steps: tuple[int, int] | None = None

    def add(self, part: pa.Table) -> None:
        steps = part.column("step").to_numpy()
        times = part.column("timestamp").to_numpy()
        values = part.column("value").to_numpy()
        lo, hi = int(steps.min()), int(steps.max())
        if self.steps is not None:
            lo, hi = min(lo, self.steps[0]), max(hi, self.steps[1])
        self.steps = (lo, hi)
        self.by_step.add(steps, values)
        self.by_time.add(times, values)

    @property
    def axis(self) -> str:
        # MLflow's step defaults to 0: a key that never moved off one step is drawn by time.
        return "time" if self.steps is not None and self.steps[0] == self.steps[1] else "step"

    def points(self) -> list[tuple[int, float]]:
        return (self.by_time if self.axis == "time" else self.by_step).points()


class LiveRun(BaseWidget):
    """A run's live view: status, elapsed time, latest metrics and a chart per key.

    ``start_run`` shows one in a notebook (``live=False`` turns it off). To build one
    yourself, ``LiveRun(run)`` starts the polling thread; ``start=False`` leaves it off,
    and :meth:`update` then refreshes the view on demand.

    Parameters
    ----------
    run
        The run handle to follow.
    interval
        Seconds between looks at the store.
    max_charts
        Keys that get a chart, in the order they were first logged; the rest are listed.
    start
        Start the polling thread now.
    system_charts
        Chart and list the system metrics (``system/*``) like the others too; by default
        they show only in the system strip.

    """

    _shared_bundle = "live_run"

    run_name = traitlets.Unicode("").tag(sync=True)
    run_id = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("RUNNING").tag(sync=True)
    start_time = traitlets.Int(0).tag(sync=True)  # ms since the epoch
    end_time = traitlets.Int(None, allow_none=True).tag(sync=True)
    metric_count = traitlets.Int(0).tag(sync=True)  # keys logged, listed or not (system/* aside)
    # Arrow IPC: key, step, timestamp, value, chart (slot or -1), axis ("step"/"time"/"").
    latest = traitlets.Bytes(b"").tag(sync=True)
    # Arrow IPC: chart (slot), x, y; each slot's points in x order.
    series = traitlets.Bytes(b"").tag(sync=True)
    # The system strip: key, label, value (a percentage, or None), timestamp per chip.
    system = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(
        self,
        run: Run,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        max_charts: int = MAX_CHARTS,
        start: bool = True,
        system_charts: bool = False,
    ) -> None:
        info = run.info
        super().__init__(
            run_name=info.run_name,
            run_id=run.run_id,
            status=info.status,
            start_time=info.start_time,
            end_time=info.end_time,
        )
        self.interval = interval
        self.max_charts = max_charts
        self.system_charts = system_charts
        self._run = run
        # The handle's own store: the one its rows go to, whatever the fluent default is.
        self._store: Store = run.store
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        self._seen: set[str] = set()  # metric files already folded in
        self._slots: list[str] = []  # charted keys, in order of first appearance
        self._series: dict[str, _Series] = {}
        self._revision = 0  # bumped whenever a sketch takes new points
        self._signature: object = None  # what the front end was last sent
        self._rows: list[LatestRow] = []  # for the static HTML summary
        self._thread: threading.Thread | None = None
        self._display: Any = None  # IPython DisplayHandle, when start_run showed the view
        self._heard_through: list[BaseWidget] = [self]  # the views the heartbeat speaks for
        _VIEWS[run] = self
        run.on_end(self._on_run_end)
        if run.ended:
            self.update(final=True)
        elif start:
            self._thread = threading.Thread(
                target=self._poll, name=f"canvasback-live-{run.run_id[:8]}", daemon=True
            )
            self._thread.start()

    # -- the polling thread ----------------------------------------------------------
    def _poll(self) -> None:
        warned = False
        beat = float("-inf")
        while not self._stop.wait(self.interval) and not self._run.ended:
            if time.monotonic() - beat >= HEARTBEAT_S:
                beat = time.monotonic()
                self._heartbeat()
            try:
                self.update()
            except Exception:  # noqa: BLE001 - a failed look must not end the view; the next may work
                _LOG.log(
                    logging.DEBUG if warned else logging.WARNING,
                    "canvasback: live view update of run %s failed",
                    self._run.run_id,
                    exc_info=True,
                )
                warned = True
        if not self._closed:
            self._finish()

    def speak_for(self, widget: BaseWidget) -> None:
        """Send the heartbeat to ``widget`` as well (the cell view that shows this run)."""
        self._heard_through.append(widget)

    def _heartbeat(self) -> None:
        for widget in list(self._heard_through):
            try:
                widget.send({"kind": "alive"})
            except Exception:  # noqa: BLE001 - a closed view hears nothing; the run goes on
                _LOG.debug("canvasback: no heartbeat for %r", widget, exc_info=True)

    def _on_run_end(self, _run: Run, _status: str) -> None:
        # Runs inside end_run: only wake the thread, which does the reading.
        self._stop.set()
        if self._thread is None and not self._closed:
            self._finish()

    def _finish(self) -> None:
        try:
            self.update(final=True)
            if self._display is not None:
                # The static output shows the end, in a saved notebook too.
                self._display.update(self._saved_output(), raw=True)
        except Exception:  # noqa: BLE001 - the run has ended either way; say why the view did not
            _LOG.warning(
                "canvasback: final live view update of run %s failed",
                self._run.run_id,
                exc_info=True,
            )

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the polling thread has made its final update; True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def polling(self) -> bool:
        """Whether the background thread is still following the run."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop following the run (no final push) and wait for the polling thread."""
        self._closed = True  # nobody is looking any more: no final push
        self._stop.set()
        if threading.current_thread() is self._thread:
            return False  # called from the polling thread itself: it ends on its own
        return self.join(timeout)

    def close(self) -> None:
        """Stop following the run and close the widget."""
        self.stop()
        super().close()

    # -- reading and pushing -----------------------------------------------------------
    def update(self, *, final: bool = False) -> bool:
        """Read what the run logged since the last update and push it to the front end.

        Returns False when nothing changed (nothing is sent then). Without ``final`` it
        reads only what the writer has already flushed, so it never adds a flush of its
        own; ``final`` flushes first, so the view ends with every point logged.
        """
        with self._lock:
            if self._closed:
                return False
            latest = self._read(final=final)
            info = self._run.info
            status = info.status if self._run.ended else "RUNNING"
            signature = (tuple(latest), self._revision, status, info.end_time)
            if signature == self._signature:
                return False
            self._signature = signature
            self._push(latest, status, info.end_time)
            return True

    def _read(self, *, final: bool) -> list[LatestRow]:
        if final:
            self._store.flush()  # also waits for a flush already under way
        catalog = self._store.catalog
        catalog.refresh()
        run_id = self._run.run_id
        paths = catalog.metric_paths_for_run(run_id, self._run.info.experiment_id)
        if not self._seen.issubset(paths):
            # Compaction replaced files already read; their rows are in a new file.
            self._seen = set()
            self._series = {key: _Series() for key in self._slots}
            self._revision += 1
        fresh = [path for path in paths if path not in self._seen]
        rows = None
        if fresh:
            keys = None if len(self._slots) < self.max_charts else self._slots
            rows = query.metric_rows_in_files(catalog, fresh, run_id, keys)
        latest = query.latest_metric_rows(catalog, run_id)
        self._seen.update(fresh)
        if rows is not None and rows.num_rows:
            self._fold(rows)
        return latest

    def _fold(self, rows: pa.Table) -> None:
        if len(self._slots) < self.max_charts:
            first = rows.group_by("key").aggregate([("timestamp", "min")])
            times = first.column("timestamp_min").to_pylist()
            names = first.column("key").to_pylist()
            for _ts, key in sorted(zip(times, names, strict=True)):
                if not self.system_charts and is_system_key(key):
                    continue  # shown in the system strip
                if key not in self._series and len(self._slots) < self.max_charts:
                    self._slots.append(key)
                    self._series[key] = _Series()
        keys = rows.column("key")
        for key, series in self._series.items():
            part = rows.filter(pc.equal(keys, key))
            if part.num_rows:
                series.add(part)
                self._revision += 1

    def _push(self, latest: list[LatestRow], status: str, end_time: int | None) -> None:
        system = [r for r in latest if is_system_key(r[0])]
        if not self.system_charts:
            latest = [r for r in latest if not is_system_key(r[0])]
        slot_of = {key: i for i, key in enumerate(self._slots)}
        charted = sorted((r for r in latest if r[0] in slot_of), key=lambda r: slot_of[r[0]])
        listed = [r for r in latest if r[0] not in slot_of][:MAX_LISTED]
        rows = charted + listed
        latest_table = pa.table(
            {
                "key": pa.array([r[0] for r in rows], pa.string()),
                "step": pa.array([r[1] for r in rows], pa.int64()),
                "timestamp": pa.array([r[2] for r in rows], pa.int64()),
                "value": pa.array([r[3] for r in rows], pa.float64()),
                "chart": pa.array([slot_of.get(r[0], -1) for r in rows], pa.int8()),
                "axis": pa.array(
                    [self._series[r[0]].axis if r[0] in slot_of else "" for r in rows],
                    pa.string(),
                ),
            }
        )
        slots: list[int] = []
        xs: list[float] = []
        ys: list[float] = []
        for slot, key in enumerate(self._slots):
            for x, y in self._series[key].points():
                slots.append(slot)
                xs.append(x)
                ys.append(y)
        series_table = pa.table(
            {
                "chart": pa.array(slots, pa.int8()),
                "x": pa.array(xs, pa.float64()),
                "y": pa.array(ys, pa.float64()),
            }
        )
        self._rows = rows
        with self.hold_sync():  # one comm message: status and data change together
            self.latest = arrow_ipc_bytes(latest_table)
            self.series = arrow_ipc_bytes(series_table)
            self.metric_count = len(latest)
            self.system = strip(system)
            self.status = status
            self.end_time = end_time

    def latest_rows(self) -> list[LatestRow]:
        """``(key, step, timestamp, value)`` of the keys shown, charted keys first."""
        return list(self._rows)

    def chart_points(self, key: str) -> list[tuple[int, float]]:
        """The downsampled points drawn for ``key`` (empty if it has no chart)."""
        series = self._series.get(key)
        return [] if series is None else series.points()

    # -- static representation ----------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:  # noqa: ANN401 - IPython's include/exclude
        # anywidget answers (data, metadata); the widget view stays the preferred type and
        # text/html is what a front end without the widget's state shows.
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if bundle is not None else ({}, {})
        return {**data, "text/html": self.summary_html()}, metadata

    def _saved_output(self) -> dict[str, str]:
        return {"text/html": saved_output([self._static_key], self.summary_html())}

    def summary_html(self) -> str:
        """The view's current state as self-contained HTML (a notebook saved without a kernel)."""
        end = self.end_time if self.end_time is not None else time.time_ns() // 1_000_000
        color = _STATUS_COLORS.get(self.status, "#616161")
        head = (
            f'<span style="color:{color};font-weight:600">'
            f"&#9679; {html.escape(self.status)}</span> "
            f"<strong>{html.escape(self.run_name)}</strong> "
            f'<span style="color:#757575">&middot; {clock(end - self.start_time)}</span>'
        )
        cells = []
        for key, step, _ts, value in self._rows:
            line = svg_line(self.chart_points(key))
            cells.append(
                f'<tr><td style="padding:1px 8px 1px 0">{html.escape(key)}</td>'
                f'<td style="padding:1px 8px;text-align:right;font-variant-numeric:tabular-nums">'
                f"{html.escape(_number(value))}</td>"
                f'<td style="padding:1px 8px;color:#757575">step {step}</td><td>{line}</td></tr>'
            )
        hidden = self.metric_count - len(self._rows)
        if hidden > 0:
            cells.append(f'<tr><td colspan="4" style="color:#757575">+{hidden} more</td></tr>')
        table = f'<table style="border-collapse:collapse;margin-top:4px">{"".join(cells)}</table>'
        machine = html.escape(strip_text(self.system))
        if machine:
            machine = f'<div style="color:#757575;margin-top:2px">{machine}</div>'

        return (
            '<div class="canvasback-live-run-static" style="font:13px system-ui,sans-serif;'
            'border:1px solid #e0e0e0;border-radius:6px;padding:6px 10px;display:inline-block">'
            f"<div>{head}</div>{machine}{table if cells else ''}</div>"
        )


def _number(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.4g}"


def clock(ms: int) -> str:
    """Elapsed milliseconds as a clock: ``0:04``, ``12:34``, ``1:02:03``."""
    seconds = max(ms, 0) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def svg_line(points: list[tuple[int, float]], width: int = 80, height: int = 18) -> str:
    """A sparkline of ``points`` as inline SVG (empty for fewer than two points)."""
    if len(points) < 2:  # noqa: PLR2004 - a line needs two points
        return ""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x_span = min(xs), (max(xs) - min(xs)) or 1
    y0, y_span = min(ys), (max(ys) - min(ys)) or 1
    coords = " ".join(
        f"{(x - x0) / x_span * width:.1f},{height - 1 - (y - y0) / y_span * (height - 2):.1f}"
        for x, y in points
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<polyline points="{coords}" fill="none" stroke="#1565c0" stroke-width="1.2"/></svg>'
    )


def show_live_run(run: Run) -> LiveRun:
    """Show a live view of ``run`` in the current cell's output (``start_run`` calls this)."""
    from IPython.display import display  # noqa: PLC0415 - only inside a kernel

    view = LiveRun(run)
    # Two outputs, as every canvasback widget shows (widgets/_static.py): the summary,
    # which stays readable without a kernel, then the view, which hides it while it runs.
    handle = display(view._saved_output(), raw=True, display_id=True)  # type: ignore[no-untyped-call]  # noqa: SLF001
    data, metadata = view.view_bundle()
    display(data, metadata=metadata, raw=True)  # type: ignore[no-untyped-call]
    view._display = handle  # noqa: SLF001
    return view
