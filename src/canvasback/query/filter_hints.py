"""What to say of a filter that names a key no run has: it matches nothing, so say why.

``params.lr > 0.1`` over runs that logged ``learning_rate`` is valid and finds no run;
the hint names the key no run has and the keys closest to it (as ``difflib`` finds them),
e.g. ``No run in this table has params.lr. Closest: params.learning_rate.``
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Final

from canvasback.query.filter_sql import referenced
from canvasback.query.search import ENTITY_PREFIX

if TYPE_CHECKING:
    from collections.abc import Collection

    from canvasback.query.filter import Expr

__all__ = ["closest_keys", "missing_key_hint", "missing_keys"]

CLOSEST: Final = 3
CUTOFF: Final = 0.6
SHOWN_WHEN_NONE_CLOSE: Final = 5
# A key this short or longer counts as close to a key it is the initials of, or inside:
# as close as this. Of two as close, the one of the same entity (metric, param, tag) wins.
_MIN_PART: Final = 2
_PART_SCORE: Final = 0.8
_SAME_ENTITY: Final = 0.01
_WORDS: Final = re.compile(r"[a-z0-9]+")


def missing_keys(expr: Expr | None, known: Collection[str]) -> list[str]:
    """The metric, param and tag columns ``expr`` names that are not in ``known``."""
    names = [
        f"{ENTITY_PREFIX[entity]}.{key}"
        for entity, key in referenced(expr)
        if entity in ENTITY_PREFIX
    ]
    return [name for name in names if name not in known]


def closest_keys(name: str, known: Collection[str], n: int = CLOSEST) -> list[str]:
    """The ``n`` columns of ``known`` whose keys are most like the key of ``name``.

    Keys are compared alone, so ``params.acc`` finds ``metrics.acc`` (a column of the
    same entity wins a tie); a key made of another's initials (``lr``,
    ``learning_rate``) or inside it (``lr`` in ``lr_decay``) is close too.
    """
    prefix, _, key = name.lower().partition(".")
    matcher = difflib.SequenceMatcher()
    scored: list[tuple[float, str]] = []
    for candidate in known:
        other_prefix, _, other = candidate.lower().partition(".")
        if not other:
            continue
        matcher.set_seqs(key, other)
        score = matcher.ratio()
        if len(key) >= _MIN_PART and (key == _initials(other) or key in other or other in key):
            score = max(score, _PART_SCORE)
        if score >= CUTOFF:
            scored.append((score + (_SAME_ENTITY if other_prefix == prefix else 0), candidate))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [candidate for _, candidate in scored[:n]]


def _initials(key: str) -> str:
    return "".join(word[0] for word in _WORDS.findall(key))


def missing_key_hint(expr: Expr | None, known: Collection[str]) -> str:
    """One sentence per key ``expr`` names that no run in ``known`` has; empty if none."""
    sentences = []
    for name in missing_keys(expr, known):
        closest = closest_keys(name, known)
        if closest:
            sentences.append(f"No run in this table has {name}. Closest: {', '.join(closest)}.")
            continue
        prefix = name.partition(".")[0]
        same = sorted(k for k in known if k.startswith(f"{prefix}."))
        if same:
            shown = ", ".join(same[:SHOWN_WHEN_NONE_CLOSE])
            rest = len(same) - SHOWN_WHEN_NONE_CLOSE
            more = f" and {rest} more" if rest > 0 else ""
            sentences.append(f"No run in this table has {name}; its {prefix}: {shown}{more}.")
        else:
            sentences.append(f"No run in this table has {name}, nor any {prefix}.")
    return " ".join(sentences)
