"""The environment a run executes in: interpreter, machine, user and packages.

None of it changes within a process (a ``pip install`` in a running kernel is the
exception, and :func:`forget` is its remedy), so each answer is computed once per
process. Listing the installed distributions reads each one's metadata header alone
(~8 ms for a few hundred; parsing whole metadata files as importlib.metadata's
``dist.metadata`` does took ~50-170 ms), in the first captured run of a process.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import platform
import socket
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import importlib.metadata
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
    """Every installed distribution's version, by normalised name (the first on the path)."""
    import importlib.metadata  # noqa: PLC0415  # ~30 ms, for the first captured run only

    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name, version = name_and_version(dist)
        if name:  # a broken install may lack it
            found.setdefault(_normalise(name), version)
    return found


def name_and_version(dist: importlib.metadata.Distribution) -> tuple[str, str]:
    """A distribution's ``Name`` and ``Version``, as ``dist.metadata`` gives them.

    From the metadata's header lines alone, the file read as ``dist.metadata`` reads it:
    parsing the whole file as an email message (its long description too) is what makes
    ``dist.metadata`` slow, and these two fields are never folded over lines.
    """
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("") or ""
    found: dict[str, str] = {}
    for line in text.partition("\n\n")[0].splitlines():
        if line[:1] in (" ", "\t"):  # the rest of a folded field
            continue
        field, sep, value = line.partition(":")
        if not sep:  # a blank line, or any line of no field: the header has ended
            break
        field = field.lower()
        if field in ("name", "version") and field not in found:
            found[field] = value.lstrip(" \t")
    return found.get("name", ""), found.get("version", "")


@functools.cache
def requirements() -> tuple[bytes, str]:
    """The packages artifact, ``name==version`` per installed distribution, and its sha256.

    Computed once per process: every run of the process names the same content.
    """
    lines = [f"{name}=={version}" for name, version in sorted(installed_versions().items())]
    text = ("\n".join(lines) + "\n").encode()
    return text, hashlib.sha256(text).hexdigest()


def library_versions(modules: Iterable[str] | None = None) -> dict[str, str]:
    """Versions of the ML libraries among ``modules`` (default: those imported now)."""
    # sys.modules itself, not a set of it: a run asks it of some 20 names, not 1,000+.
    names = sys.modules if modules is None else {m.partition(".")[0] for m in modules}
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
    requirements.cache_clear()


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
