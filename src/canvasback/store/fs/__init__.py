"""The store's file-system seam: every file the store reads, writes or lists goes through it.

:class:`FileSystem` (``protocol.py``) names the operations and their contract: atomic
writes, exclusive creates (the claims, leases and snapshot manifests), listings,
removal, and a local path that DuckDB and pyarrow read. :class:`LocalFileSystem`
(``local.py``), a local folder, is the first backend; ``s3.py``'s ``S3FileSystem``
(S3-compatible object storage, ``If-None-Match: *`` for exclusive creates; endpoint and
credentials in ``s3_settings.py``) the second, imported on its own: it needs the ``s3``
extra. Both pass the same contract tests (``tests/store/test_fs_contract.py``).
"""

from __future__ import annotations

from canvasback.store.fs.local import LocalFileSystem
from canvasback.store.fs.protocol import NAME_MAX, Entry, FileSystem, StorePathError, check_rel

__all__ = ["NAME_MAX", "Entry", "FileSystem", "LocalFileSystem", "StorePathError", "check_rel"]
