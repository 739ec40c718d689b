"""Blobs: content stored once per store, named by its SHA-256, on every backend.

Writers that race for one content each open the store on their own (as processes do),
so none knows the others wrote it; the file system's exclusive create decides.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.store.test_fs_contract import BACKENDS

from canvasback.store import layout
from canvasback.store.blobs import BlobError, Blobs

CONTENT = b"numpy==2.0.0\npandas==2.2.2\n" * 100
DIGEST = hashlib.sha256(CONTENT).hexdigest()


@pytest.mark.parametrize("backend", BACKENDS)
def test_racing_writers_of_one_content_leave_one_whole_blob(backend, request, tmp_path):
    stores = [Blobs(backend.make(request, tmp_path, "store")) for _ in range(8)]
    start = threading.Barrier(len(stores))

    def put(blobs: Blobs) -> str:
        start.wait(timeout=30)
        return blobs.put(CONTENT)

    with ThreadPoolExecutor(len(stores)) as pool:
        digests = list(pool.map(put, stores))
    assert digests == [DIGEST] * len(stores)
    fs = stores[0].fs
    assert fs.names(f"{layout.BLOBS_DIR}/sha256") == [DIGEST]
    assert fs.read_bytes(layout.blob_path(DIGEST)) == CONTENT
    assert stores[-1].size(DIGEST) == len(CONTENT)
    assert stores[-1].local_copy(DIGEST).read_bytes() == CONTENT


@pytest.mark.parametrize("backend", BACKENDS)
def test_content_that_does_not_match_its_digest_is_never_written(backend, request, tmp_path):
    blobs = Blobs(backend.make(request, tmp_path, "store"))
    with pytest.raises(BlobError, match="does not match its digest"):
        blobs.put(CONTENT, "0" * 64)
    assert blobs.fs.names(f"{layout.BLOBS_DIR}/sha256") == []
    assert blobs.put(CONTENT, DIGEST) == DIGEST  # the right one is
    assert blobs.put(CONTENT, DIGEST) == DIGEST


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC" * 21 + "D", "a" * 63, ""])
def test_a_digest_of_another_shape_names_no_file(bad, tmp_path):
    from canvasback.store.fs import LocalFileSystem  # noqa: PLC0415

    blobs = Blobs(LocalFileSystem(tmp_path / "store"))
    with pytest.raises(BlobError, match="64 lowercase hexadecimal digits"):
        blobs.size(bad)
    with pytest.raises(BlobError, match="64 lowercase hexadecimal digits"):
        blobs.local_copy(bad)
    assert blobs.size("f" * 64) is None
