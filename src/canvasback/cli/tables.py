"""Tables in the terminal, drawn by rich: the runs, a query's rows, the registry.

In a terminal a table shows the columns that fit its width, and names the others;
into a pipe or a file it is as wide as its widest row. No cell is folded unless one
column alone is wider than the terminal (a run id never is). Every value is shown as
text, never read as rich markup (a run named ``[red]x`` shows as written). Numbers are
right-aligned and floats keep six significant digits; times are shown in UTC to the
second.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa
    from rich.console import Console
    from rich.table import Table

_EMPTY: Final = ""
WHOLE: Final = frozenset({"run_id"})
_UNBOUNDED: Final = 100_000


def cell(value: object) -> str:
    """A value as the table shows it."""
    if value is None:
        return _EMPTY
    if isinstance(value, float):
        return str(value) if math.isnan(value) or math.isinf(value) else f"{value:.6g}"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return str(value)


def show(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    caption: str | None = None,
    numeric: Sequence[bool] | None = None,
) -> None:
    """Print a table on stdout: ``columns`` over ``rows``; ``numeric`` columns right-aligned.

    In a terminal, the columns that do not fit its width at their natural width are
    left out, from the right, and the caption names them; elsewhere every column shows.
    """
    from rich.console import Console  # noqa: PLC0415  # loaded by the commands that draw

    right = list(numeric) if numeric is not None else [False] * len(columns)
    texts = [[cell(v) for v in row] for row in rows]
    console = Console(highlight=False)

    def draw(keep: int, note: str | None) -> Table:
        return _table(columns[:keep], right, [t[:keep] for t in texts], title, note)

    keep = len(columns)
    if console.is_terminal:
        while keep > 1 and _natural_width(console, draw(keep, caption)) > console.width:
            keep -= 1
        if keep < len(columns):
            left_out = f"not shown (too wide for the terminal): {', '.join(columns[keep:])}"
            caption = f"{caption}; {left_out}" if caption else left_out
    else:  # a pipe or a file: whole lines, no cell folded
        width = _natural_width(console, draw(keep, caption))
        console = Console(highlight=False, width=max(width, 20))
    console.print(draw(keep, caption))


def _table(
    columns: Sequence[str],
    right: Sequence[bool],
    rows: Sequence[Sequence[str]],
    title: str | None,
    caption: str | None,
) -> Table:
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    table = Table(
        title=Text(title) if title else None,
        caption=Text(caption) if caption else None,
        highlight=False,
    )
    for name, is_number in zip(columns, right, strict=False):
        table.add_column(
            Text(name),
            justify="right" if is_number else "left",
            overflow="fold",
            no_wrap=name in WHOLE,  # an id stays on one line, to be copied
        )
    for row in rows:
        table.add_row(*(Text(v) for v in row))
    return table


def _natural_width(console: Console, table: Table) -> int:
    """How wide ``table`` is with no cell folded."""
    return console.measure(table, options=console.options.update_width(_UNBOUNDED)).maximum


def show_arrow(table: pa.Table, *, title: str | None = None, caption: str | None = None) -> None:
    """Print an Arrow table: its columns, with numbers right-aligned."""
    import pyarrow as pa  # noqa: PLC0415

    numeric = [
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        for t in table.schema.types
    ]
    columns = table.to_pydict()
    rows = list(zip(*columns.values(), strict=True)) if columns else []
    show(table.column_names, rows, title=title, caption=caption, numeric=numeric)
