"""The run table's static HTML: what a saved notebook shows without a kernel.

Self-contained markup with inline styles (no stylesheet, no script), every text from the
store passed through :func:`html.escape`. Numbers are formatted as the live table does.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pyarrow as pa

    from canvasback.query.run_set import Column

MISSING: Final = "—"
# Presentation attributes rather than a style per cell: a saved notebook keeps every
# byte of the first rows, and renderers that strip <style> keep these.
_ROW: Final = ' style="border-bottom:1px solid var(--jp-border-color2,#e0e0e0)"'


def _special(value: float | None) -> str | None:
    if value is None:
        return MISSING
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return None


def format_number(value: float | None, digits: int = 4) -> str:
    """A number as ``js/lib/format.ts`` shows it: grouped integers, 4 significant digits."""
    special = _special(value)
    if special is not None or value is None:
        return special or MISSING
    magnitude = abs(value)
    if float(value).is_integer() and magnitude < 1e15:  # noqa: PLR2004 - exact below 2**53
        return f"{int(value):,}"
    if magnitude != 0 and (magnitude >= 1e6 or magnitude < 1e-4):  # noqa: PLR2004
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent):+d}"
    if magnitude >= 10 ** (digits - 1):
        return f"{round(value):,}"
    text = f"{value:.{digits}g}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    whole, _, fraction = text.partition(".")
    grouped = f"{int(whole):,}" if whole not in ("", "-", "-0") else whole
    return f"{grouped}.{fraction}" if fraction else grouped


def format_time(ms: int | None) -> str:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    if ms is None:
        return MISSING
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _cell(value: Any, column_type: str) -> tuple[str, bool]:  # noqa: ANN401 - any Arrow scalar
    """Escaped text of a cell and whether it is numeric (right-aligned)."""
    if value is None:
        return MISSING, column_type == "number"
    if column_type == "time":
        return html.escape(format_time(int(value))), True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return html.escape(format_number(float(value))), True
    return html.escape(str(value)), column_type == "number"


def _tsv_cell(value: Any, column_type: str) -> str:  # noqa: ANN401 - any Arrow scalar
    if value is None:
        return ""
    if column_type == "time":
        return format_time(int(value))
    if isinstance(value, float):
        return repr(value)  # every digit: a spreadsheet gets the value, not the display
    # Tabs and line breaks would split a cell; they become spaces.
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def tsv(table: pa.Table, names: list[str], types: dict[str, str]) -> str:
    """Rows as tab-separated text with a header line, as spreadsheets paste it."""
    lines = ["\t".join(" ".join(name.split()) for name in names)]
    lines += [
        "\t".join(_tsv_cell(row.get(name), types.get(name, "text")) for name in names)
        for row in table.to_pylist()
    ]
    return "\n".join(lines) + "\n"


def table_html(
    table: pa.Table,
    columns: list[Column],
    types: dict[str, str],
    *,
    total: int,
    filter_text: str = "",
) -> str:
    """An HTML table of ``table``'s rows (the first rows of the run table)."""
    head = "".join(f"<th nowrap align=left>{html.escape(c.name)}</th>" for c in columns)
    body: list[str] = []
    for row in table.to_pylist():
        cells = []
        for column in columns:
            text, numeric = _cell(row.get(column.name), types.get(column.name, "text"))
            cells.append(f"<td nowrap{' align=right' if numeric else ''}>{text}</td>")
        body.append(f"<tr{_ROW}>{''.join(cells)}</tr>")
    shown = table.num_rows
    caption = f"{total:,} run{'s' if total != 1 else ''}"
    if shown < total:
        caption += f" (first {shown:,} shown)"
    if filter_text.strip():
        caption += f" · filter: {filter_text}"
    return (
        '<div class="canvasback-run-table-static" style="max-height:480px;overflow:auto;'
        'font:12px system-ui,-apple-system,Segoe UI,Roboto,sans-serif">'
        '<table cellpadding=3 style="border-collapse:collapse;font-variant-numeric:tabular-nums">'
        f'<caption style="text-align:left;padding:4px 0;color:var(--jp-ui-font-color2,#555)">'
        f"{html.escape(caption)}"
        "</caption>"
        f"<thead><tr{_ROW}>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )
