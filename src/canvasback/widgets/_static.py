"""Static representations of widgets: HTML with charts as inline SVG or PNG.

A widget lives only while its kernel does. A saved notebook opened without one, or a
site that renders notebooks (nbconvert, nbviewer, a code host), shows an output's
``text/html`` instead, so each widget adds one to its MIME bundle: its charts rendered
by vl-convert with their rows inlined, and its tables as plain HTML. Any widget can use
this by mixing in :class:`StaticRepr` and returning :class:`Section` objects.

Every piece of text that may come from a run (names, params, metric keys) is escaped
here; SVG from vl-convert escapes the text it draws. Rendering never breaks the live
widget: a failure becomes an escaped note in place of the chart.

The format is SVG (crisp, small for a few thousand points) unless the environment
variable ``CANVASBACK_STATIC`` says ``png`` (a raster, for hosts that strip inline
SVG) or ``off`` (no static view, e.g. to keep saved notebooks small).
"""

from __future__ import annotations

import base64
import html
import itertools
import logging
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from canvasback.widgets import presence

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    import pandas as pd
    import pyarrow as pa

__all__ = [
    "ENV_VAR",
    "Section",
    "StaticRepr",
    "chart_section",
    "html_table",
    "inline_datasets",
    "minify_svg",
    "render_png",
    "render_svg",
    "saved_output",
    "static_format",
    "static_html",
    "table_section",
]

_LOG = logging.getLogger(__name__)

ENV_VAR: Final = "CANVASBACK_STATIC"
Format = Literal["svg", "png", "off"]
_FORMATS: Final = ("svg", "png", "off")

# JupyterLab's theme variables first, so a saved view stays readable in a dark theme;
# the charts (drawn for a light page) sit on a light card of their own.
_CSS: Final = """
.canvasback-static{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;
color:var(--jp-ui-font-color1,#222);max-width:100%;overflow-x:auto}
.canvasback-static h3{font-size:13px;font-weight:600;margin:14px 0 6px}
.canvasback-static .cb-note{font-size:11px;color:var(--jp-ui-font-color2,#666);margin:2px 0 8px}
.canvasback-static svg,.canvasback-static img{max-width:100%;height:auto;display:block;
background:#fff;border-radius:4px;padding:4px}
.canvasback-static table{border-collapse:collapse;font-size:12px;margin:4px 0}
.canvasback-static th,.canvasback-static td{border-bottom:1px solid var(--jp-border-color2,#e6e6e6);
padding:3px 10px;text-align:left;white-space:nowrap}
.canvasback-static th{font-weight:600;background:var(--jp-layout-color2,#fafafa)}
"""


# SVG ids (clip paths, gradients) are document-wide: two charts on one page must not share.
_ID_REF = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')
_counter = itertools.count(1)


def static_format() -> Format:
    """The format of static charts, from ``CANVASBACK_STATIC`` (default ``svg``)."""
    value = os.environ.get(ENV_VAR, "svg").strip().lower() or "svg"
    if value not in _FORMATS:
        _LOG.warning("canvasback: %s=%r is not one of %s; using svg", ENV_VAR, value, _FORMATS)
        return "svg"
    return value  # type: ignore[return-value]


def _rows(data: object) -> list[dict[str, Any]]:
    """Rows of an Arrow table, a DataFrame or a list of dicts, JSON-safe (NaN -> null)."""
    import math  # noqa: PLC0415 - only here

    rows: Sequence[Mapping[Any, Any]]
    if isinstance(data, list):
        rows = data
    elif hasattr(data, "to_pylist"):
        rows = data.to_pylist()
    elif hasattr(data, "to_dict"):
        frame: pd.DataFrame = data  # type: ignore[assignment]
        rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    else:
        msg = f"cannot read rows from {type(data).__name__}"
        raise TypeError(msg)
    return [
        {
            str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()
        }
        for row in rows
    ]


def inline_datasets(
    spec: Mapping[str, Any], datasets: Mapping[str, pa.Table | pd.DataFrame | list[Any]]
) -> dict[str, Any]:
    """A copy of a Vega-Lite spec whose named datasets carry their rows."""
    out = dict(spec)
    merged = dict(out.get("datasets") or {})
    merged.update({name: _rows(data) for name, data in datasets.items()})
    if merged:
        out["datasets"] = merged
    return out


# What vl-convert writes for screen readers and Vega's scene graph, which a static image
# needs neither of (the chart's title and axes stay as text); about half of its bytes.
_SVG_NOISE = re.compile(
    r'\s(?:aria-[a-z]+|role|class|pointer-events)="[^"]*"|\sopacity="1"(?=[\s/>])'
)
_SVG_EMPTY = re.compile(r'<path d="M0,0h0v0h0Z"\s*/>')
_SVG_GEOMETRY = re.compile(r'\s(d|transform|points)="([^"]*)"')
_DECIMALS = re.compile(r"(\d+\.\d)\d+")
_FONT = re.compile(r'\sfont-family="([^"]*)"')


def _round_geometry(match: re.Match[str]) -> str:
    rounded = _DECIMALS.sub(r"\1", match.group(2))
    return f' {match.group(1)}="{rounded}"'


def minify_svg(svg: str) -> str:
    """The same picture in fewer bytes: no accessibility tree, coordinates to 0.1 px.

    The font family every text shares moves to the root ``<svg>`` (it is inherited).
    """
    svg = _SVG_NOISE.sub("", svg)
    svg = _SVG_EMPTY.sub("", svg)
    svg = _SVG_GEOMETRY.sub(_round_geometry, svg)
    fonts = _FONT.findall(svg)
    if fonts:
        common = max(set(fonts), key=fonts.count)
        svg = svg.replace(f' font-family="{common}"', "")
        svg = svg.replace("<svg ", f'<svg font-family="{common}" ', 1)
    return svg


def _scoped_ids(svg: str) -> str:
    prefix = f"cb{next(_counter)}-"
    return _ID_REF.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)


def render_svg(spec: Mapping[str, Any], datasets: Mapping[str, Any] | None = None) -> str:
    """SVG markup of a Vega-Lite spec, with ids made unique to this image."""
    import vl_convert  # noqa: PLC0415 - starts a JavaScript engine; only when rendering

    svg: str = vl_convert.vegalite_to_svg(inline_datasets(spec, datasets or {}))
    return _scoped_ids(minify_svg(svg))


def render_png(
    spec: Mapping[str, Any], datasets: Mapping[str, Any] | None = None, *, scale: float = 2.0
) -> bytes:
    """PNG bytes of a Vega-Lite spec (``scale=2`` stays sharp on high-density screens)."""
    import vl_convert  # noqa: PLC0415 - starts a JavaScript engine; only when rendering

    png: bytes = vl_convert.vegalite_to_png(inline_datasets(spec, datasets or {}), scale=scale)
    return png


@dataclass(frozen=True)
class Section:
    """One titled part of a static view; ``body`` is trusted, already-escaped HTML."""

    title: str
    body: str
    note: str | None = None


def _png_img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def chart_section(
    title: str,
    spec: Mapping[str, Any],
    datasets: Mapping[str, Any] | None = None,
    *,
    note: str | None = None,
    fmt: Format | None = None,
    png_scale: float = 1.0,
) -> Section | None:
    """A chart rendered in the static format; None when static views are off.

    PNGs default to scale 1: a saved notebook carries every image, and at scale 2 a
    page of charts passes a megabyte.
    """
    fmt = fmt or static_format()
    if fmt == "off":
        return None
    try:
        if fmt == "png":
            body = _png_img(render_png(spec, datasets, scale=png_scale), title)
        else:
            body = render_svg(spec, datasets)
    except Exception as error:  # noqa: BLE001 - a static image must never break the widget
        _LOG.debug("canvasback: static rendering of %r failed", title, exc_info=True)
        body = f'<p class="cb-note">Chart not rendered: {html.escape(str(error)[:300])}</p>'
    return Section(title, body, note)


def html_table(
    header: Sequence[object], rows: Iterable[Sequence[object]], *, row_headers: bool = True
) -> str:
    """An HTML table of escaped text; the first cell of a row is a header cell."""

    def cell(tag: str, value: object) -> str:
        text = "—" if value is None else str(value)
        return f"<{tag}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", h) for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            cell("th" if (row_headers and i == 0) else "td", value) for i, value in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def table_section(
    title: str,
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    note: str | None = None,
) -> Section:
    """A titled :func:`html_table`."""
    return Section(title, html_table(header, rows), note)


def static_html(title: str, sections: Iterable[Section | None], *, note: str | None = None) -> str:
    """The static view: a heading, an optional note and the sections, all escaped."""
    parts = [f'<div class="canvasback-static"><style>{_CSS}</style>']
    parts.append(f"<h3>{html.escape(title)}</h3>")
    if note:
        parts.append(f'<p class="cb-note">{html.escape(note)}</p>')
    for section in sections:
        if section is None:
            continue
        parts.append(f"<h3>{html.escape(section.title)}</h3>")
        if section.note:
            parts.append(f'<p class="cb-note">{html.escape(section.note)}</p>')
        parts.append(section.body)
    parts.append("</div>")
    return "".join(parts)


# In Jupyter's output area, the output after a static copy is its widget view: hidden
# while it is not running ("Error displaying widget: model not found" in a notebook
# reopened in a new kernel; "Loading widget..." for good with no kernel, since JupyterLab
# makes a widget manager per kernel), shown once its front end marks it live (saved_view.ts).
_SAVED_CSS: Final = (
    ".jp-OutputArea-child:has(>.jp-OutputArea-output [data-cb-static])"
    "+.jp-OutputArea-child:not(:has(.cb-view-live)){display:none}"
)


def saved_output(keys: Sequence[str], body: str) -> str:
    """The static output of a widget: ``body`` marked with the keys of its live views."""
    marks = html.escape(" ".join(keys))
    return (
        f'<div class="canvasback-saved" data-cb-static="{marks}">'
        f"<style>{_SAVED_CSS}</style>{body}</div>"
    )


class StaticRepr:
    """Mix into a widget class (before the widget base) to add a static view.

    Subclasses implement :meth:`_static_html`. Displayed in a notebook, the widget makes
    two outputs: the static HTML, then the widget view. A renderer that cannot run the
    widget (nbconvert's HTML, which prefers the widget view whenever the widget state is
    saved; a notebook reopened without its kernel; a code host) shows the first; where
    the view runs, it hides the static copy. ``_repr_mimebundle_`` (one output) carries
    both as well, for front ends that ask for a single bundle.
    """

    def _static_html(self) -> str | None:
        """The static view as HTML, or None for none."""
        raise NotImplementedError

    def _static_keys(self) -> list[str]:
        """The keys of the live views that replace this static view."""
        return [str(getattr(self, "_static_key", ""))]

    def _speakers(self) -> list[Any]:
        """The widgets whose views wait for a sign of Python (``presence.py``)."""
        return [self]

    def _safe_static_html(self) -> str | None:
        if static_format() == "off":
            return None
        try:
            return self._static_html()
        except Exception:  # noqa: BLE001 - the live widget must display regardless
            _LOG.warning("canvasback: no static view for %s", type(self).__name__, exc_info=True)
            return None

    def _ipython_display_(self) -> None:
        from IPython.display import display  # noqa: PLC0415 - only inside IPython

        result = super()._repr_mimebundle_()  # type: ignore[misc]
        if result is None:
            return
        presence.speak_while_cell_runs(self._speakers())
        data, metadata = result if isinstance(result, tuple) else (result, {})
        static = self._safe_static_html()
        if static:
            display({"text/html": saved_output(self._static_keys(), static)}, raw=True)  # type: ignore[no-untyped-call]
            # The static output says it all where the view cannot run; no repr below it.
            data = {**data, "text/plain": ""}
        display(data, metadata=metadata, raw=True)  # type: ignore[no-untyped-call]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:  # noqa: ANN401 - (data, metadata) or None
        result = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if result is not None:
            presence.speak_while_cell_runs(self._speakers())
        if result is None or static_format() == "off":
            return result
        data, metadata = result if isinstance(result, tuple) else (result, {})
        static = self._safe_static_html()
        if static:
            data = {**data, "text/html": saved_output(self._static_keys(), static)}
        return data, metadata
