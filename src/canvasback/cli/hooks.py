"""The registry's hooks from the terminal: ``hooks list`` and ``hooks retry``.

``list`` shows the hooks a store holds (of one model with ``--model``); ``retry`` sends
again every delivery whose latest attempt failed (``Client.retry_hooks``), with its
idempotency key, and exits 1 while any is still not delivered. A command hook runs
there only with ``CANVASBACK_TRUST_HOOK_COMMANDS=1`` (``canvasback.registry.hooks``).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING

import click

from canvasback.cli import tables
from canvasback.cli.reads import first_line
from canvasback.cli.stores import Refused, store_folder, store_option
from canvasback.exceptions import MlflowException

if TYPE_CHECKING:
    from canvasback.registry.hook_dispatch import Redelivery
    from canvasback.registry.hooks import Hook


@click.group(short_help="List the registry's hooks, or send failed deliveries again.")
def hooks() -> None:
    """Hooks on registry events: URLs and commands told of new versions and alias moves.

    \b
    canvasback hooks list
    canvasback hooks list --model churn
    canvasback hooks retry
    """  # noqa: D301  # \b is click's mark for a paragraph kept as written


@hooks.command("list", short_help="List the hooks.")
@click.option("--model", "name", default=None, metavar="NAME", help="Only the hooks of NAME.")
@store_option(create=False)
def list_hooks(name: str | None, store: str | None) -> int:
    """List the hooks: their events, model (* for every model) and target."""
    from canvasback.registry import Client  # noqa: PLC0415  # loaded for this command only

    root = store_folder(store, create=False)
    try:
        found = Client(root).list_hooks(name)
    except MlflowException as exc:
        raise Refused(first_line(exc)) from None
    if not found:
        click.echo(f"No hooks in {root}.")
        return 0
    columns = ["hook_id", "events", "model", "target", "signed", "timeout", "attempts"]
    tables.show(columns, [_hook_row(h) for h in found], title=f"Hooks in {root}")
    return 0


def _hook_row(hook: Hook) -> tuple[object, ...]:
    target = hook.target if isinstance(hook.target, str) else " ".join(hook.target)
    signed = f"${hook.secret_env}" if hook.secret_env else ("yes" if hook.signed else "no")
    return (
        hook.hook_id,
        ", ".join(hook.events),
        hook.name or "*",
        target,
        signed,
        f"{hook.timeout:g} s",
        hook.max_attempts,
    )


@hooks.command(short_help="Send again every delivery whose latest attempt failed.")
@store_option(create=False)
def retry(store: str | None) -> int:
    """Send again, once each, every hook delivery whose latest attempt failed.

    Each goes with its own id (X-MLflow-Delivery-Id) and body, as its first attempt did,
    and its attempt is logged. A delivery whose process still means to try it again is
    left to that process (waiting); one whose hook was deleted is dropped. Exit status 0
    when nothing is left undelivered, 1 otherwise.
    """
    from canvasback.registry import Client  # noqa: PLC0415  # loaded for this command only

    root = store_folder(store, create=False)
    done = Client(root).retry_hooks()
    if not done:
        click.echo(f"No failed hook deliveries in {root}.")
        return 0
    columns = ["delivery_id", "event", "model", "version", "first fired", "outcome", "detail"]
    tables.show(columns, [_redelivery_row(r) for r in done], title=f"Hook deliveries in {root}")
    left = sum(r.outcome in ("failed", "waiting") for r in done)  # dropped: never again
    if left:
        sys.stderr.write(f"{left} of {len(done)} deliveries not delivered\n")
    return 1 if left else 0


def _redelivery_row(done: Redelivery) -> tuple[object, ...]:
    d = done.delivery
    fired = dt.datetime.fromtimestamp(d.first_time / 1000, tz=dt.UTC)
    return (d.delivery_id, d.event, d.name, d.version, fired, done.outcome, done.detail)
