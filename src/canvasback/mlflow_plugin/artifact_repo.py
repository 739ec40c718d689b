"""The artifact repository of the ``canvasback`` scheme: a run's artifacts in its store.

A run's artifact URI (``canvasback:///store/artifacts/<run_id>``) could have been a
``file:`` URI, since the folder is local: MLflow would then copy files in with its own
local repository. But canvasback indexes every artifact a run logs (the run table's
detail view, the registry panel's model folders and ``sql()``'s ``artifacts`` view read
the index), and a file MLflow copied by itself would be in the folder and missing from
the index. So the plugin hands out its own scheme and writes through the run, as
canvasback's own ``log_artifact`` does; reads go to the folder. On object storage
(``canvasback:s3://bucket/prefix/artifacts/<run_id>``) the same calls upload through the
run, and reads are the local copies of canvasback's own downloads (the machine's cache).

The store's own URI makes a repository of all its runs' artifacts, by their paths in the
store (``artifacts/<run_id>/...``), on a disk or on object storage alike: ``mlflow server
--artifacts-destination`` names it so, and the files clients upload through the server
are written through their runs too (:mod:`.proxied`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow.entities import FileInfo
from mlflow.store.artifact.artifact_repo import ArtifactRepository as MlflowArtifactRepository

from canvasback.mlflow_plugin import clients, proxied, uris
from canvasback.mlflow_plugin.errors import refuse, translate_errors
from canvasback.mlflow_plugin.refusals import REFUSED_ARTIFACTS
from canvasback.models.mlmodel import MLMODEL
from canvasback.tracking import validation

if TYPE_CHECKING:
    import os

    from canvasback.registry import Client


@refuse(REFUSED_ARTIFACTS)
@translate_errors
class ArtifactRepository(MlflowArtifactRepository):
    """The files of a run (or of a folder of a run) of a canvasback store."""

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
    ) -> None:
        super().__init__(artifact_uri, tracking_uri, registry_uri)
        try:
            self.location = uris.artifact_location(artifact_uri, clients.known_roots())
        except uris.CanvasbackURIError as error:
            raise proxied.unreachable(artifact_uri, tracking_uri) or error from None

    @property
    def client(self) -> Client:
        """The canvasback client of the store."""
        return clients.client_for(self.location.root)

    def _in_run(self, artifact_path: str | None) -> tuple[str, str]:
        """The run and the path in its artifacts of a path below this repository (checked)."""
        return self.location.in_run(artifact_path)

    def log_artifact(
        self, local_file: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a local file into the folder (indexed in the store)."""
        run_id, path = self._in_run(artifact_path)
        self.client.handle(run_id).log_artifact(local_file, path or None)

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a local folder's files into the folder; an ``MLmodel`` file goes last.

        A folder becomes a model when its ``MLmodel`` lands, as with canvasback's own
        ``log_model``: a copy cut short leaves a folder that neither loads nor registers.
        """
        source = Path(local_dir)
        if not source.is_dir():
            msg = f"Cannot log artifacts from {str(local_dir)!r}: it is not a folder"
            raise FileNotFoundError(msg)
        run_id, folder = self._in_run(artifact_path)
        run = self.client.handle(run_id)
        files = sorted(p for p in source.rglob("*") if p.is_file())
        for file in sorted(files, key=lambda p: p.name == MLMODEL):  # stable: MLmodel last
            sub = file.parent.relative_to(source).as_posix()
            inner = "/".join(p for p in (folder, "" if sub == "." else sub) if p)
            run.log_artifact(file, validation.artifact_path(inner) or None)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Files and folders directly under a path, relative to this repository's folder."""
        run_id, inner = self._in_run(path)
        found = self.client.list_artifacts(run_id, inner or None)
        return [
            FileInfo(self.location.relative(run_id, f.path), f.is_dir, f.file_size) for f in found
        ]

    def get_local_path(self, artifact_path: str) -> str:
        """The local path of an artifact (on object storage: a copy in the machine's cache)."""
        return self.client.download_artifacts(*self._in_run(artifact_path))

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        shutil.copyfile(self.get_local_path(remote_file_path), local_path)
