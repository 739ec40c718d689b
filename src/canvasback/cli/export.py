"""``canvasback export``: runs, or one run's metric points, to a Parquet or CSV file.

The runs are the table ``search_runs`` answers (MLflow's columns: ``metrics.acc``,
``params.lr``, ...); a run's metrics are its long table ``(key, step, timestamp,
value)``. The file appears whole or not at all: it is written beside its place and
renamed there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from canvasback.cli.reads import first_line, run_selection, select_runs
from canvasback.cli.stores import Refused, store_folder, store_option
from canvasback.exceptions import MlflowException

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS: Final = ("parquet", "csv")
_SUFFIXES: Final = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def format_of(out: str, fmt: str | None) -> str:
    """The format asked for: ``--format``, else the suffix of ``--out``."""
    if fmt is not None:
        return fmt
    suffix = Path(out).suffix.lower()
    if suffix not in _SUFFIXES:
        msg = (
            f"--out {out!r}: no format given and none read from its suffix {suffix!r}; "
            f"name a .parquet or .csv file, or give --format {' or '.join(FORMATS)}"
        )
        raise Refused(msg)
    return _SUFFIXES[suffix]


@click.command(short_help="Write runs, or a run's metrics, to Parquet or CSV.")
@click.option(
    "--out", required=True, metavar="FILE", help="The file to write (replaced if it exists)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS, case_sensitive=False),
    default=None,
    help="parquet or csv (default: the suffix of --out).",
)
@click.option(
    "--run",
    "run_id",
    default=None,
    metavar="RUN_ID",
    help="Write this run's metric points (key, step, timestamp, value) instead of runs.",
)
@run_selection(None)
@store_option(create=False)
def export(
    out: str,
    fmt: str | None,
    run_id: str | None,
    experiments: tuple[str, ...],
    filter_string: str | None,
    order_by: tuple[str, ...],
    max_results: int | None,
    store: str | None,
) -> int:
    """Write a store's runs (as search_runs finds them), or one run's metrics, to a file.

    \b
    canvasback export --out runs.parquet -x digits-sgd -f "metrics.val_acc > 0.9"
    canvasback export --out history.csv --run 3f2a...
    """  # noqa: D301  # \b is click's mark for a paragraph kept as written
    from canvasback.tracking.client import Client  # noqa: PLC0415

    chosen_format = format_of(out, fmt.lower() if fmt else None)
    target = Path(out).expanduser()
    if not target.parent.is_dir():
        msg = f"--out {out!r}: no folder {str(target.parent)!r} to write it in"
        raise Refused(msg)
    if target.is_dir():
        msg = f"--out {out!r} is a folder: name the file to write"
        raise Refused(msg)
    root = store_folder(store, create=False)
    client = Client(root)
    if run_id is not None:
        if experiments or filter_string or order_by or max_results is not None:
            msg = (
                "--run writes one run's metrics; --experiment, --filter, --order-by and "
                "--max choose runs: give one or the other"
            )
            raise Refused(msg)
        try:
            table = client.metric_points(run_id)
        except MlflowException as exc:
            raise Refused(first_line(exc)) from None
        what = f"{table.num_rows} metric point(s) of run {run_id}"
    else:
        table = select_runs(client, experiments, filter_string, order_by, max_results).table
        what = f"{table.num_rows} run(s)"
    _write(table, target, chosen_format)
    click.echo(f"canvasback export: wrote {what} to {target} ({chosen_format})")
    return 0


def _write(table: pa.Table, target: Path, fmt: str) -> None:
    """Write ``table`` to ``target`` whole: into a file beside it, then renamed."""
    import pyarrow.csv as pa_csv  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # this process's own
    try:
        if fmt == "parquet":
            pq.write_table(table, partial)
        else:
            pa_csv.write_csv(table, partial)
        Path(partial).replace(target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
