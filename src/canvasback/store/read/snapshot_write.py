"""Writing a snapshot: the catalog's resolved state to files, then the manifest, last.

See ``snapshots.py`` for what a snapshot is and how readers find and check one.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from canvasback.store import layout
from canvasback.store.read.snapshots import (
    FORMAT_VERSION,
    MANIFEST_SUFFIX,
    POSITION,
    SNAPSHOTS_DIR,
    WIDE_FILE,
    WIDE_STEM,
    file_size,
    name_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pyarrow as pa

    from canvasback.store.fs import FileSystem

WIDE_BATCH_ROWS = 1 << 16
"""Rows per record batch of the wide file: a page's pick touches only its rows' batches."""


def write(
    fs: FileSystem,
    con: duckdb.DuckDBPyConnection,
    *,
    generation: int,
    writer_id: str,
    covered: dict[str, set[str]],
    wide_columns: list[tuple[str, str, str]],
    sources: dict[str, str],
    runs_without_row: list[str],
    commit: Callable[[], bool] | None = None,
) -> str | None:
    """Write a snapshot of the catalog state ``sources`` select as ``generation``.

    ``sources`` maps each file stem to the SELECT that yields its rows (``wide`` too),
    all read under the catalog's lock, so that they and ``covered`` describe one state.
    Returns its name, or None if another catalog wrote that generation first (then
    nothing of this one is left behind). The manifest is created last; ``commit`` (a
    lease's, ``leases.py``) is asked just before it, and a False leaves nothing either.
    """
    name = name_of(generation)
    # Its own folder: two catalogs may be writing one generation.
    who = re.sub(r"\W", "_", writer_id)[:40]
    folder_name = f"{name}-{secrets.token_hex(4)}-{who}"
    folder_rel = f"{SNAPSHOTS_DIR}/{folder_name}"
    try:
        files = _write_files(fs, folder_rel, con, sources)
        manifest: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "folder": folder_name,
            "writer": writer_id,
            "covered": {t: sorted(rels) for t, rels in sorted(covered.items())},
            "wide_columns": [list(c) for c in wide_columns],
            "files": files,
            "runs_without_row": sorted(runs_without_row),
        }
        won = (commit is None or commit()) and fs.create_exclusive(
            f"{SNAPSHOTS_DIR}/{name}{MANIFEST_SUFFIX}", json.dumps(manifest).encode()
        )
    except BaseException:
        fs.delete_tree(folder_rel)
        raise
    if not won:
        fs.delete_tree(folder_rel)
        return None
    return name


def _write_files(
    fs: FileSystem, folder_rel: str, con: duckdb.DuckDBPyConnection, sources: dict[str, str]
) -> dict[str, dict[str, int]]:
    import pyarrow as pa  # noqa: PLC0415
    from pyarrow import ipc  # noqa: PLC0415

    files: dict[str, dict[str, int]] = {}
    for stem, select in sources.items():
        if stem == WIDE_STEM:
            table = con.sql(select).to_arrow_table()
            if POSITION in table.column_names:  # the previous snapshot's positions
                table = table.drop_columns([POSITION])
            table = table.append_column(POSITION, pa.array(range(table.num_rows), pa.int64()))
            table = _dictionary_encoded(table)
            file = WIDE_FILE
            with (
                fs.atomic_write(f"{folder_rel}/{file}") as tmp,
                pa.OSFile(str(tmp), "wb") as sink,
                ipc.new_file(sink, table.schema) as out,
            ):
                out.write_table(table, max_chunksize=WIDE_BATCH_ROWS)
            rows = table.num_rows
            del table
        else:
            file = f"{stem}{layout.PARQUET_SUFFIX}"
            with fs.atomic_write(f"{folder_rel}/{file}") as tmp:
                con.execute(
                    f"COPY ({select}) TO '{_quote(str(tmp))}' "
                    "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)"
                ).fetchall()
                ((rows,),) = con.execute(
                    f"SELECT count(*) FROM read_parquet('{_quote(str(tmp))}')"
                ).fetchall()
        files[file] = {"rows": int(rows), "bytes": file_size(fs, f"{folder_rel}/{file}")}
    return files


def _dictionary_encoded(table: pa.Table) -> pa.Table:
    """Text columns with few distinct values (status, params, tags), dictionary-encoded.

    DuckDB compares such a column's few values, not each row's: a search's scan of the
    mapped file then takes about half the time.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    for i, column in enumerate(table.schema):
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        encoded = pc.dictionary_encode(table.column(i).combine_chunks())
        if len(encoded.dictionary) * 2 <= table.num_rows:
            table = table.set_column(i, column.name, encoded)
    return table


def _quote(text: str) -> str:
    return text.replace("'", "''")
