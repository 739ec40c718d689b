"""Notebook widgets for canvasback.

They need the ``widgets`` extra (``pip install 'canvasback[widgets]'``). Importing this
package imports neither anywidget nor ipywidgets: each widget class lives in a private
module that is imported on first attribute access, so ``import canvasback`` stays cheap
for training scripts and works without the JavaScript bundles.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public widget class name -> private module that defines it; list each in __all__ too.
_LAZY: dict[str, str] = {
    "ChartView": ".chart_view",
    "Compare": ".compare",
    "Dashboard": ".dashboard",
    "dashboard": ".dashboard",
    "compare": ".compare",
    "LiveRun": ".live_run",
    "RegistryPanel": ".registry",
    "registry_panel": ".registry",
    "RunTable": ".run_table",
    "runs": ".run_table",
}

__all__: list[str] = [
    "ChartView",
    "Compare",
    "Dashboard",
    "LiveRun",
    "RegistryPanel",
    "RunTable",
    "compare",
    "dashboard",
    "registry_panel",
    "runs",
]


def load(name: str) -> Any:  # noqa: ANN401 - a widget class or function
    """The widget class or function ``name``, importing its module on first use.

    A widget function may share its module's name (``compare``), and importing a module
    binds that name here to the module: so callers ask this, not the attribute.
    """
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module_name, __name__), name)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a module attribute can be any widget class
    value = load(name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
