"""The files a custom model carries in its folder: its code and its artifacts.

As MLflow saves them: ``code_paths`` are copied into the folder's ``code/`` (the
flavor's ``code``), which loading puts first on ``sys.path``, so a model whose class or
helpers live in the user's modules loads where those modules are not installed.
``artifacts`` are copied into ``artifacts/``: a local path, a ``file:`` URI, or a
``runs:/<run_id>/<path>`` or ``models:/...`` URI of the current store, fetched first.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit

from canvasback.registry import sources
from canvasback.registry.client import client
from canvasback.tracking import uris
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

CODE_DIR: Final = "code"
ARTIFACTS_DIR: Final = "artifacts"


def _copy(source: Path, dest: Path, what: str) -> None:
    if dest.exists():
        msg = (
            f"Invalid {what} {str(source)!r}: another one is named {dest.name!r} too, and "
            f"both would be {dest.parent.name}/{dest.name} in the model folder"
        )
        raise InvalidInputError(msg)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, dest)
    else:
        shutil.copy2(source, dest)


def copy_code(code_paths: Sequence[str | Path] | None, folder: Path) -> str | None:
    """Copy files and folders into the model's ``code/``; its name for the flavor, or None."""
    if not code_paths:
        return None
    if isinstance(code_paths, str | Path):
        msg = f"Invalid code_paths {code_paths!r}: a list of files or folders"
        raise InvalidInputError(msg)
    for given in code_paths:
        source = Path(given)
        if not source.exists():
            msg = f"Invalid code_paths entry {str(given)!r}: no such file or folder"
            raise InvalidInputError(msg)
        _copy(source, folder / CODE_DIR / source.name, "code_paths entry")
    return CODE_DIR


def add_code_to_path(folder: Path, conf: Mapping[str, Any]) -> None:
    """Put a model's ``code/`` first on ``sys.path`` (before its objects are unpickled)."""
    code = conf.get("code")
    if not code:
        return
    path = str(sources.model_file(folder, code))
    if path not in sys.path:
        sys.path.insert(0, path)


def _local_artifact(name: str, uri: str) -> Path:
    """The local file or folder an artifact URI names, fetched from the store if need be."""
    scheme = urlsplit(uri).scheme
    if uri.startswith(sources.MODELS_PREFIX):
        return client().locate_model(uri).path
    if uri.startswith("runs:/"):
        c = client()
        run_id, path = uris.parse_runs_uri(uri, c.store.address)
        return Path(c.download_artifacts(run_id, path))
    if scheme == "file":
        return Path(unquote(urlsplit(uri).path))
    if len(scheme) > 1:  # one letter is a Windows drive
        msg = (
            f"Invalid artifact {name!r}: {uri!r} is not a path, a file: URI, or a runs:/ or "
            "models:/ URI of the current store"
        )
        raise InvalidInputError(msg)
    return Path(uri)


def copy_artifacts(artifacts: Mapping[str, str] | None, folder: Path) -> dict[str, dict[str, str]]:
    """Copy each artifact into the model's ``artifacts/``; the flavor's record of them."""
    saved: dict[str, dict[str, str]] = {}
    for name, uri in (artifacts or {}).items():
        source = _local_artifact(name, str(uri))
        if not source.exists():
            msg = f"Invalid artifact {name!r}: {uri!r} does not exist"
            raise InvalidInputError(msg)
        _copy(source, folder / ARTIFACTS_DIR / source.name, f"artifact {name!r}")
        saved[name] = {"path": f"{ARTIFACTS_DIR}/{source.name}", "uri": str(uri)}
    return saved
