"""The import's progress bar (tqdm, on stderr, shown only at a terminal)."""

from __future__ import annotations

from typing import Any


class Progress:
    """Runs done of a total, with the metric points written so far; silent if not shown."""

    def __init__(self, total: int, what: str, *, show: bool) -> None:
        self._bar: Any = None
        if show:
            try:
                from tqdm.auto import tqdm  # noqa: PLC0415  # an optional dependency
            except ImportError:  # no tqdm: the import runs without a bar
                return
            # disable=None: no bar when stderr is not a terminal (a log, a pipe, CI).
            self._bar = tqdm(total=total, desc=what, unit="run", disable=None)

    def run_done(self, points: int) -> None:
        """One more run handled; ``points`` metric points written in all so far."""
        if self._bar is not None:
            self._bar.set_postfix(points=f"{points:,}", refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        """Leave the bar as it ended."""
        if self._bar is not None:
            self._bar.close()
