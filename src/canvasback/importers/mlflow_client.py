"""MLflow stores read through MLflow's own client: databases and tracking servers.

``sqlite:///`` files, any other database URI MLflow reads, and tracking servers
(``http://``, ``https://``).

MLflow (``pip install 'canvasback[mlflow]'``) is imported here only. Every call to it is
wrapped: whatever MLflow raises (a database error, a server's 500 after MLflow's own
retries) becomes a ``SourceReadError`` naming the URI and what was being read.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import urlparse, urlunparse
from urllib.request import url2pathname

from canvasback.importers.records import (
    DatasetRecord,
    ExperimentRecord,
    LoggedModelRecord,
    MetricSeries,
    RegisteredModelRecord,
    RunContent,
    RunRecord,
    SourceNotFoundError,
    SourceReadError,
    VersionRecord,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_T = TypeVar("_T")
_PAGE: Final = 1000


class MissingMlflowError(SourceNotFoundError):
    """A source that needs MLflow's client, which is not installed."""


def redacted(uri: str) -> str:
    """A URI without the password it may hold (it names imported runs in their tags)."""
    parts = urlparse(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunparse(parts._replace(netloc=netloc))


def check_sqlite(uri: str) -> Path:
    """The file of a ``sqlite:///`` URI, refused unless it is an MLflow database.

    MLflow creates its tables in any database it opens: a wrong path must not become an
    empty MLflow database, nor another program's database gain MLflow's tables.
    """
    path = Path(url2pathname(urlparse(uri).path)).expanduser()
    if not path.is_file():
        msg = f"MLflow database {str(path)!r} (from {uri!r}) does not exist"
        raise SourceNotFoundError(msg)
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        msg = f"{str(path)!r} is not an MLflow database: {exc}"
        raise SourceNotFoundError(msg) from None
    if not {"experiments", "runs", "alembic_version"} <= tables:
        msg = f"{str(path)!r} is a SQLite database but not MLflow's (no experiments, runs tables)"
        raise SourceNotFoundError(msg)
    return path


class MlflowClientSource:
    """A tracking store (and its registry) read with ``mlflow.MlflowClient``."""

    def __init__(self, uri: str) -> None:
        self.uri = redacted(uri)
        try:
            from mlflow.tracking import MlflowClient  # noqa: PLC0415  # optional, heavy
        except ImportError:
            msg = (
                f"Reading {self.uri!r} needs MLflow's client: pip install 'canvasback[mlflow]' "
                "(a mlruns folder needs none)"
            )
            raise MissingMlflowError(msg) from None
        from mlflow.entities import ViewType  # noqa: PLC0415

        self._all = ViewType.ALL
        self._client = self._call(
            "opening the store", lambda: MlflowClient(tracking_uri=uri, registry_uri=uri)
        )
        self._runs: dict[str, Any] = {}
        self._models: dict[str, dict[str, list[LoggedModelRecord]]] = {}
        self._passed: list[str] = []

    def _call(self, doing: str, call: Callable[[], _T]) -> _T:
        from mlflow.exceptions import MlflowException  # noqa: PLC0415

        try:
            return call()
        except (MlflowException, OSError, ValueError, RuntimeError) as exc:
            detail = " ".join(str(exc).split())[:500]
            msg = f"MLflow at {self.uri!r} failed while {doing}: {detail}"
            raise SourceReadError(msg) from None

    def _pages(self, doing: str, search: Callable[[str | None], Any]) -> list[Any]:
        out: list[Any] = []
        token: str | None = None
        while True:
            page = self._call(doing, functools.partial(search, token))
            out.extend(page)
            token = page.token
            if not token:
                return out

    def passed_over(self) -> list[str]:
        """Logged models without a run, and other records canvasback does not keep."""
        return list(self._passed)

    # -- experiments and runs --------------------------------------------------------
    def experiments(self) -> list[ExperimentRecord]:
        """Every experiment, deleted ones too."""
        found = self._pages(
            "listing experiments",
            lambda t: self._client.search_experiments(
                view_type=self._all, max_results=_PAGE, page_token=t
            ),
        )
        return [
            ExperimentRecord(
                experiment_id=str(e.experiment_id),
                name=e.name,
                deleted=e.lifecycle_stage == "deleted",
                tags=dict(e.tags),
            )
            for e in found
        ]

    def runs(self, experiment: ExperimentRecord) -> list[RunRecord]:
        """Every run of an experiment, with its params and tags (kept for its content)."""
        found = self._pages(
            f"listing the runs of experiment {experiment.experiment_id}",
            lambda t: self._client.search_runs(
                [experiment.experiment_id],
                run_view_type=self._all,
                max_results=_PAGE,
                page_token=t,
            ),
        )
        records = []
        for run in found:
            info = run.info
            self._runs[info.run_id] = run
            records.append(
                RunRecord(
                    run_id=info.run_id,
                    experiment_id=experiment.experiment_id,
                    name=info.run_name or run.data.tags.get("mlflow.runName", ""),
                    status=info.status,
                    start_time=info.start_time,
                    end_time=info.end_time,
                    user_id=info.user_id,
                    parent_run_id=run.data.tags.get("mlflow.parentRunId"),
                    deleted=info.lifecycle_stage == "deleted",
                    where=f"{self.uri} experiment {experiment.experiment_id}",
                    artifact_uri=info.artifact_uri or "",
                )
            )
        return records

    @contextlib.contextmanager
    def content(self, run: RunRecord) -> Iterator[RunContent]:
        """A run's params, tags, datasets, metric histories, files and logged models."""
        mlrun = self._runs[run.run_id]
        with tempfile.TemporaryDirectory(prefix="canvasback-import-") as tmp:
            yield RunContent(
                params=dict(mlrun.data.params),
                tags=dict(mlrun.data.tags),
                datasets=[_dataset(d) for d in mlrun.inputs.dataset_inputs] if mlrun.inputs else [],
                metrics=self._histories(run.run_id, sorted(mlrun.data.metrics)),
                artifacts=self._artifacts(run, Path(tmp)),
                models=self._logged_models(run.experiment_id).get(run.run_id, []),
            )

    def _histories(self, run_id: str, keys: list[str]) -> Iterator[MetricSeries]:
        for key in keys:
            points = self._call(
                f"reading metric {key!r} of run {run_id}",
                functools.partial(self._client.get_metric_history, run_id, key),
            )
            yield MetricSeries(
                key=key,
                steps=[p.step for p in points],
                timestamps=[p.timestamp for p in points],
                values=[float(p.value) for p in points],
            )

    def _artifacts(self, run: RunRecord, tmp: Path) -> Path | None:
        local = _local_dir(run.artifact_uri)
        if local is not None:
            return local if local.is_dir() else None
        listed = self._call(
            f"listing the artifacts of run {run.run_id}",
            lambda: self._client.list_artifacts(run.run_id),
        )
        if not listed:
            return None
        dest = tmp / "artifacts"
        dest.mkdir()
        self._call(
            f"downloading the artifacts of run {run.run_id}",
            lambda: self._client.download_artifacts(run.run_id, "", str(dest)),
        )
        return dest

    def _logged_models(self, experiment_id: str) -> dict[str, list[LoggedModelRecord]]:
        cached = self._models.get(experiment_id)
        if cached is not None:
            return cached
        by_run: dict[str, list[LoggedModelRecord]] = {}
        self._models[experiment_id] = by_run
        found = self._pages(
            f"listing the logged models of experiment {experiment_id}",
            lambda t: self._client.search_logged_models(
                experiment_ids=[experiment_id], max_results=_PAGE, page_token=t
            ),
        )
        for model in found:
            run = self._runs.get(model.source_run_id or "")
            own_params = dict(model.params or {}).items() - (
                dict(run.data.params).items() if run is not None else set()
            )
            record = LoggedModelRecord(
                model_id=model.model_id,
                name=model.name or "model",
                source_run_id=model.source_run_id,
                tags=dict(model.tags or {}),
                has_params_or_metrics=bool(own_params or model.metrics),
                artifacts=model.artifact_location or "",
            )
            if model.source_run_id is None:
                self._passed.append(f"logged model {model.model_id}: it has no run")
            else:
                by_run.setdefault(model.source_run_id, []).append(record)
        return by_run

    @contextlib.contextmanager
    def model_files(self, model: LoggedModelRecord) -> Iterator[Path]:
        """A logged model's files: its folder if local, else a download of it."""
        local = _local_dir(model.artifacts)
        if local is not None:
            yield local
            return
        from mlflow.artifacts import download_artifacts  # noqa: PLC0415

        with tempfile.TemporaryDirectory(prefix="canvasback-model-") as tmp:
            path = self._call(
                f"downloading logged model {model.model_id}",
                lambda: download_artifacts(
                    artifact_uri=model.artifacts,
                    dst_path=tmp,
                    tracking_uri=self._client.tracking_uri,
                ),
            )
            yield Path(path)

    # -- the registry ----------------------------------------------------------------
    def registered_models(self) -> list[RegisteredModelRecord]:
        """Every registered model with its versions, aliases and tags."""
        models = self._pages(
            "listing registered models",
            lambda t: self._client.search_registered_models(max_results=_PAGE, page_token=t),
        )
        records = []
        for model in models:
            quote = "'" if "'" not in model.name else '"'
            versions = self._pages(
                f"listing the versions of registered model {model.name!r}",
                functools.partial(self._versions_page, f"name = {quote}{model.name}{quote}"),
            )
            records.append(
                RegisteredModelRecord(
                    name=model.name,
                    description=model.description or None,
                    tags=dict(model.tags),
                    aliases={a: int(v) for a, v in dict(model.aliases or {}).items()},
                    versions=sorted((_version(v) for v in versions), key=lambda v: v.version),
                )
            )
        return records

    def _versions_page(self, filter_string: str, token: str | None) -> Any:  # noqa: ANN401
        return self._client.search_model_versions(
            filter_string, max_results=_PAGE, page_token=token
        )


def _dataset(dataset_input: Any) -> DatasetRecord:  # noqa: ANN401  # mlflow.entities.DatasetInput
    dataset = dataset_input.dataset
    context = next((t.value for t in dataset_input.tags if t.key == "mlflow.data.context"), "")
    return DatasetRecord(
        name=dataset.name,
        digest=dataset.digest,
        source_type=dataset.source_type or "",
        source=dataset.source or "",
        schema=dataset.schema or "",
        profile=dataset.profile or "",
        context=context or "",
    )


def _version(version: Any) -> VersionRecord:  # noqa: ANN401  # mlflow's ModelVersion
    return VersionRecord(
        version=int(version.version),
        source=version.source or "",
        run_id=version.run_id or None,
        description=version.description or None,
        stage=version.current_stage or "None",
        status=str(version.status or "READY"),
        tags=dict(version.tags or {}),
    )


def _local_dir(uri: str) -> Path | None:
    """The local folder of a ``file:`` URI or a plain path; None for a remote URI."""
    if uri.startswith("file:"):
        return Path(url2pathname(urlparse(uri).path))
    if uri.startswith("/"):
        return Path(uri)
    return None
