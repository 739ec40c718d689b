"""The store's tests on object storage: proxies in front of the S3 server that break it.

The server itself (``seaweedfs``, ``s3_bucket``, ``s3_env``) is every test folder's:
``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

import pytest


def _proxy_module():
    # Tests are not a package (--import-mode=importlib): load the proxy by its path.
    spec = importlib.util.spec_from_file_location(
        "s3_proxy", Path(__file__).with_name("s3_proxy.py")
    )
    module = importlib.util.module_from_spec(spec)
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
