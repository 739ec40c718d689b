"""The example notebooks under nbval (``make test``): object storage for those that need it.

``scale_out.ipynb`` logs into the store that ``CANVASBACK_SCALE_OUT_STORE`` names. Here
that is a bucket of a SeaweedFS server this session starts (``tests/seaweed_server.py``,
as the tests' and benchmarks' servers are), stopped when the session ends. nbval starts
a notebook's kernel as its first cell is set up, so the variables (the store, the AWS
variables of the server, a cache folder of the session's) are set just before that, for
the kernel and the worker processes it starts, and taken back once its last cell ran:
the tests that run in this process afterwards see the environment they had. A store
named in ``CANVASBACK_SCALE_OUT_STORE`` already (with its AWS variables) is used as it is.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from types import ModuleType

NEEDS_S3: Final = frozenset({"scale_out.ipynb"})
STORE_ENV: Final = "CANVASBACK_SCALE_OUT_STORE"
_HELPER: Final = Path(__file__).resolve().parents[1] / "tests" / "seaweed_server.py"
_state: dict[str, Any] = {}


def _seaweed_server() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seaweed_server", _HELPER)
    if spec is None or spec.loader is None:
        msg = f"cannot load {_HELPER}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _server() -> Any:  # noqa: ANN401  # seaweed_server.WeedServer, loaded by its path
    """The session's server, started on first use."""
    if "weed" not in _state:
        folder = Path(tempfile.mkdtemp(prefix="canvasback-notebooks-s3-"))
        weed = _seaweed_server().WeedServer(folder)
        _state["folder"] = folder
        _state["weed"] = weed
        weed.start()
    return _state["weed"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a notebook that needs it starts its kernel: its store and server's variables."""
    if item.path.name not in NEEDS_S3 or item.path in _state.get("saved", {}):
        return
    if os.environ.get(STORE_ENV):
        return  # a store of the caller's (their own S3, their variables)
    weed = _server()
    values = {
        **weed.server.env,
        STORE_ENV: f"s3://{weed.server.new_bucket('nb')}/{item.path.stem}",
        "XDG_CACHE_HOME": str(_state["folder"] / "cache"),
    }
    _state.setdefault("saved", {})[item.path] = {k: os.environ.get(k) for k in values}
    os.environ.update(values)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After a notebook's last cell: the environment as it was."""
    saved = _state.get("saved", {})
    if item.path in saved and (nextitem is None or nextitem.path != item.path):
        for key, value in saved.pop(item.path).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The server stopped, its data removed."""
    del session
    weed = _state.pop("weed", None)
    if weed is not None:
        weed.stop()
        shutil.rmtree(_state.pop("folder"), ignore_errors=True)
