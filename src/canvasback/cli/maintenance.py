"""Keeping a store in shape: ``recover``, ``compact`` and ``gc``.

``recover [STORE]`` writes the rows an earlier process could not write to a store (kept
in a spill folder, see ``canvasback.store.write.spill``) into it, and settles the
registry and experiment calls a killed process left half done
(``canvasback.registry.repair``); it says what is still kept and where. ``compact``
merges small files and writes a snapshot (``Store.compact``); ``gc`` does that and drops
deleted runs for good (``compact(purge_deleted=True)``, as ``mlflow gc``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from canvasback.cli.stores import Refused, store_folder, store_option

if TYPE_CHECKING:
    from canvasback._config import StoreAddress
    from canvasback.store.compaction import CompactionReport
    from canvasback.store.write.spill import ReplayReport
    from canvasback.tracking.client import Client


@click.command(short_help="Write what a killed process could not write.")
@click.argument("folder", required=False, metavar="[STORE]")
@store_option(create=False)
def recover(folder: str | None, store: str | None) -> int:
    """Write what an earlier process could not write into STORE.

    Rows a process could not write to the store (kept in a spill folder of the user's
    cache) are written into it, and registry and experiment calls (create, register,
    rename, delete) that a killed process left half done are completed or undone.
    STORE is a store folder or s3://bucket/prefix, given as the argument or --store
    (default: CANVASBACK_STORE, else MLFLOW_TRACKING_URI, else ./canvasback-store). Exit
    status 0 when nothing is left to write, 1 when rows are still kept (the output says
    where and why).
    """
    from canvasback.registry import repair  # noqa: PLC0415  # loaded for this command only
    from canvasback.store import file_system, open_store  # noqa: PLC0415
    from canvasback.store.write import spill  # noqa: PLC0415
    from canvasback.store.write.arrow_rows import rows_to_table  # noqa: PLC0415
    from canvasback.tracking.experiment_claims import recover_experiments  # noqa: PLC0415

    if folder is not None and store is not None and folder != store:
        msg = f"two stores given, {folder!r} and --store {store!r}: give one"
        raise Refused(msg)
    root = store_folder(folder if folder is not None else store, create=False)
    report = spill.replay(file_system(root), rows_to_table)
    versions = repair.recover_registry(open_store(root))
    experiments = recover_experiments(open_store(root))
    return _report_recovery(root, report, versions, experiments)


def _report_recovery(
    root: StoreAddress, report: ReplayReport, versions: int, experiments: int
) -> int:
    out, err = sys.stdout, sys.stderr
    out.write(
        f"canvasback recover: wrote {report.written_rows} row(s) in "
        f"{report.written_files} file(s) to {root}\n"
    )
    if versions:
        out.write(f"canvasback recover: made {versions} registry repair(s) of killed calls\n")
    if experiments:
        out.write(f"canvasback recover: made {experiments} experiment repair(s) of killed calls\n")
    for path, rows in sorted(report.remaining.items()):
        out.write(f"  still kept: {rows} row(s) in {path}\n")
    for error in report.errors:
        err.write(f"  {error}\n")
    if not report.remaining:
        return 0
    err.write(
        f"canvasback recover: {report.remaining_rows} row(s) are still kept; fix the cause "
        "(a read-only or missing store folder, or values no store can hold, in the JSON "
        "lines files) and run this again\n"
    )
    return 1


@click.command(short_help="Merge a store's small files; write a snapshot.")
@store_option(create=False)
def compact(store: str | None) -> int:
    """Merge a store's small files into one per partition, then write a snapshot.

    Safe while other processes log: a partition another process is compacting is
    skipped, readers never see half a file, and replaced files are deleted after a
    grace period. New processes then open the store from the snapshot. Deleted runs
    are kept (`canvasback gc` drops them).
    """
    from canvasback.tracking.client import Client  # noqa: PLC0415

    root = store_folder(store, create=False)
    report = Client(root).compact()
    _report_compaction("compact", root, report)
    return 0


@click.command(short_help="Drop deleted runs for good, then compact.")
@store_option(create=False)
def gc(store: str | None) -> int:
    """Drop the store's deleted runs for good (their rows and artifacts), then compact.

    As `mlflow gc`: the runs deleted with delete_run (or in the run table) are purged
    and cannot be restored. A deleted run that a registered model version comes from
    is kept, so the version still loads.
    """
    from canvasback.tracking.client import Client  # noqa: PLC0415

    root = store_folder(store, create=False)
    client = Client(root)
    deleted = _deleted_runs(client)
    report = client.compact(purge_deleted=True)
    kept = deleted - set(report.purged_runs)
    _report_compaction("gc", root, report)
    sys.stdout.write(f"canvasback gc: purged {len(report.purged_runs)} deleted run(s)\n")
    for run_id in report.purged_runs:
        sys.stdout.write(f"  purged: {run_id}\n")
    if kept:
        sys.stdout.write(
            f"canvasback gc: kept {len(kept)} deleted run(s) that registered model "
            f"versions come from: {', '.join(sorted(kept))}\n"
        )
    return 0


def _deleted_runs(client: Client) -> set[str]:
    """Ids of the store's deleted runs, in every experiment."""
    from canvasback import query  # noqa: PLC0415

    experiments = sorted(query.experiment_ids(client.store.read()))
    table = client.search_runs_table(experiments, run_view_type="DELETED_ONLY")
    return set(table.column("run_id").to_pylist())


def _report_compaction(command: str, root: StoreAddress, report: CompactionReport) -> None:
    merged = (
        f"merged {report.input_files} file(s) into {report.compacted_files} ({report.rows} row(s))"
        if report.compacted_files
        else "no files to merge"
    )
    sys.stdout.write(f"canvasback {command}: {merged} in {root}\n")
    if report.snapshot:
        sys.stdout.write(f"canvasback {command}: wrote the snapshot {report.snapshot}\n")
    for prefix in report.skipped_partitions:
        sys.stdout.write(f"  skipped {prefix}: another process is compacting it\n")
