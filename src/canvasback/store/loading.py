"""Loading a table's files into the catalog when some of them are bad.

A batch of files is loaded in one go; if that fails, file by file, and a failing file is
judged (``integrity.py``): one proven corrupt is moved aside, one unreadable for now is
skipped and offered again at the next refresh (each with a warning), and one deleted
since it was listed (compacted, with no grace period) is dropped quietly, for the table
to be listed again at once: what replaced it holds its rows. A sound file that fails
raises: good data is never moved aside.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

from canvasback.store import layout
from canvasback.store.integrity import (
    CORRUPT,
    SOUND,
    CorruptSegmentWarning,
    UnreadableSegmentWarning,
    inspect_segment,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback.store.fs import LocalFileSystem
    from canvasback.store.segments import TableIndex


class CheckedLoads:
    """Loads files through ``load(table, rels)``; bad files do not stop the rest."""

    def __init__(
        self,
        fs: LocalFileSystem,
        indexes: dict[str, TableIndex],
        load: Callable[[str, list[str]], None],
    ) -> None:
        self.fs = fs
        self.indexes = indexes
        self._load = load
        self.unreadable: set[str] = set()  # skipped files already warned about
        self.vanished: set[str] = set()  # tables with a file deleted before it was read

    def load(self, table: str, rels: list[str]) -> list[str]:
        """Load files; returns those loaded (see the module's docstring for the rest)."""
        if not rels:
            return []
        try:
            self._load(table, rels)
        except Exception:  # noqa: BLE001  # find the bad file(s) one by one
            good: list[str] = []
            for rel in rels:
                try:
                    self._load(table, [rel])
                    good.append(rel)
                except Exception as exc:
                    if not os.path.lexists(self.fs.local_path(rel)):
                        self.forget_vanished(table, [rel])
                        continue
                    verdict, why = inspect_segment(self.fs.local_path(rel), table)
                    if verdict == SOUND:
                        raise  # the file is sound: never move good data aside
                    if verdict == CORRUPT:
                        self._quarantine(table, rel, f"{why}; {exc}" if why else str(exc))
                    else:
                        self._skip_unreadable(table, rel, why)
            return good
        self.unreadable.difference_update(rels)
        return rels

    def forget_vanished(self, table: str, rels: list[str]) -> None:
        """Files deleted since they were listed: list their table again, now."""
        for rel in rels:
            self.indexes[table].forget(rel, retry=True)
        self.vanished.add(table)

    def _skip_unreadable(self, table: str, rel: str, why: str) -> None:
        # Offered again at the next refresh; warned about once, until it is read.
        self.indexes[table].forget(rel, retry=True)
        if rel in self.unreadable:
            return
        self.unreadable.add(rel)
        warnings.warn(
            f"canvasback: segment {rel!r} of table {table!r} cannot be opened now ({why}); "
            "it is left in place, skipped, and tried again at the next refresh.",
            UnreadableSegmentWarning,
            stacklevel=5,
        )

    def _quarantine(self, table: str, rel: str, why: str) -> None:
        try:
            moved = self.fs.move_aside(rel, layout.QUARANTINE_DIR)
        except OSError as exc:  # a read-only store: leave it, but never read it again
            self.indexes[table].forget(rel, ignore=True)
            where = f"it could not be moved aside ({exc}) and is ignored by this reader"
        else:
            self.indexes[table].forget(rel)
            where = f"moved aside to {moved!r}"
        warnings.warn(
            f"canvasback: segment {rel!r} of table {table!r} is corrupt ({why}); "
            f"{where}. Every other row stays readable.",
            CorruptSegmentWarning,
            stacklevel=5,
        )
