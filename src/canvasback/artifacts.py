"""MLflow's ``mlflow.artifacts`` calls over the current store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback.tracking import current
from canvasback.tracking.uris import parse_runs_uri

if TYPE_CHECKING:
    from canvasback.tracking.entities import FileInfo


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
) -> str:
    """Local path of a run's artifact (a file or a folder), copied to ``dst_path`` if given.

    Name the artifact by ``artifact_uri`` (``runs:/<run_id>/<path>``, or the run's
    ``artifact_uri`` with a path below it) or by ``run_id`` and ``artifact_path``.
    """
    if artifact_uri is not None:
        if run_id is not None or artifact_path is not None:
            msg = "download_artifacts takes artifact_uri, or run_id with artifact_path, not both"
            raise ValueError(msg)
        run_id, artifact_path = parse_runs_uri(artifact_uri, current.client().store.address)
    if run_id is None:
        msg = "download_artifacts needs artifact_uri or run_id"
        raise ValueError(msg)
    return current.client().download_artifacts(run_id, artifact_path or "", dst_path)


def list_artifacts(
    artifact_uri: str | None = None, run_id: str | None = None, artifact_path: str | None = None
) -> list[FileInfo]:
    """Files and folders directly under a path of a run's artifacts."""
    if artifact_uri is not None:
        run_id, artifact_path = parse_runs_uri(artifact_uri, current.client().store.address)
    if run_id is None:
        msg = "list_artifacts needs artifact_uri or run_id"
        raise ValueError(msg)
    return current.client().list_artifacts(run_id, artifact_path)
