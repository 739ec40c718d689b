"""The store's tests on object storage: proxies in front of the S3 server that break it,
and the child processes that write and read through them (``Watched``).

The server itself (``seaweedfs``, ``s3_bucket``, ``s3_env``, and ``own_seaweedfs``, a
server of one test's own that it may stop and start again on the same data and ports)
is every test folder's: ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import queue
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import subprocess


class Watched:
    """A child process whose output is read as it comes: one JSON object a line.

    The test waits for a line that meets a condition (``until``), with a deadline; its
    error output is kept by a thread too, so a child never blocks on a full pipe.
    """

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None  # started with stdout=PIPE
        for line in self.popen.stdout:
            if line.strip():
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def _read_errors(self) -> None:
        assert self.popen.stderr is not None  # started with stderr=PIPE
        self.errors.extend(self.popen.stderr)

    def send(self, line: str) -> None:
        """Write a line to the child's input."""
        assert self.popen.stdin is not None  # started with stdin=PIPE
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def until(self, condition, *, timeout: float, what: str) -> dict[str, Any]:
        """The next line that meets ``condition``; fails after ``timeout`` s, or if it ends."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                last = self.seen[-1] if self.seen else "nothing"
                pytest.fail(
                    f"timed out after {timeout} s waiting for {what} (last: {last}):\n{self.stderr}"
                )
            if line is None:
                status = self.popen.wait(timeout=30)
                pytest.fail(f"the child ended ({status}) before {what}:\n{self.stderr}")
            self.seen.append(line)
            if condition(line):
                return line

    def wait(self, timeout: float) -> int:
        """Its exit status, once it ended (and its output is read)."""
        status = self.popen.wait(timeout=timeout)
        while (line := self.lines.get(timeout=timeout)) is not None:
            self.seen.append(line)
        return status

    @property
    def stderr(self) -> str:
        """What it wrote to its error output so far."""
        return "".join(self.errors)


@pytest.fixture
def watched():
    """``Watched``, as a fixture (tests are not a package)."""
    return Watched


def _helper_module(name: str):
    # Tests are not a package (--import-mode=importlib): load a helper by its path.
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _proxy_module():
    return _helper_module("s3_proxy")


@pytest.fixture
def s3_proxy(seaweedfs):
    """Start proxies in front of the server (``s3_proxy.py``): ``s3_proxy(strip=True, ...)``."""
    proxy_class = _proxy_module().S3Proxy
    with contextlib.ExitStack() as stack:

        def start(**options):
            return stack.enter_context(proxy_class(seaweedfs.endpoint, **options))

        yield start


@pytest.fixture
def s3_requests():
    """``s3_requests.py`` (this process's requests to object storage, counted and gated)."""
    return _helper_module("s3_requests")
