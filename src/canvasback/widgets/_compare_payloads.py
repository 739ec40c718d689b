"""What the Compare widget sends its front end, and a chart read back from it.

Chart rows go as compact Arrow, one ``data_<name>`` trait per dataset; the params tab
and the status line as plain values; ``chart_of`` finds a panel's spec and rows again
for export.
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd
import pyarrow as pa

from canvasback.charts.panels import PANELS, params_payload
from canvasback.query import downsample as downsampling
from canvasback.widgets._base import arrow_ipc_bytes, table_from_ipc_bytes

__all__ = ["arrow_bytes", "chart_of", "panel_datasets", "params_panel", "status_text"]

_INT32_LIMIT: Final = 2**31


def panel_datasets(name: str) -> tuple[str, ...]:
    """The datasets (``data_<name>`` traits) that a chart panel draws."""
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


def params_panel(
    frame: pd.DataFrame, names: dict[str, str], colors: dict[str, str]
) -> dict[str, Any]:
    """The params tab's payload: the table, or why there is none."""
    if frame.empty:
        return {"title": PANELS["params"], "message": "No runs to compare."}
    payload = params_payload(frame, names, colors)
    if not payload["rows"]:
        return {"title": PANELS["params"], "message": "These runs have logged no params."}
    return {"title": PANELS["params"], "table": payload}


def status_text(
    frame: pd.DataFrame, keys: int, history: pa.Table, *, newest: int | None = None
) -> str:
    """``3 runs · 2 metrics · 1,200 points, drawn as 600``.

    ``newest``: the runs are a run table's newest (up to that many), none being selected.
    """
    runs = len(frame)
    if not runs:
        return "No runs selected."
    shown = history.num_rows
    stored = downsampling.raw_point_count(history) if shown else 0
    plural = "s" * (runs != 1)
    head = f"{runs} run{plural}"
    if newest is not None:
        which = f"the {runs} newest run{plural}" if runs == newest else f"all {runs} run{plural}"
        head = f"Showing {which}; select runs to choose"
    text = f"{head} · {keys} metric{'s' * (keys != 1)}"
    if stored:
        text += f" · {stored:,} points"
        if stored > shown:
            text += f", drawn as {shown:,}"
    return text


def chart_of(
    panels: dict[str, Any], datasets: dict[str, bytes], name: str
) -> tuple[dict[str, Any], dict[str, pa.Table], str]:
    """A panel's spec, its rows and its title, for export.

    Raises
    ------
    ValueError
        If the panel is not one of the charts there are, naming those.

    """
    charted = [n for n, payload in panels.items() if "spec" in payload]
    payload = panels.get(name, {})
    if "spec" not in payload:
        msg = f"no chart {name!r} to save: the charts drawn now are {', '.join(charted) or 'none'}"
        raise ValueError(msg)
    rows = {
        d: table_from_ipc_bytes(datasets[d]) for d in payload.get("datasets", []) if datasets.get(d)
    }
    return payload["spec"], rows, str(payload.get("title", name))
