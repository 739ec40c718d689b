"""The environment a run executes in: interpreter, machine, user and packages.

None of it changes within a process (a ``pip install`` in a running kernel is the
exception, and :func:`forget` is its remedy), so each answer is computed once per
process: listing the installed distributions takes ~50-200 ms, which no run should pay.
"""

from __future__ import annotations

import functools
import getpass
import importlib.metadata
import platform
import socket
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# Import name -> distribution name of the libraries whose versions a run is tagged
# with when it uses them (imported in the process, or by the notebook being run).
ML_LIBRARIES: Final[Mapping[str, str]] = {
    "catboost": "catboost",
    "datasets": "datasets",
    "jax": "jax",
    "keras": "keras",
    "lightgbm": "lightgbm",
    "numpy": "numpy",
    "onnx": "onnx",
    "pandas": "pandas",
    "polars": "polars",
    "pytorch_lightning": "pytorch-lightning",
    "lightning": "lightning",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "statsmodels": "statsmodels",
    "tensorflow": "tensorflow",
    "torch": "torch",
    "transformers": "transformers",
    "xgboost": "xgboost",
}


@functools.cache
def basics() -> dict[str, str]:
    """``canvasback.env.*`` tags that hold for the whole process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "user": user,
    }


@functools.cache
def installed_versions() -> dict[str, str]:
    """Every installed distribution's version, by normalised name."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = str(dist.metadata["Name"] or "")  # a broken install may lack it
        if name:
            found.setdefault(_normalise(name), dist.version)
    return found


@functools.cache
def requirements_text() -> bytes:
    """``name==version`` per installed distribution, sorted: the packages artifact."""
    lines = [f"{name}=={version}" for name, version in sorted(installed_versions().items())]
    return ("\n".join(lines) + "\n").encode()


def library_versions(modules: Iterable[str] | None = None) -> dict[str, str]:
    """Versions of the ML libraries among ``modules`` (default: those imported now)."""
    names = set(sys.modules) if modules is None else {m.partition(".")[0] for m in modules}
    versions = installed_versions()
    out: dict[str, str] = {}
    for module, dist in ML_LIBRARIES.items():
        if module in names:
            version = versions.get(_normalise(dist))
            if version is not None:
                out[dist] = version
    return out


def forget() -> None:
    """Compute everything again on the next run (after installing packages)."""
    basics.cache_clear()
    installed_versions.cache_clear()
    requirements_text.cache_clear()


def _normalise(name: str) -> str:
    # PEP 503: runs of -, _ and . are one dash, case-insensitive.
    out, dash = [], False
    for char in name.lower():
        if char in "-_.":
            if not dash:
                out.append("-")
            dash = True
        else:
            out.append(char)
            dash = False
    return "".join(out)
