"""One copy of a front end's code per kernel, shared by every widget that draws with it.

anywidget keeps a widget's JavaScript in its ``_esm`` trait, and a saved notebook keeps
every widget's state, so ten charts saved the 0.9 MB vega bundle ten times. Here the
code of each bundle lives in one :class:`Runtime` model per kernel, gzipped (0.9 MB is
0.3 MB so; the browser's DecompressionStream unpacks it); the widgets' own
``_esm`` is the small loader of ``static/loader.js``, which finds the runtime through
the ``_runtime`` reference (or asks Python for it, see :meth:`BaseWidget`'s ``runtime``
request) and imports it once per page. The saved state then carries each bundle once.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from typing import TYPE_CHECKING, Final

import ipywidgets
import traitlets

from canvasback.widgets._paths import bundle

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["LOADER", "Runtime", "loader_source", "runtime"]

LOADER: Final = "loader"
_DIGEST_CHARS: Final = 16


class Runtime(ipywidgets.Widget):  # type: ignore[misc]  # ipywidgets is untyped
    """The code of one front-end bundle, as a model with no view of its own."""

    name = traitlets.Unicode("").tag(sync=True)
    digest = traitlets.Unicode("").tag(sync=True)
    """A hash of ``code``: pages import each digest once, whatever model brought it."""
    code = traitlets.Bytes(b"").tag(sync=True)
    """The bundle's JavaScript, gzipped."""

    def __repr__(self) -> str:
        return f"<Runtime {self.name!r} {self.digest}>"


_lock = threading.Lock()
_runtimes: dict[str, tuple[float, Runtime]] = {}


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]


def runtime(name: str) -> Runtime:
    """The kernel's runtime model of ``static/<name>.js`` (made on first use).

    A rebuilt bundle (``npm run dev``) or a closed model gets a fresh one.
    """
    path: Path = bundle(name)
    mtime = path.stat().st_mtime
    with _lock:
        held = _runtimes.get(name)
        if held is not None and held[0] == mtime and held[1].comm is not None:
            return held[1]
        code = path.read_text(encoding="utf-8")
        # mtime=0: the same bundle gives the same bytes, whenever it is packed.
        packed = gzip.compress(code.encode("utf-8"), compresslevel=9, mtime=0)
        model = Runtime(name=name, digest=_digest(code), code=packed)
        _runtimes[name] = (mtime, model)
        return model


def loader_source() -> str:
    """The loader's code, every shared widget's ``_esm``."""
    return bundle(LOADER).read_text(encoding="utf-8")
