"""A chart written to a file: PNG, SVG or a self-contained HTML page, all offline.

vl-convert renders the Vega-Lite spec (its rows inlined) without a browser; the HTML
page bundles vega, vega-lite and vega-embed (``bundle=True``), so it opens with no
network, like everything else canvasback ships. The widgets' ``save`` methods and their
Save buttons (an ``export`` request) both come here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from canvasback.widgets import _static

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["FORMATS", "ExportFormat", "chart_bytes", "format_of", "save_chart"]

ExportFormat = Literal["png", "svg", "html"]
FORMATS: Final[tuple[ExportFormat, ...]] = ("png", "svg", "html")
MIME: Final = {"png": "image/png", "svg": "image/svg+xml", "html": "text/html"}
PNG_SCALE: Final = 2.0  # sharp on high-density screens and in slides


def format_of(path: str | os.PathLike[str], fmt: str | None = None) -> ExportFormat:
    """The format asked for: ``fmt``, else the file's suffix.

    Raises
    ------
    ValueError
        Naming the path (or format) and the formats there are, before anything is written.

    """
    chosen = (fmt or Path(path).suffix.lstrip(".")).lower()
    if chosen == "htm":
        chosen = "html"
    if chosen not in FORMATS:
        allowed = ", ".join(f".{f}" for f in FORMATS)
        what = f"format {fmt!r}" if fmt else f"{os.fspath(path)!r} (suffix {Path(path).suffix!r})"
        msg = f"cannot save a chart as {what}: use one of {allowed}"
        raise ValueError(msg)
    return chosen


def chart_bytes(
    spec: Mapping[str, Any], datasets: Mapping[str, Any], fmt: ExportFormat, *, title: str = ""
) -> bytes:
    """The chart in ``fmt``, with its rows inlined."""
    import vl_convert  # noqa: PLC0415 - starts a JavaScript engine; only when exporting

    full = _static.inline_datasets(spec, datasets)
    if fmt == "png":
        png: bytes = vl_convert.vegalite_to_png(full, scale=PNG_SCALE)
        return png
    if fmt == "svg":
        svg: str = vl_convert.vegalite_to_svg(full)
        return svg.encode("utf-8")
    page: str = vl_convert.vegalite_to_html(full, bundle=True)
    if title:
        import html  # noqa: PLC0415

        page = page.replace("<head>", f"<head><title>{html.escape(title)}</title>", 1)
    return page.encode("utf-8")


def save_chart(
    path: str | os.PathLike[str],
    spec: Mapping[str, Any],
    datasets: Mapping[str, Any],
    *,
    fmt: str | None = None,
    title: str = "",
) -> Path:
    """Write the chart to ``path`` (format from ``fmt`` or the suffix) and return the path."""
    chosen = format_of(path, fmt)
    data = chart_bytes(spec, datasets, chosen, title=title)
    target = Path(path)
    target.write_bytes(data)
    return target
