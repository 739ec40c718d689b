"""Where the built front ends are: ``static/<entry>.js``, built from ``js/``."""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC", "bundle"]

STATIC = Path(__file__).parents[1] / "static"


def bundle(name: str) -> Path:
    """Path of the built front end ``static/<name>.js``, for a widget's ``_esm``.

    Raises
    ------
    FileNotFoundError
        If the bundle has not been built, naming the commands that build it.

    """
    path = STATIC / f"{name}.js"
    if not path.is_file():
        msg = (
            f"The widget bundle {path} is missing. canvasback's JavaScript is built "
            "from js/ with Node.js: run `npm ci && npm run build` in the repository "
            "root (then reinstall if canvasback is not an editable install)."
        )
        raise FileNotFoundError(msg)
    return path
