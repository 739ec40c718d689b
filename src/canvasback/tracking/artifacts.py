"""Run artifacts: files under ``artifacts/<run_id>/`` of the store, indexed in a table.

A path given by a user can never leave the run's folder: absolute paths and ``..``
segments are refused before anything is written. Content that many runs log alike is
stored once and named by each run (:meth:`ArtifactStore.log_shared_bytes`,
``artifact_links.py``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from canvasback.store import layout, schema
from canvasback.tracking import artifact_links, validation
from canvasback.tracking.entities import FileInfo

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.store import Store


class RunIds(Protocol):
    """What artifacts need of a run: its ids (a run handle has them)."""

    @property
    def run_id(self) -> str:
        """The run's id: its artifacts live under ``artifacts/<run_id>/``."""

    @property
    def experiment_id(self) -> str:
        """The run's experiment: the partition of its index rows."""


# The last index timestamp this process gave, whichever client logged it: each index
# row gets a later one, so a file logged again within the same millisecond still gets a
# later row and the reader (newest timestamp wins) shows the new size, not the old one.
# One number, not one per file: it stays this size over a week-long sweep.
_last_indexed_ms = -1
_INDEX_LOCK = threading.Lock()


def _artifact_file(artifact_file: object) -> str:
    """A file name inside a run's artifacts (checked before any work is done)."""
    if not isinstance(artifact_file, str) or not artifact_file:
        msg = (
            f"Invalid artifact file {artifact_file!r}: a file name (a non-empty relative "
            "path string such as 'config.json') is required"
        )
        raise validation.InvalidInputError(msg)
    dest = validation.artifact_path(artifact_file, what="artifact file")
    if not dest:
        msg = f"Invalid artifact file {artifact_file!r}: a file name is required"
        raise validation.InvalidInputError(msg)
    return dest


class ArtifactStore:
    """Writes and lists the artifacts of runs of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _rel(self, run_id: str, artifact_path: str) -> str:
        base = f"{layout.ARTIFACTS_DIR}/{run_id}"
        rel = f"{base}/{artifact_path}" if artifact_path else base
        return self.store.fs.inside(rel)  # refuses anything that resolves outside the store

    def _index(self, run: RunIds, artifact_path: str, size: int) -> None:
        global _last_indexed_ms  # noqa: PLW0603 - the process's one clock of index rows
        with _INDEX_LOCK:
            now = max(time.time_ns() // 1_000_000, _last_indexed_ms + 1)
            _last_indexed_ms = now
        row = (run.run_id, artifact_path, size, now)
        self.store.writer.append("artifacts", run.experiment_id, row)

    def log_artifact(
        self, run: RunIds, local_path: str | os.PathLike[str], artifact_path: str | None
    ) -> None:
        """Copy one local file into the run's artifacts."""
        source = Path(local_path)
        if not source.is_file():
            what = "a folder (use log_artifacts)" if source.is_dir() else "missing"
            msg = f"Cannot log artifact {str(local_path)!r}: the file is {what}"
            raise FileNotFoundError(msg)
        if not os.access(source, os.R_OK):
            msg = f"Cannot log artifact {str(local_path)!r}: the file is not readable"
            raise PermissionError(msg)
        folder = validation.artifact_path(artifact_path)
        dest = validation.artifact_path(f"{folder}/{source.name}" if folder else source.name)
        size = self.store.fs.copy_in(source, self._rel(run.run_id, dest))
        self._index(run, dest, size)

    def log_artifacts(
        self, run: RunIds, local_dir: str | os.PathLike[str], artifact_path: str | None
    ) -> None:
        """Copy every file below a local folder into the run's artifacts."""
        source = Path(local_dir)
        if not source.is_dir():
            msg = f"Cannot log artifacts from {str(local_dir)!r}: it is not a folder"
            raise FileNotFoundError(msg)
        folder = validation.artifact_path(artifact_path)
        for file in sorted(p for p in source.rglob("*") if p.is_file()):
            sub = file.parent.relative_to(source).as_posix()
            parts = [p for p in (folder, "" if sub == "." else sub) if p]
            self.log_artifact(run, file, "/".join(parts) or None)

    def log_bytes(self, run: RunIds, data: bytes, artifact_file: str) -> None:
        """Write bytes as an artifact file."""
        dest = validation.artifact_path(artifact_file, what="artifact file")
        if not dest:
            msg = f"Invalid artifact file {artifact_file!r}: a file name is required"
            raise validation.InvalidInputError(msg)
        self.store.fs.write_bytes(self._rel(run.run_id, dest), data)
        self._index(run, dest, len(data))

    def log_shared_bytes(
        self,
        run: RunIds,
        data: bytes,
        artifact_file: str,
        *,
        digest: str | None = None,
        replace: bool = False,
    ) -> None:
        """Bytes that many runs log alike: stored once, in the store's blobs.

        The run gets an index row for the file, as for any artifact, and the tag that
        names its content (``artifact_links.py``), written even once the run has ended
        (a notebook's copy is taken then). ``digest``: the hex SHA-256 of ``data`` from an
        earlier call, which spares hashing it again. ``replace``: a file of the run's own
        at that path is removed, so the shared content is the one read. A path no tag
        key can spell is written as a file of the run's.
        """
        dest = _artifact_file(artifact_file)
        key = artifact_links.blob_tag(dest)
        if key is None:
            self.log_bytes(run, data, dest)
            return
        hex_digest = self.store.blobs.put(data, digest)
        if replace:
            self.store.fs.delete(self._rel(run.run_id, dest))
        self._index(run, dest, len(data))
        value = artifact_links.DIGEST_PREFIX + hex_digest
        self.store.writer.event(run.experiment_id, run.run_id, schema.EVENT_TAG, key, value)

    def log_dict(self, run: RunIds, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        """JSON, or YAML for a .yaml/.yml name."""
        artifact_file = _artifact_file(artifact_file)
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml  # type: ignore[import-untyped]  # noqa: PLC0415  # optional, as in MLflow

            text = yaml.safe_dump(dict(dictionary), sort_keys=False)
        else:
            text = json.dumps(dictionary, indent=2, default=str)
        self.log_bytes(run, text.encode(), artifact_file)

    def log_figure(self, run: RunIds, figure: Any, artifact_file: str) -> None:  # noqa: ANN401
        """A matplotlib figure (savefig) or a plotly figure (write_html / write_image)."""
        artifact_file = _artifact_file(artifact_file)
        suffix = Path(artifact_file).suffix.lstrip(".") or "png"
        buf = io.BytesIO()
        if hasattr(figure, "savefig"):
            figure.savefig(buf, format=suffix)
        elif hasattr(figure, "to_html") and suffix == "html":
            buf.write(figure.to_html().encode())
        elif hasattr(figure, "to_image"):
            buf.write(figure.to_image(format=suffix))
        else:
            msg = (
                f"Cannot log figure {type(figure).__name__} as {artifact_file!r}: "
                "a matplotlib or plotly figure is required"
            )
            raise TypeError(msg)
        self.log_bytes(run, buf.getvalue(), artifact_file)

    def log_image(self, run: RunIds, image: Any, artifact_file: str) -> None:  # noqa: ANN401
        """A PIL image, or a numpy array (HxW, HxWx3 or HxWx4; uint8, or floats in [0, 1])."""
        artifact_file = _artifact_file(artifact_file)
        try:
            from PIL import Image  # noqa: PLC0415  # optional, as in MLflow
        except ImportError as exc:
            msg = "log_image needs Pillow: pip install pillow"
            raise ImportError(msg) from exc
        if not isinstance(image, Image.Image):
            import numpy as np  # noqa: PLC0415  # arrives with pandas

            array = np.asarray(image)
            if array.dtype.kind == "f":
                if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 1):
                    msg = (
                        f"Invalid image for {artifact_file!r}: float pixel values must be in [0, 1]"
                    )
                    raise validation.InvalidInputError(msg)
                array = (array * 255).round().astype(np.uint8)
            channels = array.shape[2] if array.ndim == 3 else 0  # noqa: PLR2004  # HxWxC
            if array.ndim not in (2, 3) or channels not in (0, 1, 3, 4):
                msg = (
                    f"Invalid image shape {array.shape} for {artifact_file!r}: "
                    "HxW, HxWx1, HxWx3 or HxWx4 is required"
                )
                raise validation.InvalidInputError(msg)
            image = Image.fromarray(array[:, :, 0] if channels == 1 else array)
        buf = io.BytesIO()
        fmt = (Path(artifact_file).suffix.lstrip(".") or "png").upper()
        image.save(buf, format="JPEG" if fmt == "JPG" else fmt)
        self.log_bytes(run, buf.getvalue(), artifact_file)

    def log_table(self, run: RunIds, data: Any, artifact_file: str) -> None:  # noqa: ANN401
        """A DataFrame or dict of columns as MLflow's JSON table, or Parquet for .parquet."""
        artifact_file = _artifact_file(artifact_file)
        import pandas as pd  # noqa: PLC0415  # pandas loads when needed

        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        if artifact_file.endswith(".parquet"):
            buf = io.BytesIO()
            frame.to_parquet(buf, index=False)
            self.log_bytes(run, buf.getvalue(), artifact_file)
            return
        body = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
        text = json.dumps({"columns": body["columns"], "data": body["data"]})
        self.log_bytes(run, text.encode(), artifact_file)

    # -- reading ---------------------------------------------------------------------
    def load_table(self, run_id: str, artifact_file: str) -> Any:  # noqa: ANN401  # DataFrame
        """A table artifact as a DataFrame, None if the run has no such file."""
        import pandas as pd  # noqa: PLC0415  # pandas loads when needed

        rel = self._rel(run_id, validation.artifact_path(artifact_file))
        try:
            data = self.store.fs.read_bytes(rel)
        except (FileNotFoundError, IsADirectoryError):  # no such file (a folder is none)
            return None
        if rel.endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(data))
        body = json.loads(data)
        return pd.DataFrame(body["data"], columns=body["columns"])

    def list(
        self, run_id: str, path: str | None, links: Mapping[str, str] | None = None
    ) -> list[FileInfo]:
        """Entries directly under a path of a run's artifacts, folders first.

        ``links``: the run's files stored once (``artifact_links.linked_files`` of its tags).
        """
        folder = validation.artifact_path(path)
        rel = self._rel(run_id, folder)
        out = [
            FileInfo(
                f"{folder}/{e.name}" if folder else e.name,
                e.is_dir,
                None if e.is_dir else e.size,
            )
            for e in self.store.fs.list(rel)
            if not e.name.startswith(".")
        ]
        if links:
            out = artifact_links.listed(self.store, folder, out, links)
        return sorted(out, key=lambda f: (not f.is_dir, f.path))

    def download(
        self,
        run_id: str,
        path: str,
        dst_path: str | None,
        links: Mapping[str, str] | None = None,
    ) -> str:
        """Local path of an artifact; copied below ``dst_path`` if given.

        In a local store, the file or folder in the store itself; on object storage, a
        view of its current copies in the machine's cache (``store/fs/s3_local.py``).
        What holds files stored once (``links``, as for :meth:`list`) is made of copies of
        them, beside links to the run's own files, in a folder of the process's.
        """
        folder = validation.artifact_path(path)
        rel = self._rel(run_id, folder)
        linked = artifact_links.below(links, folder) if links else {}
        try:
            source = self.store.fs.local_copy(rel)
        except FileNotFoundError:
            if not linked:
                msg = f"Run {run_id!r} has no artifact {path!r}"
                raise FileNotFoundError(msg) from None
            source = None
        if source is None or (linked and source.is_dir()):  # None: only linked files there
            return artifact_links.materialise(
                self.store, source, rel.rsplit("/", 1)[-1], linked, dst_path
            )
        if dst_path is None:
            return str(source)
        dest = Path(dst_path) / source.name
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
        return str(dest)
