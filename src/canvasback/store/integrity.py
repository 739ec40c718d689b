"""Whether a segment file is sound, proven corrupt, or only unreadable for now.

Only a file proven corrupt may be moved aside: one that merely cannot be opened (a
permission, a transient I/O error) holds rows nobody has seen, and stays in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from canvasback.store import declarations

if TYPE_CHECKING:
    import pyarrow as pa

    from canvasback.store.fs import FileSystem

__all__ = [
    "CORRUPT",
    "SOUND",
    "UNREADABLE",
    "CorruptSegmentWarning",
    "UnreadableSegmentWarning",
    "inspect_segment",
]

SOUND: Final = "sound"
CORRUPT: Final = "corrupt"
UNREADABLE: Final = "unreadable"


def inspect_segment(fs: FileSystem, rel: str, table: str) -> tuple[str, str]:
    """(verdict, reason): whether a segment is sound, proven corrupt, or just unreadable now.

    Only a file whose bytes could all be read is judged: if pyarrow cannot decode them,
    or they hold another table's columns, the file is corrupt. A file that cannot be
    opened or read (a permission, an I/O error, a file that is not a regular file) is
    unreadable: nothing is known about its content, so it must not be moved aside.
    """
    import pyarrow as pa  # noqa: PLC0415  # only on the error path
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        if not fs.is_regular_file(rel):
            return UNREADABLE, "not a regular file"
        data = fs.read_bytes(rel)
    except OSError as exc:
        return UNREADABLE, f"{type(exc).__name__}: {exc}"
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        parquet.read()
    except Exception as exc:  # noqa: BLE001  # any failure to decode read bytes is corruption
        return CORRUPT, f"{type(exc).__name__}: {exc}"
    mismatch = _schema_mismatch(parquet.schema_arrow, declarations.table(table).arrow_schema())
    if mismatch:
        return CORRUPT, mismatch
    return SOUND, ""


def _schema_mismatch(found: pa.Schema, expected: pa.Schema) -> str:
    """Why a file's columns are not the table's ('' if they are); extra columns are fine."""
    import pyarrow as pa  # noqa: PLC0415

    problems: list[str] = []
    for want in expected:
        index = found.get_field_index(want.name)
        if index < 0:
            problems.append(f"no column {want.name!r}")
            continue
        got = found.field(index).type
        if got != want.type and not (
            pa.types.is_string(want.type) and pa.types.is_large_string(got)
        ):
            problems.append(f"column {want.name!r} is {got}, not {want.type}")
    if not problems:
        return ""
    return f"not a {', '.join(expected.names)} segment: {'; '.join(problems)}"


class CorruptSegmentWarning(UserWarning):
    """A segment file could not be read; it was moved aside and the rest stays readable."""


class UnreadableSegmentWarning(UserWarning):
    """A segment file could not be opened (permission, I/O error); skipped, retried later."""
