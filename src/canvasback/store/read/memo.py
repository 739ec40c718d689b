"""Answers worked out from one state of a catalog, kept while that state stands.

A read that asks the same question of a store that has not changed since (a search
repeated in a notebook) gets the answer worked out before, with no query. The state is
the catalog's ``views_version``, which moves whenever any table, view or file list may
answer differently; once it moves, every answer kept is let go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Hashable

T = TypeVar("T")

_NONE: Final = object()  # no answer kept (None may be one)
SIZE: Final = 32
"""Answers kept for one state at most (the oldest goes first)."""


class Memo:
    """A catalog's answers by key, all of one state of its views (the catalog's ``memo``)."""

    def __init__(self, lock: threading.RLock, version: Callable[[], int]) -> None:
        self._lock = lock  # the catalog's: no refresh while an answer is worked out
        self._version_now = version
        self._version: int | None = None
        self._answers: dict[Hashable, Any] = {}
        self.worked_out = 0
        """How many answers were worked out (a measure of the work done, for tests)."""

    def get(
        self,
        key: Hashable,
        work_out: Callable[[], T],
        *,
        holds: Callable[[], bool] | None = None,
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        """The answer to ``key`` (say what is asked, and by whom): kept, or worked out.

        ``work_out`` runs the catalog's queries (no refresh). Callers must not change an
        answer they are given: the next caller asking gets it too. ``holds``: whether a
        kept answer still holds (for an answer that also depends on the clock); ``keep``:
        whether an answer worked out is worth keeping (not a huge one).
        """
        with self._lock:
            version = self._version_now()
            if version != self._version:
                self._answers.clear()
                self._version = version
            kept = self._answers.get(key, _NONE)
            if kept is not _NONE and (holds is None or holds()):
                return cast("T", kept)
            self._answers.pop(key, None)
            answer = work_out()  # raises before anything is kept
            self.worked_out += 1
            if keep is not None and not keep(answer):
                return answer
            if len(self._answers) >= SIZE:
                del self._answers[next(iter(self._answers))]
            self._answers[key] = answer
            return answer

    def forget(self, key: Hashable) -> None:
        """Let one answer go (it held until a moment that has passed)."""
        with self._lock:
            self._answers.pop(key, None)
