"""The Compare widget's payloads: chart rows as compact Arrow, defaults, static panels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from canvasback import charts
from canvasback.charts.panels import PANELS, params_payload
from canvasback.charts.runs import varies
from canvasback.tracking.queries import downsample as downsampling
from canvasback.widgets import _static
from canvasback.widgets._base import arrow_ipc_bytes

if TYPE_CHECKING:
    from canvasback.charts.panels import Panel

__all__ = [
    "arrow_bytes",
    "chart_history",
    "chart_of",
    "default_scatter_param",
    "panel_datasets",
    "params_panel",
    "static_panel",
    "status_text",
]


def static_panel(panel: Panel, fmt: _static.Format) -> _static.Section | None:
    if panel.spec is None:
        return _static.Section(panel.title, "", note=panel.message)
    return _static.chart_section(panel.title, panel.spec, panel.data, fmt=fmt, note=panel.message)


def panel_datasets(name: str) -> tuple[str, ...]:
    return {"history": ("history",), "bars": ("finals",)}.get(name, (name,))


def arrow_bytes(frame: pd.DataFrame) -> bytes:
    """A chart's rows as compact Arrow IPC, since saved widget state keeps every byte.

    Repeated labels go as dictionaries; history values as float32 (seven digits, more
    than a chart or its tooltip shows) and integral x (steps) as int32; a column that
    is all null (``smoothed`` without smoothing) is left out. About 10 bytes a point.
    """
    frame = frame.reset_index(drop=True)
    for column in ("run", "key", "kind", "axis"):
        if column in frame.columns:
            frame[column] = frame[column].astype("category")
    if {"x", "value"} <= set(frame.columns):
        frame = frame.drop(columns=[c for c in frame.columns if frame[c].isna().all()])
        for column in ("value", "smoothed"):
            if column in frame.columns:
                frame[column] = frame[column].astype("float32")
        x = frame["x"]
        integral = pd.api.types.is_integer_dtype(x) or (
            pd.api.types.is_float_dtype(x) and x.notna().all() and bool((x % 1 == 0).all())
        )
        if integral and (x.empty or x.abs().max() < _INT32_LIMIT):
            frame["x"] = x.astype("int32")
    return arrow_ipc_bytes(pa.Table.from_pandas(frame, preserve_index=False))


_INT32_LIMIT: Final = 2**31
_UNITS: Final = {1.0: "s", 60.0: "min", 3600.0: "h", 86400.0: "d"}


def default_scatter_param(frame: pd.DataFrame, params: list[str]) -> str:
    """The numeric param with the most distinct values: the likeliest thing swept."""
    varying = [p for p in params if varies(frame[f"params.{p}"])]
    numeric = [p for p in varying if charts.numeric_values(frame[f"params.{p}"]) is not None]
    ranked = sorted(numeric, key=lambda p: -frame[f"params.{p}"].nunique())
    return next(iter(ranked or varying or params), "")


def chart_of(
    panels: dict[str, Any], datasets: dict[str, bytes], name: str
) -> tuple[dict[str, Any], dict[str, pa.Table], str]:
    """A panel's spec, its rows and its title, for export.

    Raises
    ------
    ValueError
        If the panel is not one of the charts there are, naming those.

    """
    from canvasback.widgets._base import table_from_ipc_bytes  # noqa: PLC0415

    charted = [n for n, payload in panels.items() if "spec" in payload]
    payload = panels.get(name, {})
    if "spec" not in payload:
        msg = f"no chart {name!r} to save: the charts drawn now are {', '.join(charted) or 'none'}"
        raise ValueError(msg)
    rows = {
        d: table_from_ipc_bytes(datasets[d]) for d in payload.get("datasets", []) if datasets.get(d)
    }
    return payload["spec"], rows, str(payload.get("title", name))


def _top(table: pa.Table) -> float:
    value = pc.max(table.column("x")).as_py() if table.num_rows else None
    return float(value) if value is not None else 0.0


def chart_history(
    table: pa.Table,
    names: dict[str, str],
    *,
    x: str,
    smoothing: float,
    zoomed: bool,
    divisor: float,
) -> tuple[pd.DataFrame, str, float]:
    """The history as charted, its x title, and the relative-time divisor it used.

    Relative time is charted in the unit that suits the whole history (s, min, h, d);
    a zoomed range keeps that unit (``divisor``) rather than one for its own span.
    """
    if x == "relative_time" and not zoomed and table.num_rows:
        divisor = charts.relative_time_unit(_top(table))[0]
    frame, title = charts.history_frame(table, names, x=x, smoothing=smoothing)
    if x == "relative_time" and zoomed and not frame.empty:
        own = charts.relative_time_unit(_top(table))[0]
        frame["x"] = frame["x"] * own / divisor
        title = f"relative time ({_UNITS.get(divisor, 's')})"
    return frame, title, divisor


def params_panel(frame: pd.DataFrame, names: dict[str, str]) -> dict[str, Any]:
    """The params tab's payload: the table, or why there is none."""
    if frame.empty:
        return {"title": PANELS["params"], "message": "No runs to compare."}
    payload = params_payload(frame, names)
    if not payload["rows"]:
        return {"title": PANELS["params"], "message": "These runs have logged no params."}
    return {"title": PANELS["params"], "table": payload}


def status_text(frame: pd.DataFrame, keys: int, history: pa.Table) -> str:
    """``3 runs · 2 metrics · 1,200 points, drawn as 600``."""
    runs = len(frame)
    if not runs:
        return "No runs selected."
    shown = history.num_rows
    stored = downsampling.raw_point_count(history) if shown else 0
    text = f"{runs} run{'s' * (runs != 1)} · {keys} metric{'s' * (keys != 1)}"
    if stored:
        text += f" · {stored:,} points"
        if stored > shown:
            text += f", drawn as {shown:,}"
    return text
