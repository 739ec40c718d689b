"""What a STORE given to a command may be, checked in one place; how a command refuses.

Every bad invocation exits with status 2 and one line naming the problem: a
:class:`Refused` raised anywhere in a command says it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeVar

import click

from canvasback import _config
from canvasback._config import S3Address, mlflow_store_at
from canvasback.exceptions import MlflowException
from canvasback.store import declarations, layout

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from canvasback._config import StoreAddress

F = TypeVar("F", bound="Callable[..., object]")

PROG: Final = "canvasback"
_SHOWN: Final = 200  # a path longer than this is shortened in an error (real ones fit)


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
            layout.BLOBS_DIR,
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
    default store (``CANVASBACK_STORE``, else ``MLFLOW_TRACKING_URI``'s, else
    ``./canvasback-store``), parsed by the one parser of store strings: any other scheme
    is refused. A folder must be an existing store folder; with ``create`` (a command
    that starts runs) also a missing path in an existing folder, or an empty folder.
    ``recover`` also takes a store that is gone when rows are kept for it: writing them
    creates it again. A store on object storage is checked when it is opened (its
    bucket, its conditional writes).
    """
    from canvasback.store.write import spill  # noqa: PLC0415  # pyarrow: only when a store is used
    from canvasback.tracking.context import current_context  # noqa: PLC0415

    try:
        if value is None:  # CANVASBACK_STORE, else MLFLOW_TRACKING_URI, else the default
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


def store_option(*, create: bool) -> Callable[[F], F]:
    """The ``--store`` option: a store folder (``create``: made if new) or ``s3://``."""
    made = ", made if new" if create else ""
    return click.option(
        "--store",
        default=None,
        metavar="STORE",
        help=(
            f"The store folder{made}, or s3://bucket/prefix (default: CANVASBACK_STORE, "
            "else MLFLOW_TRACKING_URI, else ./canvasback-store)."
        ),
    )
