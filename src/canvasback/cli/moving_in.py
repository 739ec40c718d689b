"""Moving in: ``import-mlflow URI`` and ``import-tensorboard LOGDIR``.

An MLflow store (a mlruns folder, a database, a tracking server) or TensorBoard event
files are written into a store by ``canvasback.importers``; run again, they double
nothing.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from canvasback.cli.stores import PROG, Refused, store_folder, store_option

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback.importers import ImportReport


@click.command("import-mlflow", short_help="Move an MLflow store's runs and registry in.")
@click.argument("uri", metavar="URI")
@store_option(create=True)
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


@click.command("import-tensorboard", short_help="Move TensorBoard event files in.")
@click.argument("logdir", metavar="LOGDIR")
@click.option("--experiment", default=None, help="The experiment's name (default: LOGDIR's).")
@store_option(create=True)
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
