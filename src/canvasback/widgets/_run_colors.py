"""A colour per run for as long as the kernel lives, so that a run keeps its colour.

A comparison once coloured its runs by their place in it, so a run changed colour as the
selection around it changed. Here a run gets its colour the first time a chart shows it
and keeps it in every chart of the kernel. A new run takes the palette's least used
colour among those its companions of the moment do not have, so the runs of one chart
stay apart (up to twenty of them) and the first runs shown get the palette in order.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Final

from canvasback import charts

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["run_colors"]

# Tableau 10, then Tableau 20's paler halves.
COLOURS: Final = tuple(charts.palette(20))

_lock = threading.Lock()
_assigned: dict[str, str] = {}
_uses: Counter[str] = Counter()


def run_colors(run_ids: Sequence[str]) -> dict[str, str]:
    """Each run's colour, the same in every call of this process."""
    with _lock:
        taken = {_assigned[r] for r in run_ids if r in _assigned}
        for run_id in run_ids:
            if run_id in _assigned:
                continue
            free = [c for c in COLOURS if c not in taken] or list(COLOURS)
            colour = min(free, key=lambda c: (_uses[c], COLOURS.index(c)))
            _assigned[run_id] = colour
            _uses[colour] += 1
            taken.add(colour)
        return {run_id: _assigned[run_id] for run_id in run_ids}
