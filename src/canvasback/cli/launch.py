"""``canvasback run PATH``: a notebook or a project's entry point as a tracked run."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from canvasback.cli.stores import Refused, store_folder, store_option
from canvasback.exceptions import MlflowException

if TYPE_CHECKING:
    from canvasback._config import StoreAddress


@click.command(short_help="Run a notebook or project entry point as a run.")
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
@store_option(create=True)
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
    parameter and its type, the store) happens before anything runs. A notebook runs
    in a fresh kernel in its own folder; a project's command runs in the project folder.
    A parameter of type `path` is, as in MLflow, a file or folder relative to where
    you run this command (it must exist, and the command gets its absolute path); any
    other value reaches the command as written. Exit status 0 when the run FINISHED,
    1 when it failed, 2 when it could not start.

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
        f"canvasback run: run {info.run_id} ({info.run_name}) {info.status} in experiment "
        f"{_experiment_name(root, info.experiment_id)!r} (id {info.experiment_id}), "
        f"store {ended.store.url}\n"
    )
    if info.status == "FINISHED":
        return 0
    tags = ended.data.tags
    reason = tags.get("canvasback.notebook.error") or tags.get("canvasback.project.error")
    if reason:
        cell = tags.get("canvasback.notebook.failed_cell")
        where = f"cell {cell}: " if cell and cell != "-1" else ""  # -1: the kernel, no cell
        sys.stderr.write(f"canvasback run: {where}{reason}\n")
    return 1


def _experiment_name(root: StoreAddress, experiment_id: str) -> str:
    from canvasback.tracking.client import Client  # noqa: PLC0415

    return Client(root).get_experiment(experiment_id).name
