"""A source's experiments and runs written into canvasback, resumably and never twice.

A run is imported once its tag ``canvasback.imported_from`` (the source, as the report
names it) is in the store: it is written with the run's end, after every row of the run
is on disk. A run the store holds without it was begun by an import that was cut short;
the next import goes on with it and writes only what it lacks: params are write-once,
tags and datasets resolve to one row each, files are copied again over themselves, and
a metric's points are compared with the ones the run holds, point by point. A run with
the tag is left as it is, but for a deletion in the source that the cut-short import had
not written yet. Runs keep their ids; experiments keep theirs where the store has them
free (else the lowest free number, and the report says so), and an experiment of the
same name is the same experiment.

Runs are written in batches (one flush for the batch's rows, one for their ends), so a
store receives a few files per batch, not per run.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import TYPE_CHECKING, Final

from canvasback import query
from canvasback.store import layout
from canvasback.tracking import logged_models, validation
from canvasback.tracking.datasets import Dataset

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from canvasback.importers.progress import Progress
    from canvasback.importers.records import (
        DatasetRecord,
        ExperimentRecord,
        LoggedModelRecord,
        MetricSeries,
        RunRecord,
        Source,
    )
    from canvasback.importers.report import ImportReport
    from canvasback.registry import Client
    from canvasback.store.fs import FileSystem
    from canvasback.tracking.run import Run

MARKER: Final = "canvasback.imported_from"
"""The tag that marks a run (and a model version) as imported, and from where."""
_BATCH_RUNS: Final = 64
_BATCH_POINTS: Final = 1_000_000
_MLMODEL: Final = "MLmodel"


class RunWriter:
    """Writes experiments and runs of one source into one store."""

    def __init__(
        self, client: Client, source: Source, report: ImportReport, progress: Progress
    ) -> None:
        self.client = client
        self.source = source
        self.report = report
        self.progress = progress
        self._batch_points = 0
        self.completed = 0
        """Runs whole in the store (this import's and earlier ones')."""

    # -- experiments -----------------------------------------------------------------
    def experiment_ids(self, experiments: list[ExperimentRecord]) -> dict[str, str]:
        """Source experiment id -> canvasback's, each experiment made if new."""
        mapping: dict[str, str] = {}
        for experiment in experiments:
            found = self._experiment(experiment)
            if found is not None:
                mapping[experiment.experiment_id] = found
        self.report.experiment_ids.update(mapping)
        self.report.experiments = len(mapping)
        return mapping

    def _experiment(self, experiment: ExperimentRecord) -> str | None:
        where = f"experiment {experiment.experiment_id} ({experiment.name!r})"
        tags = self._checked(where, "tag", experiment.tags, validation.tag_value)
        found = self.client.experiment_id_for(experiment.name)
        if found is not None:
            have = self.client.get_experiment(found).tags
            for key, value in tags.items():
                if have.get(key) != value:
                    self.client.set_experiment_tag(found, key, value)
            return found
        try:
            validation.experiment_name(experiment.name)
        except validation.InvalidInputError as exc:
            self.report.skip(f"{where} and its runs: {exc}")
            return None
        made = {**tags, MARKER: self.source.uri}  # made by an import: it may delete it
        try:
            return self.client.create_experiment(
                experiment.name, tags=made, experiment_id=experiment.experiment_id
            )
        except validation.InvalidInputError:  # its id is taken here: the lowest free one
            return self.client.create_experiment(experiment.name, tags=made)

    def delete_experiments(
        self, experiments: list[ExperimentRecord], ids: Mapping[str, str]
    ) -> None:
        """Delete the experiments the source has deleted (once their runs are in).

        Only those an import made: an experiment of the store's own that has the name of
        one deleted in the source keeps going.
        """
        for experiment in experiments:
            found = ids.get(experiment.experiment_id)
            if not experiment.deleted or found is None:
                continue
            here = self.client.get_experiment(found)
            if here.lifecycle_stage != "deleted" and MARKER in here.tags:
                self.client.delete_experiment(found)

    # -- runs ------------------------------------------------------------------------
    def write(self, runs: list[RunRecord], ids: Mapping[str, str]) -> None:
        """Write every run not imported yet, in batches; finish the batch on an error."""
        states = query.runs_with_tag(self.client.store.read(), [r.run_id for r in runs], MARKER)
        pending: list[tuple[RunRecord, Run, int | None]] = []
        try:
            for record in runs:
                state = states.get(record.run_id)
                experiment_id = ids.get(record.experiment_id)
                if experiment_id is None:
                    pass  # its experiment was not carried over (said in the report)
                elif state is not None and state[2] is not None:
                    self._already(record, state[1])
                elif state is not None and state[0] != experiment_id:
                    self.report.skip(
                        f"run {record.run_id} ({record.where}): this store has a run of that "
                        f"id in experiment {state[0]}; it is not imported"
                    )
                else:
                    pending.append(self._write_run(record, experiment_id, state))
                self.progress.run_done(self.report.points)
                if len(pending) >= _BATCH_RUNS or self._batch_points >= _BATCH_POINTS:
                    self._finish(pending)
                    pending = []
        finally:
            self._finish(pending)

    def _already(self, record: RunRecord, lifecycle: str) -> None:
        self.report.runs_already += 1
        self.completed += 1
        if record.deleted and lifecycle != "deleted":  # cut short between mark and delete
            self.client.delete_run(record.run_id)

    def _finish(self, pending: list[tuple[RunRecord, Run, int | None]]) -> None:
        """Mark and end a batch's runs once all their rows are on disk."""
        self._batch_points = 0
        if not pending:
            return
        self.client.flush()
        for record, run, end_time in pending:
            run.set_tag(MARKER, self.source.uri)
            if record.status in validation.TERMINAL_STATUSES:
                run.end(record.status, end_time=end_time)
            elif record.status != "RUNNING":
                run.set_status(record.status)
        self.client.flush()
        self.completed += len(pending)
        for record, _run, _end in pending:
            if record.deleted:
                self.client.delete_run(record.run_id)

    def _write_run(
        self, record: RunRecord, experiment_id: str, state: tuple[str, str, str | None] | None
    ) -> tuple[RunRecord, Run, int | None]:
        where = f"run {record.run_id} ({record.where})"
        with self.source.content(record) as content:
            tags = self._checked(where, "tag", content.tags, validation.tag_value)
            tags.pop(MARKER, None)
            params = self._checked(where, "param", content.params, validation.param_value)
            if state is None:
                run = self.client.create_run(
                    experiment_id,
                    start_time=content.start_time or record.start_time,
                    tags=tags,
                    run_name=self._run_name(record, where),
                    parent_run_id=record.parent_run_id,
                    run_id=record.run_id,
                    user_id=record.user_id,
                )
            else:
                run = self.client.handle(record.run_id)
                run.set_tags(tags)
            run.log_params(params)
            self.report.tags += len(tags)
            self.report.params += len(params)
            for dataset in content.datasets:
                self._dataset(run, dataset, where)
            for series in content.metrics:
                self._series(run, series, where, resumed=state is not None)
            if content.artifacts is not None:
                self.report.artifacts += self._copy_files(run, content.artifacts, "", where)
            for model in content.models:
                self._model(run, model, where)
            for what in content.not_carried:
                self.report.skip(f"{where}: {what}")
        self.report.runs += 1
        self.report.runs_resumed += state is not None
        end_time = record.end_time if record.end_time is not None else content.end_time
        return record, run, end_time

    def _run_name(self, record: RunRecord, where: str) -> str | None:
        try:
            return validation.run_name(record.name) if record.name else None
        except validation.InvalidInputError as exc:
            self.report.skip(f"{where}: its name ({exc}); it is named at random")
            return None

    def _checked(
        self,
        where: str,
        kind: str,
        items: Mapping[str, str],
        check: Callable[[str, object], str],
    ) -> dict[str, str]:
        """The items canvasback accepts; each other one is said in the report."""
        out: dict[str, str] = {}
        for key, value in items.items():
            try:
                out[validation.validate_key(kind, key)] = check(key, value)
            except validation.InvalidInputError as exc:
                self.report.skip(f"{where}: {kind} {key!r}: {exc}")
        return out

    def _dataset(self, run: Run, dataset: DatasetRecord, where: str) -> None:
        described = Dataset(
            name=dataset.name,
            digest=dataset.digest,
            source=dataset.source,
            source_type=dataset.source_type,
            schema=_json_object(dataset.schema),
            profile=_json_object(dataset.profile),
        )
        try:
            run.log_input(described, context=dataset.context)
        except validation.InvalidInputError as exc:
            self.report.skip(f"{where}: dataset {dataset.name!r}: {exc}")
            return
        self.report.datasets += 1

    def _series(self, run: Run, series: MetricSeries, where: str, *, resumed: bool) -> None:
        try:
            key = validation.validate_key("metric", series.key)
        except validation.InvalidInputError as exc:
            self.report.skip(f"{where}: metric {series.key!r} ({len(series.values)} points): {exc}")
            return
        steps, timestamps, values = series.steps, series.timestamps, series.values
        if resumed:
            steps, timestamps, values = self._missing_points(run.run_id, series)
        if not values:
            return
        try:
            run.log_history({key: values}, steps=steps, timestamps=timestamps)
        except validation.InvalidInputError as exc:
            self.report.skip(f"{where}: metric {key!r} ({len(values)} points): {exc}")
            return
        self.report.points += len(values)
        self._batch_points += len(values)

    def _missing_points(
        self, run_id: str, series: MetricSeries
    ) -> tuple[list[int], list[int], list[float]]:
        """The points of ``series`` the run does not hold yet (counted, as a multiset)."""
        have = self.client.metric_history(run_id, series.key).to_pydict()
        held = Counter(map(_point, have["step"], have["timestamp"], have["value"]))
        steps: list[int] = []
        timestamps: list[int] = []
        values: list[float] = []
        for step, ts, value in zip(series.steps, series.timestamps, series.values, strict=True):
            point = _point(step, ts, value)
            if held[point] > 0:
                held[point] -= 1
            else:
                steps.append(step)
                timestamps.append(ts)
                values.append(value)
        return steps, timestamps, values

    def _copy_files(self, run: Run, folder: Path, into: str, where: str) -> int:
        """Copy a folder's files into the run's artifacts; an ``MLmodel`` after its folder's."""
        root = folder.resolve()
        files = sorted(
            (p for p in folder.rglob("*") if p.is_file()),
            key=lambda p: (p.parent.as_posix(), p.name == _MLMODEL, p.name),
        )
        copied = 0
        for file in files:
            rel = file.relative_to(folder).as_posix()
            if not file.resolve().is_relative_to(root):
                self.report.skip(f"{where}: file {rel!r} links outside its folder; not copied")
                continue
            sub = file.parent.relative_to(folder).as_posix()
            parts = [p for p in (into, "" if sub == "." else sub) if p]
            try:
                run.log_artifact(file, "/".join(parts) or None)
            except (validation.InvalidInputError, OSError) as exc:
                self.report.skip(f"{where}: file {rel!r}: {exc}")
                continue
            copied += 1
        return copied

    def _model(self, run: Run, model: LoggedModelRecord, where: str) -> None:
        """A logged model: its files become the run's artifacts, its id resolves to them."""
        store = self.client.store
        if logged_models.resolve(store, model.model_id) is not None:
            return  # imported before
        path = self._model_path(run.run_id, model)
        with self.source.model_files(model) as folder:
            self.report.artifacts += self._copy_files(run, folder, path, where)
        logged_models.record(store, model.model_id, run.run_id, path)
        self.report.logged_models += 1
        own = {k: v for k, v in model.tags.items() if not k.startswith("mlflow.")}
        tags = self._checked(
            where, "tag", {f"model.{path}.{k}": v for k, v in own.items()}, validation.tag_value
        )
        run.set_tags(tags)
        if model.has_params_or_metrics:
            self.report.skip(
                f"{where}: logged model {model.model_id}'s own params and metrics (canvasback "
                "keeps a model's numbers on its run)"
            )

    def _model_path(self, run_id: str, model: LoggedModelRecord) -> str:
        """Where a logged model's files go: its name, unless the run has other files there."""
        try:
            path = validation.artifact_path(model.name, what="model name")
        except validation.InvalidInputError:
            path = ""
        if path:
            fs = self.client.store.fs
            folder = fs.inside(f"{layout.ARTIFACTS_DIR}/{run_id}/{path}")
            if not fs.exists(folder) or _model_id_of(fs, f"{folder}/{_MLMODEL}") == model.model_id:
                return path
        return f"models/{model.model_id}"


def _point(step: int, timestamp: int, value: float) -> tuple[int, int, float | str]:
    """A point as a key of a multiset: NaN equals NaN here."""
    return step, timestamp, "nan" if math.isnan(value) else value


def _json_object(text: str) -> dict[str, object]:
    """MLflow's schema or profile text as the dict canvasback keeps (raw text if not JSON)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def _model_id_of(fs: FileSystem, mlmodel: str) -> str | None:
    """The ``model_id`` an ``MLmodel`` file names (None if absent or unreadable)."""
    import yaml  # type: ignore[import-untyped]  # noqa: PLC0415  # a dependency, loaded late

    try:
        described = yaml.safe_load(fs.read_bytes(mlmodel))
    except (OSError, yaml.YAMLError):
        return None
    return described.get("model_id") if isinstance(described, dict) else None
