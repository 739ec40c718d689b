"""Functions called once a module is imported: at once if it already is.

``canvasback.autolog()`` turns an integration on without importing its library: a
program that never trains with scikit-learn should not pay the seconds that importing
and patching it take. Until the library is imported, a finder at the front of
``sys.meta_path`` waits for its name; it hands the import to the other finders, and
runs the waiting functions once the module has run, before the import statement
returns. A function that raises is an ``AutologgingWarning``: an import never fails
because of it.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
import warnings
from typing import TYPE_CHECKING, Final

from canvasback.integrations.session import AutologgingWarning

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

    Hook = Callable[[ModuleType], None]


_lock = threading.RLock()
_waiting: dict[str, list[Hook]] = {}


def when_imported(name: str, hook: Hook) -> None:
    """Call ``hook(module)`` once the top-level module ``name`` is imported (now, if it is)."""
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            hooks = _waiting.setdefault(name, [])
            if hook not in hooks:  # asked twice, called once
                hooks.append(hook)
            if _FINDER not in sys.meta_path:
                sys.meta_path.insert(0, _FINDER)
            return
    hook(module)


def forget(name: str) -> None:
    """Drop the functions waiting for ``name``."""
    with _lock:
        _waiting.pop(name, None)
        _drop_finder_if_idle()


def _drop_finder_if_idle() -> None:
    if not _waiting and _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def _run_hooks(module: ModuleType) -> None:
    with _lock:
        hooks = _waiting.pop(module.__name__, [])
        _drop_finder_if_idle()
    for hook in hooks:
        try:
            hook(module)
        except Exception as exc:  # noqa: BLE001 - the import goes on; the warning says why
            warnings.warn(
                f"canvasback could not turn on autologging for {module.__name__!r} as it "
                f"was imported: {type(exc).__name__}: {exc}",
                AutologgingWarning,
                stacklevel=2,
            )


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader another finder gives for a waited-for name."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        with _lock:
            if fullname not in _waiting:
                return None
        for finder in list(sys.meta_path):
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if isinstance(spec.loader, importlib.abc.Loader):
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


class _Loader(importlib.abc.Loader):
    """Runs the module with its own loader, then the functions waiting for it."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its own loader: importlib.resources and inspect ask it.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _run_hooks(module)


_FINDER: Final = _Finder()
