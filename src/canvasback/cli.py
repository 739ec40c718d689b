"""The ``canvasback`` command.

``canvasback run PATH [-e ENTRY] [-P key=value ...]`` runs a notebook, or an entry point
of a project folder (``canvasback.toml`` or MLflow's ``MLproject``), as a tracked run;
exit status 0 when the run FINISHED, 1 when it failed, 2 when it could not start.

``canvasback recover [STORE]`` writes the rows an earlier process could not write to a
store (kept in a spill folder, see ``canvasback.store.spill``) into it, and the model
versions whose number was claimed by a process killed before it wrote them; it says
what is still kept and where. Exit status 0 when nothing is left, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from canvasback._config import resolve_store
from canvasback.registry import repair
from canvasback.store import open_store, spill
from canvasback.store.arrow_rows import rows_to_table
from canvasback.store.fs import LocalFileSystem

if TYPE_CHECKING:
    from collections.abc import Sequence


def recover(store: str | None) -> int:
    """Replay a store's spill folders; returns the exit status."""
    root = resolve_store(store)
    report = spill.replay(LocalFileSystem(root), rows_to_table)
    out, err = sys.stdout, sys.stderr
    out.write(
        f"canvasback recover: wrote {report.written_rows} row(s) in "
        f"{report.written_files} file(s) to {root}\n"
    )
    versions = repair.recover_registry(open_store(root))
    if versions:
        out.write(f"canvasback recover: made {versions} registry repair(s) of killed calls\n")
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


def run(args: argparse.Namespace) -> int:
    """Launch a notebook or an entry point as a run; returns the exit status."""
    import warnings  # noqa: PLC0415

    from canvasback.projects import params, project_file, runner  # noqa: PLC0415

    err = sys.stderr
    try:
        values = params.parse_assignments(args.param or [])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the failure is reported below, once
            ended = runner.run_target(
                args.path,
                args.entry_point,
                values,
                args.experiment,
                args.run_name,
                store=args.store,
                **({} if args.path.endswith(".ipynb") else {"echo": True}),
            )
    except (params.ParamError, project_file.ProjectError, FileNotFoundError) as exc:
        err.write(f"canvasback run: {exc}\n")
        return 2
    info = ended.info
    sys.stdout.write(
        f"canvasback run: run {info.run_id} ({info.run_name}) {info.status} "
        f"in experiment {info.experiment_id}, store {ended.store.root}\n"
    )
    if info.status == "FINISHED":
        return 0
    tags = ended.data.tags
    reason = tags.get("canvasback.notebook.error") or tags.get("canvasback.project.error")
    if reason:
        cell = tags.get("canvasback.notebook.failed_cell")
        err.write(f"canvasback run: {'cell ' + cell + ': ' if cell else ''}{reason}\n")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``canvasback`` console script."""
    parser = argparse.ArgumentParser(prog="canvasback", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser(
        "recover",
        help="write rows kept in the spill folder back into the store",
        description=(
            "Write rows that an earlier process could not write to STORE (kept in a "
            "spill folder of the user's cache) into it."
        ),
    )
    rec.add_argument(
        "store",
        nargs="?",
        metavar="STORE",
        help="the store folder (default: CANVASBACK_STORE, else ./canvasback-store)",
    )
    launch = commands.add_parser(
        "run",
        help="run a notebook or a project's entry point as a tracked run",
        description=(
            "Run PATH as a tracked run: a notebook (.ipynb), or a project folder with a "
            "canvasback.toml or MLproject file (or such a file)."
        ),
    )
    launch.add_argument("path", metavar="PATH", help="a notebook, or a project folder or file")
    launch.add_argument("-e", "--entry-point", default=None, help="the entry point (default: main)")
    launch.add_argument(
        "-P",
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a parameter value (repeat for several)",
    )
    launch.add_argument("--experiment", default=None, help="the experiment name")
    launch.add_argument("--run-name", default=None, help="the run's name")
    launch.add_argument(
        "--store", default=None, help="the store folder (default: CANVASBACK_STORE)"
    )
    args = parser.parse_args(argv)
    if args.command == "recover":
        return recover(args.store)
    if args.command == "run":
        return run(args)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover  # argparse refuses
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
