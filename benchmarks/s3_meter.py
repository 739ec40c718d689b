# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""What each figure of ``bench_s3.py`` cost on the server: requests and bytes, per bucket.

The server is the tests' SeaweedFS (``tests/seaweed_server.py``, loaded by its path);
its S3 API counts requests by type and bytes in and out per bucket, for every process
that talks to it, and nothing stands between client and server.
"""

from __future__ import annotations

import functools
import importlib.util
import operator
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    import common as c
    from seaweed_server import SeaweedFS, Traffic  # tests/seaweed_server.py, loaded below

SERVER_HELPER = Path(__file__).resolve().parents[1] / "tests" / "seaweed_server.py"


def _seaweed_server() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seaweed_server", SERVER_HELPER)
    if spec is None or spec.loader is None:
        msg = f"cannot load {SERVER_HELPER}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


weed = _seaweed_server()


weed = _seaweed_server()


class Meter:
    """The server's count of one bucket's requests and bytes, per figure."""

    def __init__(self, server: SeaweedFS, rec: c.Recorder, server_cpu: Callable[[], float]) -> None:
        self.server = server
        self.server_cpu = server_cpu
        """The server process's CPU seconds so far."""
        self.rec = rec
        self.bucket = ""
        self.traffic: dict[str, dict[str, Any]] = rec.info.setdefault("traffic", {})

    def now(self) -> Traffic:
        """The bucket's counts so far."""
        return self.server.traffic(self.bucket)

    def add(self, row_id: str, delta: Traffic, count: int) -> None:
        """Keep a figure's traffic, in all and per operation (``count`` operations)."""
        doc = delta.as_dict()
        doc["operations"] = count
        doc["per_operation"] = {
            "requests": delta.total / count,
            "bytes_in": delta.bytes_in / count,
            "bytes_out": delta.bytes_out / count,
            "by_type": {k: v / count for k, v in delta.requests.items()},
        }
        self.traffic[row_id] = doc

    def around(self, row_id: str, work: Callable[[], object], count: int) -> None:
        before = self.now()
        work()
        self.add(row_id, self.now() - before, count)

    def add_all(self, row_id: str, deltas: list[Traffic], count: int) -> None:
        """:meth:`add` of the sum of several measurements' traffic."""
        self.add(row_id, functools.reduce(operator.add, deltas), count)
