"""``Compare``: runs side by side in one widget (use :func:`compare` to make one).

Histories (downsampled in DuckDB, smoothed, on a step / wall-time / relative-time axis),
parallel coordinates, a param-vs-metric scatter, final-value bars, a params table and
evaluation curves (a tab once a run has them) share one widget: one Vega bundle for all.

Python builds every chart with :mod:`canvasback.charts` and syncs the Vega-Lite specs
as one trait; the rows travel apart, as Arrow bytes in one ``data_<name>`` trait per
named dataset (the evaluation's few rows go in its spec), so a change of smoothing
resends one dataset and no spec. The front end reports clicks and brushes as
``selected_ids``. Given a run table, the widget follows the table's selection.

Why Vega-Lite compiles in the browser: ``static/compare.js`` bundles vega, vega-lite
and vega-embed (0.9 MB, 0.31 MB gzipped), saved once per notebook in the shared runtime
(``_runtime.py``: five comparisons and five tables save at about 1.7 MB with widget
state, ``benchmarks/bench_saved_size.py``). Specs compiled by vl-convert in Python would
save 0.36 MB of bundle but start a JavaScript engine (a second) on control changes.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Final

import pandas as pd
import pyarrow as pa
import traitlets

from canvasback import charts, query
from canvasback.charts.panels import PANELS, Settings, build_panels
from canvasback.query import downsample as downsampling
from canvasback.tracking.client import Client, RunNotFoundError
from canvasback.widgets import _export, _static
from canvasback.widgets._base import BaseWidget, RpcReply, rpc
from canvasback.widgets._compare_axes import chart_history, default_metrics, default_scatter_param
from canvasback.widgets._compare_evaluation import CURVE_PLOTS, evaluation_curves
from canvasback.widgets._compare_payloads import (
    arrow_bytes,
    chart_of,
    panel_datasets,
    params_panel,
    status_text,
)
from canvasback.widgets._compare_static import static_view
from canvasback.widgets._run_colors import run_colors
from canvasback.widgets._sources import resolve_store, run_ids

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Iterator, Mapping
    from pathlib import Path

    from canvasback.store import Store

__all__ = ["Compare", "compare"]

# Total history rows across all series (~10 bytes each in the state; about what an SVG
# chart redraws without stutter). A static image needs far fewer points (a smaller SVG).
HISTORY_BUDGET: Final = 24_000
STATIC_HISTORY_BUDGET: Final = 2_000
DEFAULT_KEYS: Final = 4
# Runs shown while a followed run table has none selected (the dashboard's rule too).
NEWEST: Final = 5
DATASETS: Final = ("history", "parallel", "scatter", "finals")
_CHART_PANELS: Final = ("history", "parallel", "scatter", "bars", "evaluation")
_SCATTER_AXES: Final = ("scatter_param", "scatter_metric")
# Settings that redraw one panel from the rows it has (the evaluation reads its few again).
_REDRAWN: Final = {"smoothing": "history", "log_y": "history", "params": "parallel"}


def _data_trait() -> traitlets.Bytes:
    return traitlets.Bytes(b"").tag(sync=True, echo_update=False)


class Compare(_static.StaticRepr, BaseWidget):
    """Charts and a params table comparing runs; see :func:`compare`."""

    _shared_bundle = "compare"

    run_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """The runs compared, in legend order."""
    metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Metric keys charted (histories, bars, parallel coordinates)."""
    params = traitlets.List(traitlets.Unicode(), allow_none=True, default_value=None).tag(sync=True)
    """Params on the parallel coordinates; None: those that differ between runs."""
    x = traitlets.Enum(downsampling.X_AXES, default_value="step").tag(sync=True)
    smoothing = traitlets.Float(0.0, min=0.0, max=charts.MAX_SMOOTHING).tag(sync=True)
    log_y = traitlets.Bool(default_value=False).tag(sync=True)
    scatter_param = traitlets.Unicode("").tag(sync=True)
    scatter_metric = traitlets.Unicode("").tag(sync=True)
    diff_only = traitlets.Bool(default_value=True).tag(sync=True)
    """Whether the params table shows only params that differ between runs."""
    max_points = traitlets.Int(downsampling.DEFAULT_MAX_POINTS, min=64).tag(sync=True)
    """Upper bound of drawn points per (run, key) history."""
    x_range = traitlets.List(traitlets.Float(), allow_none=True, default_value=None).tag(sync=True)
    """``[lo, hi]`` of the history x axis (in its units) to zoom into; None for all of it.

    A zoomed range is fetched anew from the store, downsampled within the range only, so
    detail that the whole history's buckets merged shows again.
    """
    evaluation_plot = traitlets.Enum(CURVE_PLOTS, default_value="roc").tag(sync=True)
    """The curves overlaid in the Evaluation tab (runs ``canvasback.evaluate`` logged on)."""
    tab = traitlets.Enum(tuple(PANELS), default_value="history").tag(sync=True)
    selected_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Runs clicked or brushed in a chart (or set here to highlight them)."""

    available_metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    available_params = traitlets.List(traitlets.Unicode()).tag(sync=True)
    run_info = traitlets.List(traitlets.Dict()).tag(sync=True)
    """``{"run_id", "label", "color"}`` per run, in ``run_ids`` order."""
    panels = traitlets.Dict().tag(sync=True, echo_update=False)
    """Panel name -> ``{"title", "spec"?, "datasets"?, "message"?, "table"?}``."""
    data_history = _data_trait()
    data_parallel = _data_trait()
    data_scatter = _data_trait()
    data_finals = _data_trait()
    status = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        runs: object = None,
        *,
        store: str | os.PathLike[str] | Client | Store | None = None,
        **kwargs: Any,  # noqa: ANN401 - trait values of any type
    ) -> None:
        self._store = resolve_store(store, runs)
        self._quiet_depth = 1  # no observer work until the first full load below
        # The metrics the user chose (here or in the view), kept whatever runs come and go:
        # charted whenever the runs have any of them, else the default shows meanwhile.
        chosen = kwargs.get("metrics")
        self._chosen_metrics: list[str] | None = [str(m) for m in chosen] if chosen else None
        # The scatter's axes chosen by the user; the others follow the runs shown.
        self._chosen_axes = {k: str(kwargs[k]) for k in _SCATTER_AXES if kwargs.get(k)}
        self._source: Any = None
        self._newest = False  # showing a table's newest runs, none being selected
        self._frame = pd.DataFrame({"run_id": pd.Series(dtype=object)})
        self._names: dict[str, str] = {}
        self._colors: dict[str, str] = {}  # run id -> its colour in the kernel
        self._history_table = pa.table({})
        self._history = pd.DataFrame()
        self._curves: pd.DataFrame | None = None  # evaluation curves
        self._x_title = charts.X_TITLES["step"]
        self._x_divisor = 1.0
        super().__init__(**kwargs)
        if runs is not None:
            ids = run_ids(runs)
            missing = self._unknown(ids)
            if missing:
                msg = f"No run with id {', '.join(map(repr, missing))} in {self._store.url}"
                raise RunNotFoundError(msg)
            self._follow(runs)
            self.run_ids = ids if self._source is None else self._source_ids()
        self._quiet_depth = 0
        self._reload()

    @classmethod
    def _accepted_kwargs(cls) -> set[str]:
        return {*super()._accepted_kwargs(), "store"}

    # -- Python API ------------------------------------------------------------------
    @property
    def selected(self) -> pd.DataFrame:
        """The selected runs with ``search_runs`` columns, in comparison order."""
        chosen = set(self.selected_ids)
        frame = self._frame[self._frame["run_id"].isin(chosen)]
        return frame.reset_index(drop=True)

    @property
    def runs(self) -> pd.DataFrame:
        """The compared runs with ``search_runs`` columns."""
        return self._frame.copy()

    def history(self) -> pd.DataFrame:
        """The drawn (downsampled, smoothed) history rows."""
        return self._history.copy()

    def refresh(self) -> None:
        """Re-read the store: points and runs logged since show up."""
        self._reload()

    def save(
        self,
        path: str | os.PathLike[str],
        panel: str | None = None,
        format: str | None = None,  # noqa: A002 - the word vl-convert and Altair use
    ) -> Path:
        """Write a chart, the shown tab's or ``panel``'s, as PNG, SVG or offline HTML.

        The format is ``format`` or the file's suffix (``.png``, ``.svg``, ``.html``).
        """
        fmt = _export.format_of(path, format)
        spec, rows, title = self._chart_of(panel)
        return _export.save_chart(path, spec, rows, fmt=fmt, title=title)

    def _chart_of(self, panel: str | None) -> tuple[dict[str, Any], dict[str, pa.Table], str]:
        name = panel or (self.tab if self.tab in _CHART_PANELS else "history")
        datasets = {d: getattr(self, f"data_{d}") for d in DATASETS}
        return chart_of(dict(self.panels), datasets, name)

    def close(self) -> None:
        """Stop following a run table, then close the widget."""
        source, self._source = self._source, None
        if source is not None:
            with contextlib.suppress(Exception):  # the table may already be gone
                source.unobserve(self._on_source, names=["selected_ids", "generation"])
        super().close()

    # -- front-end requests ------------------------------------------------------------
    @rpc("refresh")
    def _refresh_request(self, _request: Mapping[str, Any]) -> RpcReply:
        self._reload()
        return {"runs": len(self.run_ids), "status": self.status}, []

    @rpc("export")
    def _export_request(self, request: Mapping[str, Any]) -> RpcReply:
        # The Save button: the bytes go back to the browser, which downloads them.
        fmt = _export.format_of("chart", str(request.get("format") or ""))
        spec, rows, title = self._chart_of(request.get("panel"))
        data = _export.chart_bytes(spec, rows, fmt, title=title)
        name = f"canvasback-{request.get('panel') or self.tab}.{fmt}"
        return {"mime": _export.MIME[fmt], "filename": name, "bytes": len(data)}, [data]

    @rpc("zoom")
    def _zoom_request(self, request: Mapping[str, Any]) -> RpcReply:
        lo, hi = request.get("x_min"), request.get("x_max")
        if lo is None or hi is None:
            self.set_trait("x_range", None)
        else:
            lo, hi = sorted((float(lo), float(hi)))
            if not hi > lo:
                msg = f"zoom needs x_min < x_max, not {lo!r} and {hi!r}"
                raise ValueError(msg)
            self.x_range = [lo, hi]
        return {"x_range": self.x_range, "points": self._history_table.num_rows}, []

    # -- following a run table ---------------------------------------------------------
    def _follow(self, runs: object) -> None:
        if isinstance(runs, str | list | tuple | pd.DataFrame) or not hasattr(runs, "observe"):
            return
        if hasattr(runs, "selected_ids"):
            runs.observe(self._on_source, names=["selected_ids"])
            if hasattr(runs, "newest_ids"):
                # Its rows change (a filter, another experiment): so may its newest runs.
                runs.observe(self._on_source, names=["generation"])
            self._source = runs

    def _source_ids(self) -> list[str]:
        """The source's selection; with none, a run table's newest runs."""
        chosen = [str(r) for r in self._source.selected_ids]
        self._newest = not chosen and hasattr(self._source, "newest_ids")
        return [str(r) for r in self._source.newest_ids(NEWEST)] if self._newest else chosen

    def _on_source(self, change: Mapping[str, Any]) -> None:
        if change["name"] == "generation" and not self._newest:
            return  # the selection is what is shown, whatever the table's rows
        newest = self._newest
        ids = self._source_ids()
        if ids != self.run_ids:
            self.run_ids = ids
        elif newest != self._newest:
            self.status = self._status()  # the same runs, now chosen (or no longer)

    # -- observers ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        self._quiet_depth += 1
        try:
            with self.hold_sync():
                yield
        finally:
            self._quiet_depth -= 1

    @traitlets.observe("run_ids")
    def _on_runs(self, _change: object) -> None:
        if not self._quiet_depth:
            self._reload()

    @traitlets.observe("metrics", "x", "max_points", "x_range")
    def _on_fetch(self, change: Mapping[str, Any]) -> None:
        if self._quiet_depth:
            return
        if change["name"] == "metrics":
            # The view offers only the metrics these runs have: a choice made there keeps
            # the chosen metrics that these runs lack, for runs that have them.
            absent = set(self._chosen_metrics or []) - set(self.available_metrics)
            kept = [m for m in self._chosen_metrics or [] if m in absent]
            self._chosen_metrics = list(dict.fromkeys([*change["new"], *kept])) or None
        if change["name"] == "x" and self.x_range is not None:
            with self._quiet():
                self.set_trait("x_range", None)  # a range of another axis means nothing here
        panels = _CHART_PANELS if change["name"] == "metrics" else ("history",)
        self._update(panels, fetch=True)

    @traitlets.observe(*_REDRAWN, "evaluation_plot")
    def _on_redraw(self, change: Mapping[str, Any]) -> None:
        if not self._quiet_depth:
            name = change["name"]
            self._update((_REDRAWN.get(name, "evaluation"),), smooth=name == "smoothing")

    @traitlets.observe(*_SCATTER_AXES)
    def _on_scatter(self, change: Mapping[str, Any]) -> None:
        if not self._quiet_depth:
            self._chosen_axes[change["name"]] = str(change["new"])
            self._update(("scatter",))

    @traitlets.validate("selected_ids")
    def _valid_selection(self, proposal: Mapping[str, Any]) -> list[str]:
        known = set(self.run_ids)
        return [str(r) for r in dict.fromkeys(proposal["value"]) if str(r) in known]

    # -- loading -----------------------------------------------------------------------
    def _unknown(self, ids: list[str]) -> list[str]:
        catalog = self._store.read()
        found = query.existing_run_ids(catalog, ids)
        return [r for r in ids if r not in found]

    def _reload(self) -> None:
        """Runs, their params and latest metrics, then every panel."""
        catalog = self._store.read()
        missing = set(self._unknown(list(self.run_ids))) if self.run_ids else set()
        ids = [r for r in self.run_ids if r not in missing]
        self._frame = query.runs_frame(catalog, self._store.address, ids)
        self._names = charts.run_labels(self._frame) if ids else {}
        columns = [str(c) for c in self._frame.columns]
        metrics = sorted(c.removeprefix("metrics.") for c in columns if c.startswith("metrics."))
        params = sorted(c.removeprefix("params.") for c in columns if c.startswith("params."))
        self._colors = run_colors(ids)
        with self._quiet():
            self.available_metrics = metrics
            self.available_params = params
            self.run_info = [
                {"run_id": r, "label": self._names[r], "color": self._colors[r]} for r in ids
            ]
            chosen = [m for m in self._chosen_metrics or [] if m in set(metrics)]
            self.metrics = chosen or default_metrics(metrics, DEFAULT_KEYS)
            # An axis the user chose stays while the runs have it; the others are
            # chosen again for the runs shown (a param that varies between them).
            param = self._chosen_axes.get("scatter_param", "")
            self.scatter_param = (
                param if param in params else default_scatter_param(self._frame, params)
            )
            metric = self._chosen_axes.get("scatter_metric", "")
            default_metric = next((m for m in self.metrics if m in metrics), "")
            self.scatter_metric = metric if metric in metrics else default_metric
            self.selected_ids = [r for r in self.selected_ids if r in set(ids)]
            self._update((*_CHART_PANELS, "params"), fetch=True)

    def _fetch_history(self, budget: int = HISTORY_BUDGET) -> pa.Table:
        ids = [str(r) for r in self._frame["run_id"]]
        keys = [k for k in self.metrics if k in set(self.available_metrics)]
        per_series = downsampling.points_per_series(
            len(ids) * len(keys), budget=budget, max_points=self.max_points
        )
        catalog = self._store.read()
        return downsampling.downsample(
            catalog, ids, keys, x=self.x, max_points=per_series, x_range=self._stored_range()
        )

    def _stored_range(self) -> tuple[float, float] | None:
        """The zoomed range in the store's x units (relative time is charted in s/min/h/d)."""
        if self.x_range is None:
            return None
        scale = self._x_divisor if self.x == "relative_time" else 1.0
        return (self.x_range[0] * scale, self.x_range[1] * scale)

    def _settings(self) -> Settings:
        return Settings(
            metrics=[k for k in self.metrics if k in set(self.available_metrics)],
            x=self.x,
            x_title=self._x_title,
            smoothing=self.smoothing,
            log_y=self.log_y,
            scatter_param=self.scatter_param,
            scatter_metric=self.scatter_metric,
            params=self.params,
            x_range=(self.x_range[0], self.x_range[1]) if self.x_range is not None else None,
            evaluation_plot=self.evaluation_plot,
        )

    def _update(self, names: Iterable[str], *, fetch: bool = False, smooth: bool = False) -> None:
        names = list(names)
        if fetch and "history" in names:
            self._history_table = self._fetch_history()
        if (fetch or smooth) and "history" in names:
            self._history, self._x_title, self._x_divisor = chart_history(
                self._history_table,
                self._names,
                x=self.x,
                smoothing=self.smoothing,
                zoomed=self.x_range is not None,
                divisor=self._x_divisor,
            )
        if "evaluation" in names:
            self._curves = evaluation_curves(self._store, self._frame, self.evaluation_plot)
        chart_names = [n for n in names if n in _CHART_PANELS]
        built = build_panels(
            self._frame,
            self._names,
            self._history,
            self._settings(),
            colors=self._colors,
            only=chart_names,
            curves=self._curves,
        )
        panels = {k: v for k, v in self.panels.items() if k not in chart_names}
        data: dict[str, bytes] = {}
        for name, panel in built.items():
            panels[name] = panel.payload()
            if name == "history" and not (fetch or smooth) and self.data_history:
                continue  # a spec-only change (log scale): the rows are unchanged
            for dataset, frame in panel.data.items():
                data[dataset] = arrow_bytes(frame)
            if panel.spec is None:
                data.update(dict.fromkeys(panel_datasets(name), b""))
        if "params" in names:
            panels["params"] = params_panel(self._frame, self._names, self._colors)
        with self._quiet():
            for dataset, payload in data.items():
                setattr(self, f"data_{dataset}", payload)
            self.panels = {name: panels[name] for name in PANELS if name in panels}
            self.status = self._status()

    def _status(self) -> str:
        return status_text(
            self._frame,
            len(self._settings().metrics),
            self._history_table,
            newest=NEWEST if self._newest else None,
        )

    # -- static view -------------------------------------------------------------------
    def _static_html(self) -> str | None:
        fmt = _static.static_format()
        history = self._history
        if self._history_table.num_rows > STATIC_HISTORY_BUDGET:
            table = self._fetch_history(STATIC_HISTORY_BUDGET)
            history, _ = charts.history_frame(
                table, self._names, x=self.x, smoothing=self.smoothing
            )
        panels = build_panels(
            self._frame,
            self._names,
            history,
            self._settings(),
            colors=self._colors,
            interactive=False,
            curves=self._curves,
        )
        return static_view(
            panels,
            self._frame,
            self._names,
            diff_only=self.diff_only,
            status=self.status,
            fmt=fmt,
        )


def compare(
    runs: object,
    metrics: list[str] | None = None,
    params: list[str] | None = None,
    x: str = "step",
    smoothing: float = 0.0,
    log_y: bool = False,
    store: str | os.PathLike[str] | Client | Store | None = None,
    tab: str = "history",
) -> Compare:
    """Compare runs: histories, parallel coordinates, scatter, final values, params.

    Parameters
    ----------
    runs
        Run ids, a DataFrame with a ``run_id`` column (``search_runs``), run objects, or
        a run table, whose selection the comparison then follows.
    metrics
        Metric keys to chart; by default the first few the runs logged (system metrics,
        ``system/*``, only when the runs logged nothing else; they chart like any metric).
    params
        Params on the parallel coordinates; by default those that differ between runs.
    x
        History x axis: ``"step"``, ``"wall_time"`` or ``"relative_time"``.
    smoothing
        Exponential moving average weight in [0, 0.999], as TensorBoard's slider.
    log_y
        Log scale for history values.
    store
        The store (folder, Client or Store); by default the current one.
    tab
        The panel shown first (``"history"``, ``"parallel"``, ``"evaluation"``, ...).

    """
    kwargs: dict[str, Any] = {"x": x, "smoothing": smoothing, "log_y": log_y, "tab": tab}
    if metrics is not None:
        kwargs["metrics"] = list(metrics)
    if params is not None:
        kwargs["params"] = list(params)
    return Compare(runs, store=store, **kwargs)
