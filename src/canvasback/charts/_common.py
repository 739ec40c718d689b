"""What every chart shares: run labels and colours, the look, data sources, highlighting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import altair as alt

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd

# Tableau 10 first: its colours stay apart for the usual handful of runs; Tableau 20's
# paler halves only come in when there are more runs than that.
TABLEAU10: Final = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
TABLEAU20_EXTRA: Final = (
    "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d",
    "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e",
)  # fmt: skip

FOCUS_PARAM: Final = "focus"
"""A variable parameter in every chart: the labels of the runs to highlight.

The widget sets it from ``selected_ids`` so that every chart shows the same selection,
whichever chart (or the run table) it came from. Empty means "no highlight".
"""

# Fixed expression text; run labels only ever reach it as the parameter's value.
FOCUS_TEST: Final = f"length({FOCUS_PARAM}) == 0 || indexof({FOCUS_PARAM}, datum.run) >= 0"

# Past this many runs the legend moves under the chart, in columns.
LEGEND_WRAP: Final = 14
# Pixels a legend label takes per character at its 11 px font, and per entry beside it.
_LABEL_CHAR_PX: Final = 6.5
_ENTRY_PX: Final = 40
_MAX_LEGEND_COLUMNS: Final = 4

HALO_STYLE: Final = "cb-halo"
"""A text mark's style that draws it in the page's colour: put under a label, a halo keeps
the label readable over the lines it sits on (the front end recolours it in a dark theme)."""

FONT: Final = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"

CONFIG: Final[dict[str, Any]] = {
    "font": FONT,
    "view": {"stroke": "#e6e6e6", "continuousWidth": 360, "continuousHeight": 220},
    "axis": {
        "labelColor": "#555",
        "labelFontSize": 11,
        "titleColor": "#333",
        "titleFontSize": 11,
        "titleFontWeight": 500,
        "gridColor": "#eeeeee",
        "domainColor": "#bbbbbb",
        "tickColor": "#bbbbbb",
        "labelLimit": 160,
    },
    "header": {
        "labelFontSize": 12,
        "labelFontWeight": 600,
        "labelColor": "#222",
        "labelLimit": 320,
        "titleFontSize": 12,
    },
    "legend": {
        "labelFontSize": 11,
        "labelLimit": 200,
        "titleFontSize": 11,
        "titleFontWeight": 600,
        "symbolStrokeWidth": 3,
        "rowPadding": 3,
    },
    "title": {"fontSize": 13, "fontWeight": 600, "anchor": "start", "color": "#222"},
    "point": {"size": 70},
    "style": {HALO_STYLE: {"color": "#fff", "stroke": "#fff"}},
}


def palette(count: int) -> list[str]:
    """``count`` distinct-ish colours; they repeat only past twenty runs."""
    colours = TABLEAU10 + TABLEAU20_EXTRA if count > len(TABLEAU10) else TABLEAU10
    return [colours[i % len(colours)] for i in range(count)]


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """Run id -> a unique, readable label, in the frame's order.

    The label is ``tags.mlflow.runName``, else ``run_name``, else the id's first
    characters; runs sharing a name get a short id suffix, so that a colour, a legend
    entry and a clicked mark always mean one run.
    """
    names: list[str] = []
    ids = [str(run_id) for run_id in runs["run_id"]]
    for i, run_id in enumerate(ids):
        name: object = None
        for column in ("tags.mlflow.runName", "run_name"):
            if column in runs.columns:
                value = runs[column].iloc[i]
                if isinstance(value, str) and value:
                    name = value
                    break
        names.append(name if isinstance(name, str) else run_id[:8])
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    labels: dict[str, str] = {}
    for run_id, name in zip(ids, names, strict=True):
        label = f"{name} ({run_id[:6]})" if counts[name] > 1 else name
        while label in labels.values():  # a name that looks like another's suffixed label
            label = f"{label}*"
        labels[run_id] = label
    return labels


def color_scale(labels: Sequence[str], colors: Sequence[str] | None = None) -> alt.Scale:
    """The same colour for a run in every chart: an explicit domain and range.

    ``colors`` gives each label's colour (in the same order); by default the palette's.
    """
    if colors is not None and len(colors) != len(labels):
        msg = f"{len(colors)} colours for {len(labels)} runs: give one colour per run"
        raise ValueError(msg)
    return alt.Scale(domain=list(labels), range=list(colors or palette(len(labels))))


def legend_columns(labels: Sequence[str], width: float) -> int:
    """How many columns of whole labels a legend under a chart ``width`` wide has room for."""
    longest = max((len(label) for label in labels), default=0)
    fits = int(width // (longest * _LABEL_CHAR_PX + _ENTRY_PX))
    return max(1, min(_MAX_LEGEND_COLUMNS, len(labels), fits))


def run_color(
    labels: Sequence[str],
    *,
    colors: Sequence[str] | None = None,
    legend: bool = True,
    title: str = "run",
    symbol_size: float | None = None,
    below: float | None = None,
) -> alt.Color:
    """Colour by run label; the legend lists runs in the given order.

    ``colors`` gives each label's colour, in the same order; by default the palette's.
    ``below``: the legend goes under a chart that wide, in columns of whole labels (for
    a wide chart, beside which a legend would be cut off).
    """
    legend_spec: alt.Legend | None = None
    if legend:
        # Solid symbols even where the marks are faint (raw lines behind smoothed ones).
        options: dict[str, Any] = {"title": title, "symbolOpacity": 1, "symbolStrokeWidth": 3}
        if symbol_size is not None:
            options["symbolSize"] = symbol_size
        if below is not None:
            columns = legend_columns(labels, below)
            options.update(orient="bottom", columns=columns, labelLimit=0)
        elif len(labels) > LEGEND_WRAP:  # a long list reads better in columns under the chart
            options.update(orient="bottom", columns=4)
        legend_spec = alt.Legend(**options)
    return alt.Color("run:N", scale=color_scale(labels, colors), legend=legend_spec, title=title)


def focus_opacity(on: float, off: float) -> Any:  # noqa: ANN401 - an Altair condition object
    """Opacity ``on`` for highlighted runs (or all, when nothing is), ``off`` otherwise."""
    return alt.condition(FOCUS_TEST, alt.value(on), alt.value(off))


def focus_param() -> Any:  # noqa: ANN401 - an Altair parameter
    """The ``focus`` parameter every chart declares (see :data:`FOCUS_PARAM`)."""
    return alt.param(name=FOCUS_PARAM, value=[])


def pick(name: str, *, legend: bool = False, nearest: bool = False) -> Any:  # noqa: ANN401
    """A click selection of runs (by label); shift-click adds runs to it."""
    kwargs: dict[str, Any] = {"name": name, "fields": ["run"], "on": "click", "clear": "dblclick"}
    if legend:
        kwargs["bind"] = "legend"
    if nearest:
        kwargs["nearest"] = True
    return alt.selection_point(**kwargs)


def pick_over(
    name: str, views: Sequence[str], *, legend: bool = False
) -> alt.TopLevelSelectionParameter:
    """:func:`pick` as a top-level parameter over the named views of a compound chart."""
    select = alt.PointSelectionConfig(type="point", fields=["run"], on="click", clear="dblclick")
    kwargs: dict[str, Any] = {"name": name, "select": select, "views": list(views)}
    if legend:
        kwargs["bind"] = "legend"
    return alt.TopLevelSelectionParameter(**kwargs)


def source(name: str) -> alt.NamedData:
    """A named dataset: the rows are supplied separately (Arrow bytes, or inlined)."""
    return alt.NamedData(name=name)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts: NaN and missing values become null."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in clean.to_dict(orient="records")]


def finish(
    chart: Any,  # noqa: ANN401 - any Altair top-level chart
    data: Mapping[str, pd.DataFrame],
    *,
    inline: bool,
    frame: bool = True,
) -> Any:  # noqa: ANN401 - the same chart, configured
    """Apply the shared look, and embed the rows when the chart must stand alone."""
    config = CONFIG if frame else {**CONFIG, "view": {**CONFIG["view"], "stroke": None}}
    chart = chart.configure(**config)
    if inline:
        chart.datasets = {name: records(frame) for name, frame in data.items()}
    return chart
