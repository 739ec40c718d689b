"""Buffered rows to Arrow tables: the writer's conversion, and what it refuses.

Rows are buffered as Python tuples (the hot path appends one and returns) and turned
into columns only when a flush writes them, sorted so that a one-run query can skip
row groups.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from array import array
from typing import TYPE_CHECKING, Any, Final

from canvasback.store import declarations

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import pyarrow as pa

# Columns up to this many values are built without pa.array (see _array).
SMALL_COLUMN: Final = 4096

# What Arrow raises for a value its column type cannot hold.
CONVERSION_ERRORS: Final = (TypeError, ValueError, ArithmeticError, NotImplementedError)


def rows_to_table(
    table: str, rows: list[tuple[Any, ...]], columns: Sequence[Sequence[Any]] = ()
) -> pa.Table:
    """Column-wise Arrow table of buffered row tuples, sorted for pruning."""
    import pyarrow as pa  # noqa: PLC0415  # pyarrow loads on first flush, not at import

    spec = declarations.table(table)
    schema = spec.arrow_schema()
    keys = spec.flush_sort or spec.sort
    if len(rows) + (len(columns[0]) if columns else 0) <= SMALL_COLUMN:
        return _small_table(schema, keys, rows + list(zip(*columns, strict=True)))
    parts: list[Sequence[Sequence[Any]]] = [list(zip(*rows, strict=True))] if rows else []
    if columns:
        parts.append(columns)
    tables = [
        pa.Table.from_arrays(
            [_array(col, field.type) for col, field in zip(part, schema, strict=True)],
            schema=schema,
        )
        for part in parts
    ]
    arrow_table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    order = sort_order(arrow_table, keys)
    return arrow_table if order is None else arrow_table.take(order)


def sort_order(table: pa.Table, keys: Sequence[str]) -> pa.Array | None:
    """Row indices that sort ``table`` by ``keys`` as ``Table.sort_by`` does; None if in order.

    Ascending, nulls last, strings by their UTF-8 bytes; stable, so rows logged in step
    order stay so within a key.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    ranked: dict[str, pa.Array] = {}
    for key in keys:
        column = table.column(key).combine_chunks()
        if pa.types.is_string(column.type):
            # A key with one value (one run's rows) orders nothing; the comparison is
            # cheaper than the encoding that would find it.
            if not column.null_count and _one_value(column):
                continue
            # A flush holds few distinct run ids and metric keys: sorting the distinct
            # values and then the rows by their small integer ranks costs a third of
            # sorting the strings.
            encoded = pc.dictionary_encode(column)
            if not len(encoded.dictionary):  # every value null: nothing to order
                continue
            rank = pc.sort_indices(pc.sort_indices(encoded.dictionary))
            column = pc.take(rank, encoded.indices)
        ranked[key] = column
    if not ranked:
        return None
    if len(ranked) == 1:
        (column,) = ranked.values()
        if not column.null_count and _ascending(column):
            return None
    return pc.sort_indices(pa.table(ranked), sort_keys=[(k, "ascending") for k in ranked])


def _one_value(column: pa.Array) -> bool:
    """Whether a column without nulls holds one value (its first and last, then all)."""
    import pyarrow.compute as pc  # noqa: PLC0415

    if len(column) < 2:  # noqa: PLR2004  # a value or none
        return True
    first = column[0]
    return column[-1] == first and bool(pc.all(pc.equal(column, first)).as_py())


def _ascending(column: pa.Array) -> bool:
    """Whether each value of a column without nulls is at most the next."""
    import pyarrow.compute as pc  # noqa: PLC0415

    if len(column) < 2:  # noqa: PLR2004  # no pair to compare
        return True
    return bool(pc.all(pc.less_equal(column[:-1], column[1:])).as_py())


def _small_table(schema: pa.Schema, keys: Sequence[str], rows: list[tuple[Any, ...]]) -> pa.Table:
    """A few rows sorted in Python as Arrow sorts them: stable, ascending, nulls last.

    Arrow's sort is pyarrow.compute's, whose import takes tens of milliseconds: a
    process's first flush (a short script's only one) would wait for it. Key columns
    are ids, names and integers, which Python orders as Arrow does (strings by code
    point, which is UTF-8's byte order); values Python cannot compare are refused as a
    conversion error, as Arrow refuses them.
    """
    import pyarrow as pa  # noqa: PLC0415

    positions = [schema.get_field_index(k) for k in keys]
    ordered = sorted(rows, key=lambda row: [(row[i] is None, row[i]) for i in positions])
    columns = list(zip(*ordered, strict=True)) or [() for _ in schema]
    return pa.Table.from_arrays(
        [_array(col, field.type) for col, field in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _array(values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    """An Arrow column of ``values``, as ``pa.array(values, type=arrow_type)`` makes it."""
    import pyarrow as pa  # noqa: PLC0415

    # pa.array's first call imports pandas (pyarrow asks whether its input is a pandas
    # object), about 0.2 s: a process that has not imported pandas itself should not
    # pay for it to write its first few rows (a script's or a kernel's first run).
    # Small columns of plain values are built without it; pa.array, three times faster
    # on strings, does the rest, and every value it would refuse or read differently.
    if arrow_type == pa.string() and _one_string(values):
        # One run's rows repeat its id in every row: one value, repeated by Arrow.
        builder = pa.lib.StringBuilder()
        builder.append_values(values[:1])
        return pa.repeat(builder.finish()[0], len(values))
    if len(values) > SMALL_COLUMN or "pandas" in sys.modules:
        return pa.array(values, type=arrow_type)
    if arrow_type == pa.string() and all(type(v) is str or v is None for v in values):
        builder = pa.lib.StringBuilder()
        builder.append_values(values)
        return builder.finish()
    if arrow_type == pa.int64() and all(type(v) is int or v is None for v in values):
        return _fixed_width(values, arrow_type, "q")
    if arrow_type == pa.float64() and all(type(v) is float or v is None for v in values):
        return _fixed_width(values, arrow_type, "d")
    return pa.array(values, type=arrow_type)


def _one_string(values: Sequence[Any]) -> bool:
    """Whether ``values`` are many copies of one ``str`` (a count, at C speed)."""
    if len(values) < 2 or type(values[0]) is not str or values[-1] != values[0]:  # noqa: PLR2004
        return False
    return values.count(values[0]) == len(values)


def _fixed_width(values: Sequence[Any], arrow_type: pa.DataType, code: str) -> pa.Array:
    """A column of Python ints or floats (and None) from its buffers."""
    import pyarrow as pa  # noqa: PLC0415

    if None not in values:
        return pa.Array.from_buffers(
            arrow_type, len(values), [None, pa.py_buffer(array(code, values))]
        )
    valid = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v is not None:
            valid[i >> 3] |= 1 << (i & 7)  # Arrow's validity bitmap is least-significant bit first
    filled = array(code, [0 if v is None else v for v in values])
    buffers = [pa.py_buffer(bytes(valid)), pa.py_buffer(filled)]
    return pa.Array.from_buffers(arrow_type, len(values), buffers, values.count(None))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's garbage collector off for the duration of a flush."""
    # A flush hands Python's collector hundreds of thousands of fresh objects (row
    # tuples turned into columns); a full collection in the middle of it costs more
    # than the write. None of them form cycles, so collection waits until it is done.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def warm_up_pyarrow() -> None:
    """Pay for the first Arrow conversion of the process now."""
    # The first Arrow conversion in a process pays for imports and kernel set-up; do it
    # in the flusher thread, early, rather than inside the first flush a user waits on.
    import pyarrow.parquet  # noqa: F401, PLC0415

    rows_to_table("metrics", [("", "", 0, 0, 0.0)])


def split_writable(
    table: str, rows: list[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(rows Arrow converts, rows it refuses), by bisection: about 2n rows converted."""
    try:
        rows_to_table(table, rows)
    except CONVERSION_ERRORS:
        if len(rows) == 1:
            return [], rows
        mid = len(rows) // 2
        good_a, bad_a = split_writable(table, rows[:mid])
        good_b, bad_b = split_writable(table, rows[mid:])
        return good_a + good_b, bad_a + bad_b
    return rows, []
