"""A table as the bytes of the store's Parquet files, the same for every backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pyarrow as pa

ROW_GROUP_ROWS: Final = 1 << 17


def encode(table: pa.Table, *, compression: str = "zstd") -> pa.Buffer:
    """The Parquet file of ``table``, encoded in memory: zstd, row groups of 131,072 rows.

    Only the text columns are dictionary-encoded. A numeric column of a segment (steps,
    times, values) rarely repeats itself: Arrow would build a dictionary of every value
    until it outgrew its page and fell back to plain pages, which more than doubles the
    time to encode a flush, for a larger file that is slower to read.
    """
    import pyarrow as pa  # noqa: PLC0415  # pyarrow loads on first write
    import pyarrow.parquet as pq  # noqa: PLC0415

    text = [f.name for f in table.schema if pa.types.is_string(f.type)]
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression=compression,
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=text,
    )
    return sink.getvalue()
