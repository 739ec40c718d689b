"""The Compare widget's static view: its panels as static charts, then the params table.

A saved notebook opened without a kernel shows this in place of the live widget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback import charts
from canvasback.widgets import _static

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

    from canvasback.charts.panels import Panel

__all__ = ["static_view"]


def static_view(
    panels: Mapping[str, Panel],
    frame: pd.DataFrame,
    names: dict[str, str],
    *,
    diff_only: bool,
    status: str,
    fmt: _static.Format,
) -> str:
    """The comparison as static HTML: one section per panel, the params that differ."""
    sections: list[_static.Section | None] = [
        _panel_section(panel, fmt) for panel in panels.values()
    ]
    if not frame.empty:
        table = charts.params_diff(frame, names, diff_only=diff_only)
        if len(table):
            title = "Params that differ" if diff_only else "Params"
            rows = [
                [key, *values] for key, values in zip(table.index, table.to_numpy(), strict=True)
            ]
            sections.append(_static.table_section(title, ["param", *table.columns], rows))
    return _static.static_html("Run comparison", sections, note=status)


def _panel_section(panel: Panel, fmt: _static.Format) -> _static.Section | None:
    if panel.spec is None:
        return _static.Section(panel.title, "", note=panel.message)
    return _static.chart_section(panel.title, panel.spec, panel.data, fmt=fmt, note=panel.message)
