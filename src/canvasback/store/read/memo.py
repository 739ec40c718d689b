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

    def get(self, key: Hashable, work_out: Callable[[], T]) -> T:
        """The answer to ``key`` (say what is asked, and by whom): kept, or worked out.

        ``work_out`` runs the catalog's queries (no refresh). Callers must not change an
        answer they are given: the next caller asking gets it too.
        """
        with self._lock:
            version = self._version_now()
            if version != self._version:
                self._answers.clear()
                self._version = version
            if key in self._answers:
                return cast("T", self._answers[key])
            answer = work_out()  # raises before anything is kept
            self.worked_out += 1
            if len(self._answers) >= SIZE:
                del self._answers[next(iter(self._answers))]
            self._answers[key] = answer
            return answer
