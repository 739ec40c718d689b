"""Patches on a library's classes and modules, made and reverted together.

A patch replaces one attribute with a wrapper made from the original. Reverting puts
back exactly what was there: the owner's own attribute, or none (a method the class
inherited, which it inherits again). A method behind scikit-learn's ``available_if``
(a descriptor whose ``fn`` is the method: ``Pipeline.fit_transform``) is patched on the
descriptor, once, however many classes inherit it. A wrapper is never wrapped again: a
class that inherits a method already patched on its base gets its own wrapper of the
original, so one call runs one wrapper.
"""

from __future__ import annotations

import inspect
import threading
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]

# Marks a wrapper with the original it was made from.
ORIGINAL: Final = "__canvasback_original__"


class _Absent:
    """The owner had no attribute of its own by that name."""


_ABSENT: Final = _Absent()


@dataclass(frozen=True)
class _Patch:
    owner: object
    name: str
    previous: object

    def revert(self) -> None:
        if self.previous is _ABSENT:
            delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self.previous)


def original_of(function: Callable[..., Any]) -> Callable[..., Any]:
    """The function a wrapper was made from; the function itself if it is none."""
    original: Callable[..., Any] = getattr(function, ORIGINAL, function)
    return original


class Patches:
    """One integration's patches, reverted in the reverse order of their making."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: list[_Patch] = []

    @property
    def installed(self) -> bool:
        """Whether any patch is in place."""
        return bool(self._made)

    def method(self, cls: type, name: str, wrap: Wrap) -> bool:
        """Wrap the method ``name`` of ``cls`` (its own or inherited); False if it has none."""
        raw = inspect.getattr_static(cls, name, _ABSENT)
        if isinstance(raw, types.FunctionType):
            self.replace(cls, name, _marked(wrap, original_of(raw)))
            return True
        fn = getattr(raw, "fn", None)
        if isinstance(fn, types.FunctionType) and hasattr(raw, "check"):  # available_if
            if getattr(fn, ORIGINAL, None) is None:  # not patched through another class yet
                self.replace(raw, "fn", _marked(wrap, fn))
            return True
        return False

    def replace(self, owner: object, name: str, value: object) -> None:
        """Set ``owner.name`` to ``value``, keeping what to put back."""
        with self._lock:
            previous = vars(owner).get(name, _ABSENT)
            setattr(owner, name, value)
            self._made.append(_Patch(owner, name, previous))

    def revert(self) -> None:
        """Put every original back."""
        with self._lock:
            while self._made:
                self._made.pop().revert()


def _marked(wrap: Wrap, original: Callable[..., Any]) -> Callable[..., Any]:
    wrapper = wrap(original)
    setattr(wrapper, ORIGINAL, original)
    return wrapper
