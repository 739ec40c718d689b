"""``ChartView``: any Altair chart (or Vega-Lite dict) as a widget that works offline.

Altair's own renderers need a CDN (``alt.JupyterChart`` imports vega-embed from esm.sh)
or a 900 KB inline HTML per output; JupyterLab 4 renders Vega-Lite only up to v5. This
widget draws the chart with canvasback's bundled vega-embed (``static/vega_view.js``),
so it renders with no network, and reports a click on a mark and each selection
parameter back to Python.

The chart's inline datasets travel apart from the spec, as Arrow IPC bytes (one entry
of ``datasets`` per named dataset), and a saved notebook keeps a static SVG (or PNG)
of the chart, rendered by vl-convert like the other widgets' static views.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import pyarrow as pa
import traitlets

from canvasback.widgets import _export, _static
from canvasback.widgets._base import BaseWidget, arrow_ipc_bytes, table_from_ipc_bytes

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["ChartView"]

_LOG = logging.getLogger(__name__)

# The name given to a top-level ``data.values`` moved into the named datasets.
INLINE_VALUES: Final = "values"


@runtime_checkable
class SupportsToDict(Protocol):
    """What canvasback needs of an Altair chart: its Vega-Lite spec as a dict."""

    def to_dict(self) -> dict[str, Any]:
        """The chart's Vega-Lite specification."""
        ...


class ChartView(_static.StaticRepr, BaseWidget):
    """An Altair chart or a Vega-Lite spec, drawn offline by canvasback's vega-embed.

    Parameters
    ----------
    chart
        An Altair chart (anything with ``to_dict()``) or a Vega-Lite spec as a dict.
        Its inline datasets are sent as Arrow bytes; data it names but does not carry
        are passed with ``datasets``.
    **traits
        Initial values of the synced traits (``datasets``, ``clicked``, ``selections``).

    Attributes
    ----------
    spec : dict
        The Vega-Lite spec, without its inline datasets.
    datasets : dict of str to bytes
        Named datasets as Arrow IPC stream bytes.
    clicked : dict or None
        Scalar fields of the datum of the last clicked mark, set by the front end.
    selections : dict
        Selection parameter name to ``{"value": ..., "store": ...}``, set by the front end.

    Examples
    --------
    >>> import altair as alt, pandas as pd
    >>> frame = pd.DataFrame({"x": ["a", "b"], "y": [1, 2]})
    >>> view = ChartView(alt.Chart(frame).mark_bar().encode(x="x", y="y"))
    >>> len(view.datasets), "datasets" in view.spec
    (1, False)

    """

    _shared_bundle = "vega_view"
    spec = traitlets.Dict().tag(sync=True, echo_update=False)
    datasets = traitlets.Dict(value_trait=traitlets.Bytes()).tag(sync=True, echo_update=False)
    clicked = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    selections = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        chart: SupportsToDict | Mapping[str, Any] | None = None,
        **traits: Any,  # noqa: ANN401 - trait values of any type
    ) -> None:
        super().__init__(**traits)
        if chart is not None:
            self.set_chart(chart)

    def set_chart(self, chart: SupportsToDict | Mapping[str, Any]) -> None:
        """Show ``chart`` instead: a new spec and its datasets, sent together."""
        spec, tables = split_datasets(vega_lite_dict(chart))
        with self.hold_sync():
            self.datasets = {name: arrow_ipc_bytes(table) for name, table in tables.items()}
            self.spec = spec

    def save(
        self,
        path: str | os.PathLike[str],
        format: str | None = None,  # noqa: A002 - the word vl-convert and Altair use
    ) -> Path:
        """Write the chart as PNG, SVG or offline HTML (``format`` or the file's suffix)."""
        rows = {name: table_from_ipc_bytes(data) for name, data in self.datasets.items()}
        return _export.save_chart(path, self.spec, rows, fmt=format, title=chart_title(self.spec))

    def _static_html(self) -> str | None:
        rows = {name: table_from_ipc_bytes(data) for name, data in self.datasets.items()}
        section = _static.chart_section(chart_title(self.spec), self.spec, rows)
        return _static.static_html("Chart", [section])


def vega_lite_dict(chart: SupportsToDict | Mapping[str, Any]) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart, or a copy of a spec given as a dict.

    Raises
    ------
    TypeError
        If ``chart`` is neither.

    """
    if isinstance(chart, Mapping):
        return dict(chart)
    if isinstance(chart, SupportsToDict):
        spec = chart.to_dict()
        if isinstance(spec, Mapping):
            return dict(spec)
    msg = f"ChartView needs an Altair chart or a Vega-Lite dict, not {type(chart).__name__}"
    raise TypeError(msg)


def split_datasets(spec: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    """Take the inline rows out of a spec, as Arrow tables by dataset name.

    Altair puts a chart's rows in the top-level ``datasets`` and names them in ``data``;
    a hand-written spec may have ``data.values`` instead, which becomes the dataset
    :data:`INLINE_VALUES`. Rows that Arrow cannot type (mixed kinds in one column) stay
    inline in the spec, where vega-embed reads them as they are.
    """
    out = dict(spec)
    inline: dict[str, Any] = dict(out.pop("datasets", None) or {})
    data = out.get("data")
    if (
        isinstance(data, Mapping)
        and isinstance(data.get("values"), list)
        and INLINE_VALUES not in inline
    ):
        inline[INLINE_VALUES] = data["values"]
        out["data"] = {**{k: v for k, v in data.items() if k != "values"}, "name": INLINE_VALUES}
    tables: dict[str, pa.Table] = {}
    kept: dict[str, Any] = {}
    for name, rows in inline.items():
        table = _arrow_rows(rows)
        if table is None:
            kept[name] = rows
        else:
            tables[str(name)] = table
    if kept:
        out["datasets"] = kept
    return out, tables


def _arrow_rows(rows: object) -> pa.Table | None:
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        return None
    records: Sequence[Mapping[str, Any]] = rows
    try:
        return pa.Table.from_pylist([dict(row) for row in records])
    except (pa.ArrowException, TypeError, ValueError):
        _LOG.debug("canvasback: a dataset stays inline in the spec", exc_info=True)
        return None


def chart_title(spec: Mapping[str, Any]) -> str:
    """The chart's title as text (Vega-Lite allows a string, a list or a title object)."""
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(str(part) for part in title)
    return str(title) if title else "Vega-Lite chart"
