"""Where the store is.

An explicit argument, else ``set_store()`` (the process's context passes its choice
here), else ``CANVASBACK_STORE``, else ``./canvasback-store`` next to the notebook or
script.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from canvasback.exceptions import MlflowException

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


class MlflowStoreFolderError(MlflowException, ValueError):
    """A store path that is (or holds) an MLflow store: canvasback does not write into it."""


_SQLITE_HEADER: Final = b"SQLite format 3\x00"


def mlflow_store_at(root: Path) -> tuple[str, Path] | None:
    """What MLflow store ``root`` is or holds, and its path; None if it is none.

    A few stats, once per store a process opens: a file is MLflow's if it is a SQLite
    database; a folder is if it has the ``.trash`` folder MLflow's file store makes
    first, or, while it holds no canvasback store yet, a ``mlruns`` folder or an
    ``mlflow.db`` file.
    """
    found: tuple[str, Path] | None = None
    try:
        if root.is_file():
            with root.open("rb") as fh:
                sqlite = fh.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
            if sqlite:
                found = "a SQLite database (an MLflow tracking database)", root
        elif (root / ".trash").is_dir():
            found = "an MLflow file store (a mlruns folder)", root
        elif (root / "claims").is_dir():  # a canvasback store already: its own folder
            found = None
        elif (root / "mlruns").is_dir():
            found = "a folder that holds an MLflow file store (mlruns)", root / "mlruns"
        elif (root / "mlflow.db").is_file():
            found = "a folder that holds an MLflow database (mlflow.db)", root / "mlflow.db"
    except OSError:  # unreadable: the store's own checks say what is wrong
        return None
    return found


def refuse_mlflow_store(root: Path) -> None:
    """Raise if ``root`` is or holds an MLflow store, saying how to import it instead."""
    found = mlflow_store_at(root)
    if found is None:
        return
    what, source = found
    msg = (
        f"Store {str(root)!r} is {what}: canvasback does not write its files into MLflow's. "
        f"Import it into a store of its own: canvasback import-mlflow {source} "
        "--store <new path> (in Python: canvasback.import_mlflow(uri, store=...))"
    )
    raise MlflowStoreFolderError(msg)
