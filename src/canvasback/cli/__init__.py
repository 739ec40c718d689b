"""The ``canvasback`` command (and ``python -m canvasback``), built on click.

One module per kind of command, each a click command added to the group here:

- :mod:`.launch`: ``run PATH [-e ENTRY] [-P key=value ...]`` runs a notebook, or an
  entry point of a project folder (``canvasback.toml`` or MLflow's ``MLproject``), as a
  tracked run; exit status 0 when the run FINISHED, 1 when it failed;
- :mod:`.reads`: ``runs`` (filtered and ordered as ``search_runs``), ``sql QUERY``
  (``canvasback.sql``'s read-only rules) and ``models`` (the registry), as rich tables;
- :mod:`.hooks`: ``hooks list`` and ``hooks retry`` (the registry's hooks, and their
  deliveries that failed);
- :mod:`.export`: ``export --out FILE``: runs, or one run's metrics, to Parquet or CSV;
- :mod:`.maintenance`: ``recover``, ``compact`` and ``gc`` keep a store in shape;
- :mod:`.moving_in`: ``import-mlflow URI`` and ``import-tensorboard LOGDIR``.

Every bad invocation (an unknown option, a store path that is no store, a bad filter,
parameter or project file) exits with status 2 and one line naming the problem. A
STORE is checked in one place, :func:`.stores.store_folder`, before a command does
anything.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import click

from canvasback.cli import export, hooks, launch, maintenance, moving_in, reads
from canvasback.cli.stores import PROG, Refused

if TYPE_CHECKING:
    from collections.abc import Sequence


class _InOrder(click.Group):
    """A group that lists its commands in the order they were added, not by name."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        del ctx
        return list(self.commands)


@click.group(
    cls=_InOrder,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    invoke_without_command=True,
    epilog="""\b
Examples:
  canvasback runs -x digits-sgd -o "metrics.val_acc DESC" -n 5
  canvasback runs -f "params.alpha < 0.001" -c run_name,metrics.val_acc
  canvasback sql "SELECT key, max(value) FROM latest_metrics GROUP BY key"
  canvasback export --out runs.parquet -x digits-sgd
  canvasback models digits
  canvasback hooks retry
  canvasback run train.ipynb -P lr=0.01 --experiment digits

'canvasback COMMAND --help' says more about each.""",
)
@click.version_option(package_name="canvasback", prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """canvasback: a Jupyter-native experiment tracker and model registry.

    Runs, metrics, models and their versions live in a store: a folder of Parquet files
    queried by DuckDB. Every command takes --store (default: CANVASBACK_STORE, else
    MLFLOW_TRACKING_URI, else ./canvasback-store). In Python, `import canvasback as
    mlflow` logs there with MLflow's API; these commands list and query what was
    logged, export it, run notebooks and projects as tracked runs, move MLflow and
    TensorBoard logs in, and keep a store in shape.
    """
    if ctx.invoked_subcommand is None:  # a bare `canvasback`: what it can do
        click.echo(ctx.get_help())


for command in (
    reads.runs,
    reads.sql,
    reads.models,
    hooks.hooks,
    export.export,
    launch.run,
    moving_in.import_mlflow,
    moving_in.import_tensorboard,
    maintenance.compact,
    maintenance.gc,
    maintenance.recover,
):
    cli.add_command(command)


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
