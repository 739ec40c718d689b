"""Where the store is.

An explicit argument, else ``set_store()``, else ``CANVASBACK_STORE``, else
``./canvasback-store`` next to the notebook or script.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

ENV_VAR: Final = "CANVASBACK_STORE"
DEFAULT_FOLDER: Final = "canvasback-store"

_chosen: Path | None = None


def set_default_store(root: str | os.PathLike[str] | None) -> None:
    """Make ``root`` this process's default store (None returns to the environment)."""
    global _chosen  # noqa: PLW0603  # the one process-wide setting, set by set_store()
    _chosen = None if root is None else Path(root).expanduser().absolute()


def resolve_store(root: str | os.PathLike[str] | None = None) -> Path:
    """The store folder to use for an optional explicit argument."""
    if root is not None:
        return Path(root).expanduser().absolute()
    if _chosen is not None:
        return _chosen
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().absolute()
    return Path.cwd() / DEFAULT_FOLDER
