"""Moving in: MLflow stores and TensorBoard logs imported into a canvasback store.

``import_mlflow(uri)`` reads a ``mlruns`` folder directly (no MLflow needed), and a
``sqlite:///`` file, any other database URI MLflow reads, or a tracking server over
http(s) through MLflow's own client; ``import_tensorboard(logdir)`` reads event files
with TensorBoard's reader. Both write through canvasback's public API (runs keep their
ids), show a progress bar at a terminal, and return an :class:`ImportReport` of what
was carried over and what could not be. Run again, an import doubles nothing and
finishes what an interrupted one began (see :mod:`canvasback.importers.writer`).

Every metadata file of the source is read before anything is written: a source that is
not there, is not a store of that kind, or holds a corrupt ``meta.yaml`` leaves the
store unchanged. A source that fails later (a server's error) leaves every run written
so far whole, and the error says how many; the next import goes on from there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlparse
from urllib.request import url2pathname

from canvasback.importers.records import SourceNotFoundError, SourceReadError
from canvasback.importers.report import ImportReport

if TYPE_CHECKING:
    from canvasback._config import S3Address
    from canvasback.importers.records import Source

__all__ = [
    "ImportReport",
    "SourceNotFoundError",
    "SourceReadError",
    "import_mlflow",
    "import_tensorboard",
    "open_mlflow_source",
]

_SCHEME: Final = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
_SQLITE_HEADER: Final = b"SQLite format 3\x00"


def import_mlflow(
    uri: str | os.PathLike[str],
    store: str | os.PathLike[str] | S3Address | None = None,
    *,
    progress: bool = True,
) -> ImportReport:
    """Import an MLflow store (a mlruns folder, a database URI or a server) into a store.

    Parameters
    ----------
    uri
        A ``mlruns`` folder (or ``file:`` URI), an MLflow SQLite file or
        ``sqlite:///`` URI, a database URI MLflow reads (``postgresql://...``), or a
        tracking server (``http://host:5000``); all but a folder need
        ``pip install 'canvasback[mlflow]'``.
    store
        The canvasback store to write into (default: the current store).
    progress
        Show a progress bar (runs and metric points) when stderr is a terminal.

    """
    return _run(open_mlflow_source(os.fspath(uri)), store, "MLflow runs", progress=progress)


def import_tensorboard(
    logdir: str | os.PathLike[str],
    store: str | os.PathLike[str] | S3Address | None = None,
    *,
    experiment: str | None = None,
    progress: bool = True,
) -> ImportReport:
    """Import TensorBoard event files: one run per folder of them, in one experiment.

    ``experiment`` names it (default: the log folder's name). Scalars keep their steps
    and wall times, hparams become params; needs ``pip install 'canvasback[tensorboard]'``.
    """
    from canvasback.importers.tensorboard import TensorBoardSource  # noqa: PLC0415

    source = TensorBoardSource(Path(os.fspath(logdir)), experiment)
    return _run(source, store, "TensorBoard runs", progress=progress)


def open_mlflow_source(uri: str) -> Source:
    """The reader of an MLflow URI or path; ``SourceNotFoundError`` if there is no store."""
    from canvasback.importers import mlflow_client, mlflow_files  # noqa: PLC0415

    if uri.startswith("file:") or not _SCHEME.match(uri):
        path = Path(url2pathname(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)
        if not path.is_file():
            return mlflow_files.MlrunsSource(path)
        with path.open("rb") as fh:
            if fh.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                msg = (
                    f"{str(path)!r} is a file but no MLflow store (a mlruns folder or an "
                    "MLflow SQLite database)"
                )
                raise SourceNotFoundError(msg)
        uri = f"sqlite:///{path.resolve()}"
    if uri.startswith("sqlite:"):
        uri = f"sqlite:///{mlflow_client.check_sqlite(uri).resolve()}"
    return mlflow_client.MlflowClientSource(uri)


def _run(
    source: Source, store: str | os.PathLike[str] | S3Address | None, what: str, *, progress: bool
) -> ImportReport:
    """Read the source's records, then write them; the report of it all."""
    from canvasback.importers.progress import Progress  # noqa: PLC0415
    from canvasback.importers.registry_writer import RegistryWriter  # noqa: PLC0415
    from canvasback.importers.writer import RunWriter  # noqa: PLC0415
    from canvasback.registry import Client  # noqa: PLC0415

    experiments = source.experiments()
    runs = [run for experiment in experiments for run in source.runs(experiment)]
    models = source.registered_models()
    client = Client(store)
    report = ImportReport(source=source.uri, store=client.store.url)
    bar = Progress(len(runs), f"importing {what}", show=progress)
    writer = RunWriter(client, source, report, bar)
    try:
        ids = writer.experiment_ids(experiments)
        writer.write(runs, ids)
        writer.delete_experiments(experiments, ids)
        roots = {run.run_id: run.artifact_uri for run in runs}
        RegistryWriter(client, source.uri, report, roots).write(models)
    except SourceReadError as exc:
        msg = (
            f"{exc}. The import stopped there: {writer.completed} of {len(runs)} runs are in store "
            f"{report.store!r} whole; import again to go on from there"
        )
        raise SourceReadError(msg) from None
    finally:
        bar.close()
        client.flush()
    for note in source.passed_over():
        report.skip(note)
    return report
