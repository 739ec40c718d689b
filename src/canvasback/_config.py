"""Where the store is.

An explicit argument, else ``set_store()`` (the process's context passes its choice
here), else ``CANVASBACK_STORE``, else ``./canvasback-store`` next to the notebook or
script.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

ENV_VAR: Final = "CANVASBACK_STORE"
DEFAULT_FOLDER: Final = "canvasback-store"


def resolve_store(root: str | os.PathLike[str] | None = None) -> Path:
    """The store folder to use for an optional explicit (or chosen) root."""
    if root is not None:
        return Path(root).expanduser().absolute()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().absolute()
    return Path.cwd() / DEFAULT_FOLDER
