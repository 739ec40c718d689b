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
    "RunTable": ".run_table",
    "runs": ".run_table",
}

__all__: list[str] = [
    "ChartView",
    "Compare",
    "Dashboard",
    "LiveRun",
    "RunTable",
    "compare",
    "dashboard",
    "runs",
]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a module attribute can be any widget class
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
