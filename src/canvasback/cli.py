"""The ``canvasback`` command (and ``python -m canvasback``), built on click.

``canvasback run PATH [-e ENTRY] [-P key=value ...]`` runs a notebook, or an entry point
of a project folder (``canvasback.toml`` or MLflow's ``MLproject``), as a tracked run;
exit status 0 when the run FINISHED, 1 when it failed.

``canvasback import-mlflow URI [--store STORE]`` moves an MLflow store (a mlruns folder,
a database, a tracking server) in, and ``canvasback import-tensorboard LOGDIR`` TensorBoard
event files (``canvasback.importers``); run again, they double nothing.

``canvasback recover [STORE]`` writes the rows an earlier process could not write to a
store (kept in a spill folder, see ``canvasback.store.write.spill``) into it, and settles
the registry calls a killed process left half done (``canvasback.registry.repair``); it
says what is still kept and where. Exit status 0 when nothing is left, 1 otherwise.

Every bad invocation (an unknown option, a store path that is no store, a bad
parameter or project file) exits with status 2 and one line naming the problem.
A STORE is checked here, in :func:`store_folder`, before a command does anything.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final, NoReturn

import click

from canvasback import _config
from canvasback._config import S3Address, mlflow_store_at
from canvasback.exceptions import MlflowException
from canvasback.store import declarations, layout

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from canvasback._config import StoreAddress
    from canvasback.importers import ImportReport
    from canvasback.store.write.spill import ReplayReport

PROG: Final = "canvasback"
_SHOWN: Final = 80  # a path longer than this is shortened in an error


class Refused(click.ClickException):
    """A bad invocation found after parsing: exit status 2, one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        ctx = click.get_current_context(silent=True)
        self.command_path = ctx.command_path if ctx is not None else PROG


def store_entries() -> frozenset[str]:
    """What a store folder holds once anything was written to it (see ``store/layout.py``)."""
    from canvasback.store.read.snapshots import SNAPSHOTS_DIR  # noqa: PLC0415

    return frozenset(
        {
            *declarations.table_names(),
            layout.CLAIMS_DIR,
            layout.ARTIFACTS_DIR,
            layout.LEASES_DIR,
            layout.QUARANTINE_DIR,
            SNAPSHOTS_DIR,
        }
    )


def _shown(value: str) -> str:
    if len(value) <= _SHOWN:
        return repr(value)
    return f"{value[: _SHOWN - 20]!r}...{value[-12:]!r} ({len(value)} characters)"


def _store_problem(path: Path, shown: str, *, create: bool) -> str | None:
    """Why ``path`` cannot be used as a store (None: it can)."""
    try:
        if not path.exists():
            if not create:
                return f"{shown}: no such folder, and no rows are kept for it"
            above = next(p for p in path.parents if p.exists())
            return None if above.is_dir() else f"{shown} is inside a file, {str(above)!r}"
        if not path.is_dir():
            return f"{shown} is a file, not a store folder"
        names = {entry.name for entry in path.iterdir()}
    except OSError as exc:
        return f"{shown}: {exc.strerror or exc}"
    if names & store_entries() or (create and not names):
        return None
    what = "an empty folder" if not names else "a folder that holds no canvasback store"
    return f"{shown} is {what} (a store holds folders such as runs, metrics, events and claims)"


def store_folder(value: str | None, *, create: bool) -> StoreAddress:
    """The store a command works on, checked: the one place that says what a store is.

    ``value`` is a path, a ``file:`` URI or ``s3://bucket/prefix``, or None for the
    default store (``CANVASBACK_STORE``, else ``./canvasback-store``), parsed by the one
    parser of store strings: any other scheme is refused. A folder must be an existing
    store folder; with ``create`` (a command that starts runs) also a missing path in
    an existing folder, or an empty folder. ``recover`` also takes a store that is gone
    when rows are kept for it: writing them creates it again. A store on object storage
    is checked when it is opened (its bucket, its conditional writes).
    """
    from canvasback.store.write import spill  # noqa: PLC0415  # pyarrow: only when a store is used
    from canvasback.tracking.context import current_context  # noqa: PLC0415

    try:
        if value is None:  # CANVASBACK_STORE, else the default folder
            path = current_context().store_address()
        else:
            path = _config.parse_store(value, given_as="store")
    except MlflowException as exc:  # the one parser's reason: its first sentence
        raise Refused(str(exc).split(". ")[0]) from None
    if isinstance(path, S3Address):
        return path
    given = value if value is not None else str(path)
    shown = f"store {_shown(given)}" if value is not None else f"the default store {_shown(given)}"
    mlflow = mlflow_store_at(path)
    if mlflow is not None:
        what, source = mlflow
        msg = (
            f"{shown} is {what}, not a canvasback store; to move its runs in: "
            f"{PROG} import-mlflow {source} --store <new path>"
        )
        raise Refused(msg)
    problem = _store_problem(path, shown, create=create)
    if problem is not None:
        try:
            kept = spill.pending(path)
        except OSError:
            kept = False
        if not kept:
            raise Refused(problem)
    return path


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    invoke_without_command=True,
)
@click.version_option(package_name="canvasback", prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """canvasback: a Jupyter-native experiment tracker and model registry.

    Runs, metrics, models and their versions live in a store: a folder of Parquet files
    queried by DuckDB (CANVASBACK_STORE, else ./canvasback-store). In Python, `import
    canvasback as mlflow` logs there with MLflow's API; these commands run notebooks and
    projects as tracked runs, and repair a store.
    """
    if ctx.invoked_subcommand is None:  # a bare `canvasback`: what it can do
        click.echo(ctx.get_help())


@cli.command()
@click.argument("store", required=False, metavar="[STORE]")
def recover(store: str | None) -> int:
    """Write what an earlier process could not write into STORE.

    Rows a process could not write to the store (kept in a spill folder of the user's
    cache) are written into it, and registry and experiment calls (create, register,
    rename, delete) that a killed process left half done are completed or undone.
    STORE is a store folder or s3://bucket/prefix (default: CANVASBACK_STORE, else
    ./canvasback-store). Exit
    status 0 when nothing is left to write, 1 when rows are still kept (the output says
    where and why).
    """
    from canvasback.registry import repair  # noqa: PLC0415  # loaded for this command only
    from canvasback.store import file_system, open_store  # noqa: PLC0415
    from canvasback.store.write import spill  # noqa: PLC0415
    from canvasback.store.write.arrow_rows import rows_to_table  # noqa: PLC0415
    from canvasback.tracking.experiment_claims import recover_experiments  # noqa: PLC0415

    root = store_folder(store, create=False)
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


@cli.command()
@click.argument("path", metavar="PATH")
@click.option(
    "-e", "--entry-point", default=None, metavar="ENTRY", help="The entry point (default: main)."
)
@click.option(
    "-P",
    "--param",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter's value; repeat for several.",
)
@click.option("--experiment", default=None, help="The experiment's name (made if new).")
@click.option("--run-name", default=None, help="The run's name.")
@click.option(
    "--store",
    default=None,
    metavar="STORE",
    help="The store folder, made if new (default: CANVASBACK_STORE, else ./canvasback-store).",
)
def run(
    path: str,
    entry_point: str | None,
    assignments: tuple[str, ...],
    experiment: str | None,
    run_name: str | None,
    store: str | None,
) -> int:
    """Run a notebook or a project's entry point as a tracked run.

    PATH is a notebook (.ipynb), or a project folder with a canvasback.toml or
    MLproject file (or such a file). Every check (the file, the entry point, each
    parameter and its type, the store) happens before anything runs. Exit status 0
    when the run FINISHED, 1 when it failed, 2 when it could not start.

    \b
    canvasback run train.ipynb -P lr=0.01
    canvasback run regression/ -e validate -P data_file=d.csv --experiment digits
    """  # noqa: D301  # \b is click's mark for a paragraph kept as written
    import warnings  # noqa: PLC0415

    from canvasback.projects import params, runner  # noqa: PLC0415

    root = store_folder(store, create=True)
    try:
        values = params.parse_assignments(list(assignments))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the failure is reported below, once
            ended = runner.run_target(
                path,
                entry_point,
                values,
                experiment,
                run_name,
                store=root,
                **({} if path.endswith(".ipynb") else {"echo": True}),
            )
    except (MlflowException, FileNotFoundError) as exc:
        raise Refused(str(exc)) from None
    info = ended.info
    sys.stdout.write(
        f"canvasback run: run {info.run_id} ({info.run_name}) {info.status} "
        f"in experiment {info.experiment_id}, store {ended.store.url}\n"
    )
    if info.status == "FINISHED":
        return 0
    tags = ended.data.tags
    reason = tags.get("canvasback.notebook.error") or tags.get("canvasback.project.error")
    if reason:
        cell = tags.get("canvasback.notebook.failed_cell")
        sys.stderr.write(f"canvasback run: {'cell ' + cell + ': ' if cell else ''}{reason}\n")
    return 1


_STORE_OPTION = click.option(
    "--store",
    default=None,
    metavar="STORE",
    help="The store folder, made if new (default: CANVASBACK_STORE, else ./canvasback-store).",
)


@cli.command("import-mlflow")
@click.argument("uri", metavar="URI")
@_STORE_OPTION
def import_mlflow(uri: str, store: str | None) -> int:
    """Move an MLflow store's runs, models and registry into a canvasback store.

    URI is a mlruns folder (read directly, no MLflow needed), an MLflow SQLite file or
    sqlite:/// URI, another database URI MLflow reads, or a tracking server
    (http://host:5000); all but a folder need `pip install 'canvasback[mlflow]'`. Runs
    keep their ids. Run again, it doubles nothing and finishes an interrupted import.
    Exit status 0 when done (the report says what could not be carried over), 1 when
    the source failed midway (every run written so far is whole; run it again), 2 when
    URI is no MLflow store.

    \b
    canvasback import-mlflow ./mlruns --store ./canvasback-store
    canvasback import-mlflow sqlite:///mlflow.db
    canvasback import-mlflow http://localhost:5000
    """  # noqa: D301  # \b is click's mark for a paragraph kept as written
    from canvasback import importers  # noqa: PLC0415  # loaded for this command only

    root = store_folder(store, create=True)
    return _imported(lambda: importers.import_mlflow(uri, root))


@cli.command("import-tensorboard")
@click.argument("logdir", metavar="LOGDIR")
@click.option("--experiment", default=None, help="The experiment's name (default: LOGDIR's).")
@_STORE_OPTION
def import_tensorboard(logdir: str, experiment: str | None, store: str | None) -> int:
    """Move TensorBoard event files into a canvasback store: one run per folder of them.

    Scalars keep their steps and wall times; hparams become params. Needs
    `pip install 'canvasback[tensorboard]'`. Run again, it doubles nothing. Exit status
    0 when done, 1 when an event file failed to read, 2 when LOGDIR holds no event files.

    \b
    canvasback import-tensorboard ./runs --experiment resnet
    """  # noqa: D301  # \b is click's mark for a paragraph kept as written
    from canvasback import importers  # noqa: PLC0415  # loaded for this command only

    root = store_folder(store, create=True)
    return _imported(lambda: importers.import_tensorboard(logdir, root, experiment=experiment))


def _imported(run_import: Callable[[], ImportReport]) -> int:
    """Run an import: its report on stdout; a source that is not one exits 2, a failure 1."""
    from canvasback.importers import SourceNotFoundError, SourceReadError  # noqa: PLC0415

    try:
        report = run_import()
    except SourceNotFoundError as exc:
        raise Refused(str(exc)) from None
    except SourceReadError as exc:
        ctx = click.get_current_context(silent=True)
        sys.stderr.write(f"{ctx.command_path if ctx else PROG}: {exc}\n")
        return 1
    sys.stdout.write(f"{report}\n")
    return 0


def _refuse(exc: click.ClickException) -> NoReturn:
    """One line on stderr: the command, the problem, and where help is; exit status 2."""
    if isinstance(exc, Refused):
        prefix = exc.command_path
    elif isinstance(exc, click.UsageError) and exc.ctx is not None:
        prefix = exc.ctx.command_path
    else:
        prefix = PROG
    message = " ".join(exc.format_message().split())  # one line, whatever click wrote
    hint = f" (see '{prefix} --help')" if isinstance(exc, click.UsageError) else ""
    sys.stderr.write(f"{prefix}: {message}{hint}\n")
    sys.exit(exc.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``canvasback`` console script; returns the exit status."""
    try:
        status = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name=PROG,
            standalone_mode=False,
        )
    except click.ClickException as exc:
        _refuse(exc)
    except click.Abort:  # Ctrl-C at a prompt
        sys.stderr.write(f"{PROG}: aborted\n")
        return 130
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
