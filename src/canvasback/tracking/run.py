"""A run handle: logs params, metrics, tags and artifacts of one run; a context manager.

A run stands on its store alone: it writes its own rows and events through the store's
writer, and knows nothing of the client that made it. Logging appends to the writer's
in-memory buffer and returns: ``log_metric`` costs about a microsecond. A handle whose
run has ended refuses to log, naming the run. What other layers need of a run (the
notebook's live view) they get through public hooks such as :meth:`Run.on_end`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

from canvasback import query
from canvasback.exceptions import MlflowException
from canvasback.store import schema
from canvasback.tracking import validation, write_once
from canvasback.tracking.artifacts import ArtifactStore
from canvasback.tracking.batches import as_list, history_columns, key_values, metric_columns
from canvasback.tracking.datasets import Dataset, input_row
from canvasback.tracking.entities import RunData

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from types import TracebackType

    from canvasback.store import Store
    from canvasback.tracking.entities import Metric, Param, RunInfo, RunTag

    MetricWatcher = Callable[[float, int, int], None]
    """Told each point of a watched metric: its value, step and timestamp (ms)."""

_INT64_MIN, _INT64_MAX = schema.INT64_MIN, schema.INT64_MAX


class RunEndedError(MlflowException, RuntimeError):
    """Logging through a run handle after its run ended."""


class Run:
    """A run of a store. Create one with ``start_run`` or ``Client.create_run``.

    Parameters
    ----------
    store
        The store the run's rows go to.
    info
        The run's attributes as known when the handle is made.
    params
        Params already logged (write-once checks need them).
    ended
        Whether the run has ended: an ended handle refuses to log.
    data
        Metrics, params and tags read together with ``info``: :attr:`data` then returns
        them instead of reading the store again.
    resumed
        The run was read from the store, not created by this handle: another process
        may log to it too, so :meth:`end` checks this handle's params against the store.

    """

    def __init__(
        self,
        store: Store,
        info: RunInfo,
        params: Mapping[str, str] | None = None,
        *,
        ended: bool = False,
        data: RunData | None = None,
        resumed: bool = False,
    ) -> None:
        self.store = store
        # A handle on a run another process may also log to: its params are checked
        # against the store when it ends (write-once across processes).
        self._resumed = resumed
        self._logged_params: dict[str, str] = {}
        self._params_logged_at = 0.0
        self._info = info
        self.run_id = info.run_id
        self.experiment_id = info.experiment_id
        self._ended = ended
        self._deleted = False
        self._alive = False  # whether this handle keeps its writer's heartbeat going
        self._refuse = ended  # ended or deleted: the one flag the hot path reads
        self._data = data
        self._params: dict[str, str] = dict(params or {})
        self._metric_keys: set[str] = set()
        self._step = 0
        self._append = store.writer.append_to
        self._metrics_key = ("metrics", info.experiment_id)
        self._artifacts = ArtifactStore(store)
        store.writer.start()
        self._on_end: list[Callable[[Run, str], None]] = []
        # Watchers of a metric (a sweep's trial reporting to its pruner, the sweep's
        # worker keeping the latest value): empty but for such a run, so the hot path
        # pays one truth test.
        self._watchers: dict[str, list[MetricWatcher]] = {}

    def __repr__(self) -> str:
        state = "ended" if self._ended else "running"
        return f"<Run {self._info.run_name!r} {self.run_id} ({state})>"

    # -- attributes ------------------------------------------------------------------
    @property
    def info(self) -> RunInfo:
        """The run's attributes as this process knows them."""
        return self._info

    @property
    def data(self) -> RunData:
        """Latest metrics, params and tags (as read with this handle, or from the store)."""
        if self._data is not None:
            return self._data
        return RunData(**query.run_data(self.store.read(), self.run_id))

    @property
    def known_params(self) -> dict[str, str]:
        """The params this handle knows the run has: logged through it, or given to it."""
        return dict(self._params)

    @property
    def ended(self) -> bool:
        """Whether the run has ended; an ended handle refuses to log."""
        return self._ended

    def mark_deleted(self, *, deleted: bool = True) -> None:
        """Refuse (or, after a restore, allow again) logging through this handle."""
        self._deleted = deleted
        self._refuse = deleted or self._ended

    def on_end(self, callback: Callable[[Run, str], None]) -> None:
        """Call ``callback(run, status)`` when this handle ends the run (at most once)."""
        self._on_end.append(callback)

    def watch_metric(self, key: str, callback: MetricWatcher) -> None:
        """Call ``callback(value, step, timestamp)`` after each point of ``key`` this handle logs.

        Every way of logging calls it (``log_metric``, ``log_metrics``, ``log``,
        ``log_history``, ``log_batch``), in the order of the points. What the callback
        raises reaches the caller (a sweep's pruner stops a trial that way); the points
        are logged first.
        """
        self._watchers.setdefault(key, []).append(callback)

    def _tell_watchers(self, key: str, value: float, step: int, timestamp: int) -> None:
        for callback in self._watchers.get(key, ()):
            callback(value, step, timestamp)

    def check_open(self, what: str) -> None:
        """Refuse, naming the run, when the run has ended or was deleted."""
        if self._deleted:
            msg = (
                f"Cannot {what}: run {self.run_id} ({self._info.run_name!r}) was deleted. "
                f"Restore it first with restore_run({self.run_id!r}), or start a new run."
            )
            raise RunEndedError(msg)
        if self._ended:
            msg = (
                f"Cannot {what}: run {self.run_id} ({self._info.run_name!r}) has ended "
                f"with status {self._info.status}. Start a new run, or resume this one "
                f"with start_run(run_id={self.run_id!r})."
            )
            raise RunEndedError(msg)

    # -- metrics ---------------------------------------------------------------------
    def log_metric(
        self,
        key: str,
        value: float,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Log one metric point (step defaults to 0, timestamp to now, as in MLflow)."""
        if self._refuse:
            self.check_open(f"log metric {key!r}")
        if key not in self._metric_keys:
            validation.validate_key("metric", key)
            self._metric_keys.add(key)
        if type(value) is not float:
            value = validation.metric_value(key, value)
        if step is None:
            step = 0
        elif type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = validation.metric_step(key, step)
        if timestamp is None:
            timestamp = time.time_ns() // 1_000_000
        elif type(timestamp) is not int or not _INT64_MIN <= timestamp <= _INT64_MAX:
            timestamp = validation.timestamp_ms(key, timestamp)
        self._append(self._metrics_key, (self.run_id, key, step, timestamp, value))
        if self._watchers and key in self._watchers:
            self._tell_watchers(key, value, step, timestamp)

    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Log several metrics at one step. All are checked before any is logged."""
        self.check_open("log metrics")
        keys = ", ".join(map(str, metrics))
        ts = (
            time.time_ns() // 1_000_000
            if timestamp is None
            else validation.timestamp_ms(keys, timestamp)
        )
        st = 0 if step is None else validation.metric_step(keys, step)
        rows = []
        for key, value in metrics.items():
            if key not in self._metric_keys:
                validation.validate_key("metric", key)
            rows.append((self.run_id, key, st, ts, validation.metric_value(key, value)))
        self._metric_keys.update(metrics)
        self.store.writer.extend("metrics", self.experiment_id, rows)
        for _, key, _, _, value in rows if self._watchers else ():
            self._tell_watchers(key, value, st, ts)

    def log_history(
        self,
        metrics: Mapping[str, Sequence[float]],
        steps: Sequence[int] | None = None,
        timestamps: Sequence[int] | None = None,
    ) -> None:
        """Log whole series at once: ``{"loss": [...], "acc": [...]}`` (lists or arrays).

        Every series has one value per step; ``steps`` defaults to 0, 1, 2, ... and
        ``timestamps`` to now. The fastest way to log many points (a few million per
        second): the batch is checked and buffered column by column.
        """
        self.check_open("log history")
        series = {key: as_list(key, values) for key, values in metrics.items()}
        n = len(next(iter(series.values()), []))
        for key, values in series.items():
            if len(values) != n:
                msg = (
                    f"Invalid history for metric {key!r}: {len(values)} values where the "
                    f"other series have {n}; every series needs one value per step"
                )
                raise validation.InvalidInputError(msg)
        step_list = list(range(n)) if steps is None else as_list("steps", steps)
        now = time.time_ns() // 1_000_000
        time_list = [now] * n if timestamps is None else as_list("timestamps", timestamps)
        for name, column in (("steps", step_list), ("timestamps", time_list)):
            if len(column) != n:
                msg = f"Invalid {name}: {len(column)} given for {n} values per metric"
                raise validation.InvalidInputError(msg)
        columns = history_columns(self.run_id, series, step_list, time_list, self._metric_keys)
        if columns is not None:
            self.store.writer.extend_columns("metrics", self.experiment_id, columns)
        for key in self._watchers.keys() & series.keys() if self._watchers else ():
            for value, st, ts in zip(series[key], step_list, time_list, strict=True):
                self._tell_watchers(key, float(value), int(st), int(ts))

    def log(self, data: Mapping[str, float], step: int | None = None) -> None:
        """Log a dict of metrics at a step; without a step, each call is the next step."""
        if step is None:
            step = self._step
        self._step = max(self._step, validation.metric_step(", ".join(map(str, data)), step) + 1)
        self.log_metrics(data, step=step)

    # -- params and tags -------------------------------------------------------------
    def log_param(self, key: str, value: object) -> object:
        """Log a parameter; params are write-once (the same value again is fine)."""
        self.log_params({key: value})
        return value

    def log_params(self, params: Mapping[str, object]) -> None:
        """Log several params. All are checked before any is logged."""
        self.check_open("log params")
        fresh = self.check_params(params)
        ts = time.time_ns() // 1_000_000
        rows = [(self.run_id, key, value, ts) for key, value in fresh.items()]
        self._params.update(fresh)
        self._logged_params.update(fresh)
        self._params_logged_at = time.monotonic()
        self.store.writer.extend("params", self.experiment_id, rows)

    def check_params(self, params: Mapping[str, object]) -> dict[str, str]:
        """The params not logged yet, as strings; an error if a key or value is refused.

        Params are write-once: the same value again is fine, another value is an error.
        """
        fresh: dict[str, str] = {}
        for key, raw in params.items():
            validation.validate_key("param", key)
            value = validation.param_value(key, raw)
            old = self._params.get(key, fresh.get(key))
            if old is not None and old != value:
                msg = (
                    f"Param {key!r} of run {self.run_id} was already logged with value "
                    f"{old!r}; it cannot be changed to {value!r}. Params are write-once: "
                    "log the new value under another key, or start a new run."
                )
                raise validation.InvalidInputError(msg)
            if old is None:
                fresh[key] = value
        return fresh

    def set_tag(self, key: str, value: object) -> None:
        """Set a tag (tags are mutable; the last write wins)."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, object]) -> None:
        """Set several tags. All are checked before any is set."""
        self.check_open("set tags")
        checked = [
            (validation.validate_key("tag", k), validation.tag_value(k, val))
            for k, val in tags.items()
        ]
        writer = self.store.writer
        # One append for them all: a run's start sets some 30 tags of its code and
        # environment, each an event taking the buffer's lock on its own otherwise.
        tag, run_id = schema.EVENT_TAG, self.run_id
        rows = [(run_id, tag, key, value, *writer.stamp()) for key, value in checked]
        writer.extend("events", self.experiment_id, rows)

    def delete_tag(self, key: str) -> None:
        """Remove a tag."""
        self.check_open("delete tag")
        validation.validate_key("tag", key)
        self.store.writer.event(self.experiment_id, self.run_id, schema.EVENT_TAG, key, None)

    # -- artifacts -------------------------------------------------------------------
    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a local file into the run's artifacts (under ``artifact_path``)."""
        self.check_open("log artifact")
        self._artifacts.log_artifact(self, local_path, artifact_path)

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a local folder's files into the run's artifacts."""
        self.check_open("log artifacts")
        self._artifacts.log_artifacts(self, local_dir, artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        """Save text as an artifact file."""
        self.check_open("log text")
        self._artifacts.log_bytes(self, text.encode(), artifact_file)

    def log_dict(self, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        """Save a dict as JSON (or YAML for .yaml/.yml, if PyYAML is installed)."""
        self.check_open("log dict")
        self._artifacts.log_dict(self, dictionary, artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:  # noqa: ANN401  # matplotlib or plotly
        """Save a matplotlib or plotly figure as an artifact."""
        self.check_open("log figure")
        self._artifacts.log_figure(self, figure, artifact_file)

    def log_image(
        self,
        image: Any,  # noqa: ANN401  # PIL or array
        artifact_file: str | None = None,
        *,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> str:
        """Save a PIL image or a numpy array as an image artifact; returns its path.

        Either under ``artifact_file``, or, as MLflow's time-stepped images, under a
        ``key`` at a ``step``: ``images/<key>/step_<step>_<timestamp>.png``.
        """
        self.check_open("log image")
        if (artifact_file is None) == (key is None):
            msg = "log_image takes artifact_file, or key (with step), not both nor neither"
            raise validation.InvalidInputError(msg)
        if key is not None:
            key = validation.validate_key("image", key)
            step = 0 if step is None else validation.metric_step(key, step)
            ts = time.time_ns() // 1_000_000 if timestamp is None else timestamp
            ts = validation.timestamp_ms(key, ts)
            artifact_file = f"images/{key}/step_{step:08d}_{ts}.png"
        assert artifact_file is not None  # noqa: S101  # one of the two, checked above
        self._artifacts.log_image(self, image, artifact_file)
        return artifact_file

    def log_table(self, data: Any, artifact_file: str) -> None:  # noqa: ANN401  # DataFrame or dict
        """Save a DataFrame or a dict of columns as a table artifact (.json or .parquet)."""
        self.check_open("log table")
        self._artifacts.log_table(self, data, artifact_file)

    def log_input(
        self, dataset: Dataset, context: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> None:
        """Record that the run used a dataset (MLflow's ``log_input``), in a context."""
        self.check_open("log input")
        if not isinstance(dataset, Dataset):
            msg = (
                f"log_input needs a dataset from canvasback.data.from_pandas or from_numpy, "
                f"not {type(dataset).__name__}"
            )
            raise validation.InvalidInputError(msg)
        row = input_row(self.run_id, dataset, validation.tag_value("context", context or ""))
        self.store.writer.append("inputs", self.experiment_id, row)
        if tags:
            self.set_tags({f"dataset.{dataset.name}.{k}": val for k, val in tags.items()})

    def log_batch(
        self,
        metrics: Iterable[Metric] = (),
        params: Iterable[Param] = (),
        tags: Iterable[RunTag] = (),
    ) -> None:
        """Log many metrics, params and tags; everything is checked before anything is logged."""
        self.check_open("log batch")
        columns = metric_columns(self.run_id, metrics, self._metric_keys)
        param_dict = key_values("param", params)
        tag_dict = key_values("tag", tags)
        for key, tag in tag_dict.items():
            validation.validate_key("tag", key)
            validation.tag_value(key, tag)
        self.log_params(param_dict)
        if columns is not None:
            self.store.writer.extend_columns("metrics", self.experiment_id, columns)
        self.set_tags(tag_dict)
        if columns is not None and self._watchers:  # the checked points, in their order
            _, keys, steps, timestamps, values = columns
            for key, step, ts, value in zip(keys, steps, timestamps, values, strict=True):
                if key in self._watchers:
                    self._tell_watchers(key, value, step, ts)

    # -- status ----------------------------------------------------------------------
    def _event(self, kind: str, value: str) -> None:
        self.store.writer.event(self.experiment_id, self.run_id, kind, "", value)

    def set_status(self, status: str) -> None:
        """Record a status without ending the handle (MlflowClient.update_run)."""
        self._event(schema.EVENT_STATUS, validation.run_status(status))

    def keep_alive(self) -> None:
        """Have this store's writer send heartbeats for the run until it ends."""
        if not self._alive:
            self._alive = True
            self.store.writer.hold_alive()

    def resume(self) -> None:
        """Make an ended (or stale) run RUNNING again, from this process and writer."""
        # Always written: the RUNNING event names this writer, whose heartbeats then
        # keep the run alive (another process may have started it).
        self._event(schema.EVENT_STATUS, "RUNNING")
        self._info = replace(self._info, status="RUNNING", end_time=None)
        self.keep_alive()
        self._ended = False
        self._refuse = self._deleted

    def end(self, status: str = "FINISHED", end_time: int | None = None) -> None:
        """End the run; returns at once (the flush happens in the background)."""
        if self._ended:
            return
        status = validation.run_status(status)
        end_time = time.time_ns() // 1_000_000 if end_time is None else int(end_time)
        self._event(schema.EVENT_STATUS, status)
        self._event(schema.EVENT_END_TIME, str(end_time))
        self.store.writer.request_flush()
        self._ended = self._refuse = True
        if self._alive:
            self._alive = False
            self.store.writer.release_alive()
        self._info = replace(self._info, status=status, end_time=end_time)
        for callback in list(self._on_end):
            callback(self, status)
        if self._resumed and self._logged_params:
            write_once.check_params_won(
                self.store, self.run_id, self._logged_params, self._params_logged_at
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end("FINISHED")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("KILLED")
        else:
            self.end("FAILED")
