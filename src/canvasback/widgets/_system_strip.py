"""The live views' system strip: CPU, memory and each GPU of a run, from its latest points.

A run that logs system metrics (``start_run(log_system_metrics=True)``) gets dozens of
``system/*`` keys; the live view keeps them out of its grid of metric charts and shows
the few that say how the machine is doing as one line of chips beside them. The keys
are MLflow's; a node id (``system/<node>/...``) goes into the chip's label.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Final

from canvasback.tracking import system_readings as names

if TYPE_CHECKING:
    from collections.abc import Iterable

PREFIX: Final = names.PREFIX
_KEY: Final = re.compile(r"system/(?:(?P<node>[^/]+)/)?(?P<name>[^/]+)")
_GPU: Final = re.compile(r"gpu_(?P<i>\d+)_(?P<what>utilization|memory_usage)_percentage")
# What the strip shows, in order: the machine's CPU and memory, then each GPU's.
_MACHINE: Final = {names.CPU_PERCENT: (0, "CPU"), names.MEMORY_PERCENT: (1, "Memory")}


def is_system_key(key: str) -> bool:
    """Whether ``key`` is one of the system metrics (``system/...``)."""
    return key.startswith(PREFIX)


def _place(key: str) -> tuple[tuple[str, int, int], str] | None:
    """Where a key goes in the strip and its label; None for a key the strip leaves out."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    node, name = match["node"] or "", match["name"]
    if name in _MACHINE:
        order, label = _MACHINE[name]
        place = (node, -1, order)
    else:
        gpu = _GPU.fullmatch(name)
        if gpu is None:
            return None
        index = int(gpu["i"])
        memory = gpu["what"] == "memory_usage"
        label = f"GPU {index} mem" if memory else f"GPU {index}"
        place = (node, index, int(memory))
    return place, f"{node} {label}" if node else label


def strip(latest: Iterable[tuple[str, int, int, float]]) -> list[dict[str, Any]]:
    """The strip's chips from a run's latest points ``(key, step, timestamp, value)``.

    Each chip: ``key``, ``label`` (``CPU``, ``Memory``, ``GPU 0``, ``GPU 0 mem``),
    ``value`` (a percentage; None when not finite) and ``timestamp``.
    """
    chips = []
    for key, _step, timestamp, value in latest:
        placed = _place(key)
        if placed is None:
            continue
        place, label = placed
        shown = value if math.isfinite(value) else None
        chips.append((place, {"key": key, "label": label, "value": shown, "timestamp": timestamp}))
    return [chip for _place_of, chip in sorted(chips, key=lambda c: c[0])]


def strip_text(chips: Iterable[dict[str, Any]]) -> str:
    """The chips as one line of text: ``CPU 37% · Memory 52% · GPU 0 87%``."""
    return " · ".join(f"{chip['label']} {_percent(chip['value'])}" for chip in chips)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"
