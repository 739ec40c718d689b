"""An MLflow file store (a ``mlruns`` folder) read as MLflow's ``FileStore`` lays it out.

No MLflow import: MLflow 3.13 and later refuse to open file stores, and a folder is all
this needs. The layout (``mlflow/store/tracking/file_store.py`` and
``mlflow/store/model_registry/file_store.py``)::

    <root>/<experiment id>/meta.yaml          experiment (deleted ones under .trash/)
    <root>/<experiment id>/tags/<key>         experiment tags (file content: the value)
    <root>/<experiment id>/<run id>/meta.yaml run: status as RunStatus' number, times, user
    .../<run id>/params/<key>, tags/<key>     values as file content (keys may hold '/')
    .../<run id>/metrics/<key>                lines "timestamp value step [...]"
    .../<run id>/inputs/<id>/meta.yaml        a dataset input: its id and tags (context)
    <root>/<experiment id>/datasets/<id>/meta.yaml   the dataset itself
    <root>/<experiment id>/models/<model id>/ a logged model: meta.yaml, artifacts/, tags/,
                                              params/, metrics/
    <root>/models/<name>/meta.yaml, tags/, aliases/<alias> (the version), version-<n>/
                                              the model registry

Every ``meta.yaml`` of experiments, runs and the registry is read before anything is
written, so a corrupt one stops the import with the store unchanged; a folder without
one is not MLflow's (MLflow passes it over too) and the report says so.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlparse
from urllib.request import url2pathname

import yaml  # type: ignore[import-untyped]

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
    from collections.abc import Iterator

_META: Final = "meta.yaml"
_TRASH: Final = ".trash"
_REGISTRY: Final = "models"
_RESERVED: Final = frozenset({"tags", "datasets", "traces", "models"})
# MLflow's RunStatus numbers, as meta.yaml holds them.
_STATUSES: Final = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_MODEL_READY: Final = 2  # LoggedModelStatus.READY
_DELETED_VERSION: Final = "Deleted_Internal"
_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class MlrunsSource:
    """A ``mlruns`` folder, read directly."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.uri = str(self.root)
        if not self.root.is_dir():
            what = "does not exist" if not self.root.exists() else "is not a folder"
            msg = f"MLflow store {self.uri!r} {what}"
            raise SourceNotFoundError(msg)
        self._experiment_dirs: dict[str, Path] = {}
        self._models: dict[str, dict[str, list[LoggedModelRecord]]] = {}
        self._model_params: dict[str, dict[str, str]] = {}
        self._passed: list[str] = []
        if not self._looks_like_mlruns():
            msg = (
                f"{self.uri!r} is not an MLflow store: it has no .trash folder and no "
                "experiment folder (a folder with a meta.yaml naming its experiment_id)"
            )
            raise SourceNotFoundError(msg)

    def _looks_like_mlruns(self) -> bool:
        if (self.root / _TRASH).is_dir():
            return True
        for child in self.root.iterdir():
            if child.is_dir() and (child / _META).is_file():
                with contextlib.suppress(SourceReadError):
                    if "experiment_id" in _read_yaml(child / _META):
                        return True
        return False

    def passed_over(self) -> list[str]:
        """Folders found that hold no MLflow record (MLflow passes them over as well)."""
        return list(self._passed)

    # -- experiments and runs --------------------------------------------------------
    def experiments(self) -> list[ExperimentRecord]:
        """Every experiment folder's ``meta.yaml`` and tags, deleted ones too."""
        found: list[ExperimentRecord] = []
        trash = self.root / _TRASH
        folders = [(p, False) for p in _subdirs(self.root) if p.name not in (_TRASH, _REGISTRY)]
        folders += [(p, True) for p in _subdirs(trash)] if trash.is_dir() else []
        for folder, trashed in folders:
            meta_path = folder / _META
            if not meta_path.is_file():
                self._passed.append(f"folder {str(folder)!r}: no meta.yaml, not an experiment")
                continue
            meta = _read_yaml(meta_path)
            experiment_id = str(_field(meta, "experiment_id", meta_path))
            if experiment_id != folder.name:
                self._passed.append(
                    f"folder {str(folder)!r}: its meta.yaml names experiment {experiment_id}; "
                    "MLflow ignores it too"
                )
                continue
            self._experiment_dirs[experiment_id] = folder
            found.append(
                ExperimentRecord(
                    experiment_id=experiment_id,
                    name=str(_field(meta, "name", meta_path)),
                    deleted=trashed or meta.get("lifecycle_stage") == "deleted",
                    tags=_values(folder / "tags"),
                )
            )
        return found

    def runs(self, experiment: ExperimentRecord) -> list[RunRecord]:
        """Every run folder's ``meta.yaml`` of an experiment."""
        folder = self._experiment_dirs[experiment.experiment_id]
        runs: list[RunRecord] = []
        for run_dir in _subdirs(folder):
            if run_dir.name in _RESERVED:
                continue
            meta_path = run_dir / _META
            if not meta_path.is_file():
                self._passed.append(f"folder {str(run_dir)!r}: no meta.yaml, not a run")
                continue
            run = self._run(run_dir, meta_path)
            if run.experiment_id != experiment.experiment_id:
                self._passed.append(
                    f"folder {str(run_dir)!r}: its meta.yaml names experiment "
                    f"{run.experiment_id}; MLflow ignores it too"
                )
                continue
            runs.append(run)
        return runs

    def _run(self, run_dir: Path, meta_path: Path) -> RunRecord:
        meta = _read_yaml(meta_path)
        run_id = str(_field(meta, "run_id", meta_path))
        if run_id != run_dir.name:
            msg = f"Corrupt MLflow file {str(meta_path)!r}: it names run {run_id!r}"
            raise SourceReadError(msg)
        status = meta.get("status", 1)
        if status not in _STATUSES:
            msg = f"Corrupt MLflow file {str(meta_path)!r}: status {status!r} is no run status"
            raise SourceReadError(msg)
        start, end = meta.get("start_time"), meta.get("end_time")
        if not isinstance(start, int) or not isinstance(end, int | None):
            msg = (
                f"Corrupt MLflow file {str(meta_path)!r}: start_time {start!r} and end_time "
                f"{end!r} must be milliseconds"
            )
            raise SourceReadError(msg)
        parent = run_dir / "tags" / "mlflow.parentRunId"
        return RunRecord(
            run_id=run_id,
            experiment_id=str(meta.get("experiment_id")),
            name=str(meta.get("run_name") or _text(run_dir / "tags" / "mlflow.runName") or ""),
            status=_STATUSES[status],
            start_time=start,
            end_time=end,
            user_id=None if meta.get("user_id") is None else str(meta["user_id"]),
            parent_run_id=_text(parent) if parent.is_file() else None,
            deleted=meta.get("lifecycle_stage") == "deleted",
            where=str(run_dir),
            artifact_uri=str(meta.get("artifact_uri") or ""),
        )

    # -- a run's content -------------------------------------------------------------
    @contextlib.contextmanager
    def content(self, run: RunRecord) -> Iterator[RunContent]:
        """Params, tags, datasets, metric files, artifacts and logged models of a run."""
        run_dir = Path(run.where)
        params = _values(run_dir / "params")
        content = RunContent(
            params=params,
            tags=_values(run_dir / "tags"),
            datasets=self._datasets(run_dir),
            metrics=_metric_files(run_dir / "metrics"),
            artifacts=_local_folder(run.artifact_uri, run_dir / "artifacts"),
        )
        if content.artifacts is None and run.artifact_uri and "://" in run.artifact_uri:
            content.not_carried.append(
                f"artifacts at {run.artifact_uri!r} (not a local folder; import through "
                "MLflow's client, a tracking server's URI, to download them)"
            )
        for model in self._logged_models(run.experiment_id).get(run.run_id, []):
            own = self._model_params[model.model_id].items() - params.items()
            if own and not model.has_params_or_metrics:
                model = LoggedModelRecord(**{**model.__dict__, "has_params_or_metrics": True})  # noqa: PLW2901
            content.models.append(model)
        yield content

    def _datasets(self, run_dir: Path) -> list[DatasetRecord]:
        inputs = run_dir / "inputs"
        if not inputs.is_dir():
            return []
        datasets_dir = run_dir.parent / "datasets"
        found: list[DatasetRecord] = []
        for input_dir in _subdirs(inputs):
            link = _read_yaml(input_dir / _META)
            if link.get("source_type") != "DATASET":
                continue
            meta_path = datasets_dir / str(link.get("source_id")) / _META
            if not meta_path.is_file():
                msg = f"MLflow dataset input {str(input_dir)!r} names a dataset that is missing"
                raise SourceReadError(msg)
            meta = _read_yaml(meta_path)
            tags = link.get("tags") or {}
            found.append(
                DatasetRecord(
                    name=str(_field(meta, "name", meta_path)),
                    digest=str(_field(meta, "digest", meta_path)),
                    source_type=str(meta.get("source_type") or ""),
                    source=str(meta.get("source") or ""),
                    schema=str(meta.get("schema") or ""),
                    profile=str(meta.get("profile") or ""),
                    context=str(tags.get("mlflow.data.context") or ""),
                )
            )
        return found

    def _logged_models(self, experiment_id: str) -> dict[str, list[LoggedModelRecord]]:
        """An experiment's logged models by the run that produced them (read once)."""
        cached = self._models.get(experiment_id)
        if cached is not None:
            return cached
        by_run: dict[str, list[LoggedModelRecord]] = {}
        self._models[experiment_id] = by_run
        models_dir = self._experiment_dirs[experiment_id] / "models"
        for folder in _subdirs(models_dir) if models_dir.is_dir() else []:
            meta_path = folder / _META
            if not meta_path.is_file():
                continue
            meta = _read_yaml(meta_path)
            model_id = str(_field(meta, "model_id", meta_path))
            run_id = meta.get("source_run_id")
            self._model_params[model_id] = _values(folder / "params")
            record = LoggedModelRecord(
                model_id=model_id,
                name=str(meta.get("name") or "model"),
                source_run_id=None if run_id is None else str(run_id),
                tags=_values(folder / "tags"),
                has_params_or_metrics=bool(_values(folder / "metrics")),
                artifacts=str(
                    _local_folder(str(meta.get("artifact_location") or ""), folder / "artifacts")
                    or ""
                ),
            )
            if record.source_run_id is None:
                self._passed.append(f"logged model {model_id} ({str(folder)!r}): it has no run")
            else:
                by_run.setdefault(record.source_run_id, []).append(record)
            if meta.get("status") != _MODEL_READY:
                self._passed.append(
                    f"logged model {model_id} ({str(folder)!r}): it was not READY in MLflow"
                )
        return by_run

    @contextlib.contextmanager
    def model_files(self, model: LoggedModelRecord) -> Iterator[Path]:
        """A logged model's artifacts folder, where it lies."""
        if not model.artifacts:
            msg = f"Logged model {model.model_id} has no local artifacts folder"
            raise SourceReadError(msg)
        yield Path(model.artifacts)

    # -- the registry ----------------------------------------------------------------
    def registered_models(self) -> list[RegisteredModelRecord]:
        """The registry under ``models/`` (none if the folder is absent)."""
        registry = self.root / _REGISTRY
        models: list[RegisteredModelRecord] = []
        for folder in _subdirs(registry) if registry.is_dir() else []:
            meta_path = folder / _META
            if not meta_path.is_file():
                self._passed.append(f"folder {str(folder)!r}: no meta.yaml, not a model")
                continue
            meta = _read_yaml(meta_path)
            aliases = _values(folder / "aliases")
            versions = [
                self._version(d / _META)
                for d in _subdirs(folder)
                if d.name.startswith("version-") and (d / _META).is_file()
            ]
            try:
                alias_numbers = {k: int(v) for k, v in aliases.items()}
            except ValueError:
                msg = f"Corrupt MLflow registry folder {str(folder / 'aliases')!r}: {aliases}"
                raise SourceReadError(msg) from None
            models.append(
                RegisteredModelRecord(
                    name=str(_field(meta, "name", meta_path)),
                    description=meta.get("description") or None,
                    tags=_values(folder / "tags"),
                    aliases=alias_numbers,
                    versions=sorted(versions, key=lambda v: v.version),
                )
            )
        return models

    def _version(self, meta_path: Path) -> VersionRecord:
        meta = _read_yaml(meta_path)
        number = _field(meta, "version", meta_path)
        stage = str(meta.get("current_stage") or "None")
        if not isinstance(number, int):
            msg = f"Corrupt MLflow file {str(meta_path)!r}: version {number!r} is no number"
            raise SourceReadError(msg)
        return VersionRecord(
            version=number,
            source=str(meta.get("source") or ""),
            run_id=meta.get("run_id") or None,
            description=meta.get("description") or None,
            stage="None" if stage == _DELETED_VERSION else stage,
            status=str(meta.get("status") or "READY"),
            tags=_values(meta_path.parent / "tags"),
            deleted=stage == _DELETED_VERSION,
        )


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir())


def _read_yaml(path: Path) -> dict[str, Any]:
    """A ``meta.yaml`` as a mapping; a clear error naming the file if it is not one."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        msg = f"Corrupt MLflow file {str(path)!r}: {detail}"
        raise SourceReadError(msg) from None
    if not isinstance(data, dict):
        msg = f"Corrupt MLflow file {str(path)!r}: not a YAML mapping ({type(data).__name__})"
        raise SourceReadError(msg)
    return data


def _field(meta: dict[str, Any], key: str, path: Path) -> object:
    if meta.get(key) is None:
        msg = f"Corrupt MLflow file {str(path)!r}: {key!r} is missing"
        raise SourceReadError(msg)
    return meta[key]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"Unreadable MLflow file {str(path)!r}: {exc}"
        raise SourceReadError(msg) from None


def _values(folder: Path) -> dict[str, str]:
    """Key -> value of a params, tags or aliases folder (keys with '/' are subfolders)."""
    if not folder.is_dir():
        return {}
    out: dict[str, str] = {}
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(parent) / name
            out[path.relative_to(folder).as_posix()] = _text(path)
    return out


def _metric_files(folder: Path) -> Iterator[MetricSeries]:
    """Each metric file as a series, in the order of its lines."""
    if not folder.is_dir():
        return
    for parent, _dirs, files in sorted(os.walk(folder)):
        for name in sorted(files):
            path = Path(parent) / name
            yield _metric_file(path, path.relative_to(folder).as_posix())


def _metric_file(path: Path, key: str) -> MetricSeries:
    steps: list[int] = []
    timestamps: list[int] = []
    values: list[float] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            point = _metric_line(parts)
            if point is None:
                msg = (
                    f"Corrupt MLflow metric file {str(path)!r}, line {number}: {line.strip()!r} "
                    "is not 'timestamp value step'"
                )
                raise SourceReadError(msg)
            timestamps.append(point[0])
            values.append(point[1])
            steps.append(point[2])
    return MetricSeries(key=key, steps=steps, timestamps=timestamps, values=values)


def _metric_line(parts: list[str]) -> tuple[int, float, int] | None:
    """(timestamp, value, step) of a metric file's line (more fields: a run id, a dataset)."""
    if len(parts) not in (2, 3, 4, 5, 6):
        return None
    try:
        return int(parts[0]), float(parts[1]), int(parts[2]) if len(parts) > 2 else 0  # noqa: PLR2004
    except ValueError:
        return None


def _local_folder(uri: str, fallback: Path) -> Path | None:
    """A run's (or model's) artifacts folder on this machine, or None.

    The folder its URI names, else the one beside its meta.yaml (a store that was moved
    keeps its files there); None if neither exists.
    """
    path: Path | None = None
    if uri.startswith("file:"):
        path = Path(url2pathname(urlparse(uri).path))
    elif uri and "://" not in uri and ":" not in uri.split("/", 1)[0]:
        path = Path(uri)
    if path is not None and path.is_dir():
        return path
    return fallback if fallback.is_dir() else None
