"""A model's requirements, from the versions of the libraries this process imported.

MLflow infers requirements by loading the model in a subprocess (seconds); reading the
installed versions of the flavor's libraries and of the ML libraries already imported
costs microseconds and names the same packages for the models canvasback saves.
"""

from __future__ import annotations

import functools
import platform
import sys
from importlib import metadata
from typing import TYPE_CHECKING, Final

import yaml  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

# Imported module -> the distribution that provides it, for the libraries a model uses.
_DISTRIBUTIONS: Final = {
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "skops": "skops",
    "cloudpickle": "cloudpickle",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "statsmodels": "statsmodels",
}


@functools.cache
def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def pinned(distributions: Iterable[str]) -> list[str]:
    """``name==version`` for the installed ones among these distributions."""
    out = []
    for name in distributions:
        version = _version(name)
        if version is not None:
            out.append(f"{name}=={version}")
    return out


def infer(required: Iterable[str]) -> list[str]:
    """The flavor's libraries plus the ML libraries this process has imported, pinned."""
    imported = [d for m, d in _DISTRIBUTIONS.items() if m in sys.modules]
    return sorted(set(pinned([*required, *imported])))


def python_version() -> str:
    """The interpreter's version, as the ``python_function`` flavor records it."""
    return platform.python_version()


def write(folder: Path, requirements: list[str]) -> None:
    """``requirements.txt``, ``python_env.yaml`` and ``conda.yaml``, as MLflow writes them."""
    python = platform.python_version()
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    build = pinned(["pip", "setuptools", "wheel"])
    env = {"python": python, "build_dependencies": build, "dependencies": ["-r requirements.txt"]}
    (folder / "python_env.yaml").write_text(yaml.safe_dump(env, sort_keys=False))
    conda = {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", {"pip": requirements}],
    }
    (folder / "conda.yaml").write_text(yaml.safe_dump(conda, sort_keys=False))
