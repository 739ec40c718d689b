"""The ``canvasback`` command.

``canvasback recover [STORE]`` writes the rows an earlier process could not write to a
store (kept in a spill folder, see ``canvasback.store.spill``) into it, and says what
is still kept and where. Exit status 0 when nothing is left, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from canvasback._config import resolve_store
from canvasback.store import spill
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
    args = parser.parse_args(argv)
    if args.command == "recover":
        return recover(args.store)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover  # argparse refuses
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
