"""Which way is better for a metric: lower (a loss) or higher (an accuracy).

A sweep says it of its metric (``sweep(metric="val_loss", mode="min")`` tags the sweep's
parent run ``canvasback.sweep.metric = "min val_loss"``); that goal wins. Otherwise the
metric's name tells, by its last word (``val_loss``, ``train/rmse``, ``test_accuracy``,
``f1``); a name that tells nothing has no known goal.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["SWEEP_METRIC_TAG", "Better", "better", "declared_goals"]

Better = Literal["lower", "higher"]

SWEEP_METRIC_TAG: Final = "canvasback.sweep.metric"
"""The tag a sweep's parent run holds: its mode and metric, ``"min val_loss"``."""

_MODES: Final[dict[str, Better]] = {"min": "lower", "max": "higher"}
# Words a name may end in (``logloss``, ``mean_squared_error``, ``r2_score``)...
_LOWER_ENDINGS: Final = ("loss", "error", "rmse", "mse", "mae", "mape", "perplexity")
_HIGHER_ENDINGS: Final = ("accuracy", "precision", "recall", "score")
# ... and short words that must be the whole last word (``layer2`` is not an r2).
_LOWER_WORDS: Final = frozenset(("err", "ppl", "wer", "cer"))
_HIGHER_WORDS: Final = frozenset(("acc", "auc", "f1", "r2", "iou", "dice", "bleu", "rouge"))
_WORD: Final = re.compile(r"[a-z0-9]+")


def declared_goals(tag_values: Iterable[str | None]) -> dict[str, Better]:
    """The goals sweeps declared: ``{"val_loss": "lower"}`` from ``"min val_loss"``.

    A metric two sweeps declared differently has no declared goal.
    """
    goals: dict[str, Better] = {}
    disputed: set[str] = set()
    for value in tag_values:
        mode, _, metric = (value or "").partition(" ")
        if mode not in _MODES or not metric:
            continue
        goal = _MODES[mode]
        if goals.setdefault(metric, goal) != goal:
            disputed.add(metric)
    return {metric: goal for metric, goal in goals.items() if metric not in disputed}


def better(key: str, declared: Mapping[str, Better] | None = None) -> Better | None:
    """Whether a lower or a higher value of metric ``key`` is better; None if unknown."""
    if declared and key in declared:
        return declared[key]
    words = _WORD.findall(key.lower())
    if not words:
        return None
    last = words[-1]
    if last in _LOWER_WORDS or last.endswith(_LOWER_ENDINGS):
        return "lower"
    if last in _HIGHER_WORDS or last.endswith(_HIGHER_ENDINGS):
        return "higher"
    return None
