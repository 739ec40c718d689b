"""TensorBoard event files read with TensorBoard's own reader (``EventAccumulator``).

Each folder that holds event files (``*tfevents*``) is a run, as TensorBoard shows it,
named by its path under the log folder; all of them go into one experiment. A run keeps
every scalar point (``size_guidance`` 0: TensorBoard's default keeps a sample of 10,000)
with its step and wall time, and the hparams plugin's values as params. Its id is made
from its folder's path, so importing the same folder again finds the same runs. Images,
histograms, audio, text and other plugins' data are not carried over; the report counts
them per run.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from canvasback.importers.records import (
    ExperimentRecord,
    MetricSeries,
    RegisteredModelRecord,
    RunContent,
    RunRecord,
    SourceNotFoundError,
    SourceReadError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from canvasback.importers.records import LoggedModelRecord

_EVENTS: Final = "tfevents"
_KINDS: Final = ("images", "audio", "histograms", "distributions")


def _reader() -> Any:  # noqa: ANN401  # tensorboard's event_accumulator module
    try:
        from tensorboard.backend.event_processing import (  # noqa: PLC0415  # optional, heavy
            event_accumulator,
        )
    except ImportError:
        msg = (
            "Reading TensorBoard event files needs tensorboard: "
            "pip install 'canvasback[tensorboard]'"
        )
        raise SourceNotFoundError(msg) from None
    return event_accumulator


class TensorBoardSource:
    """A TensorBoard log folder: one run per folder of event files."""

    def __init__(self, logdir: Path, experiment: str | None = None) -> None:
        self.logdir = logdir.expanduser().resolve()
        self.uri = str(self.logdir)
        if not self.logdir.is_dir():
            what = "does not exist" if not self.logdir.exists() else "is not a folder"
            msg = f"TensorBoard log folder {self.uri!r} {what}"
            raise SourceNotFoundError(msg)
        self._ea = _reader()
        self._folders = sorted({p.parent for p in self.logdir.rglob(f"*{_EVENTS}*") if p.is_file()})
        if not self._folders:
            msg = f"{self.uri!r} holds no TensorBoard event files (events.out.tfevents.*)"
            raise SourceNotFoundError(msg)
        self._experiment = experiment or self.logdir.name

    def passed_over(self) -> list[str]:
        """Nothing beyond what each run's content reports."""
        return []

    def experiments(self) -> list[ExperimentRecord]:
        """One experiment, named by the caller or after the log folder."""
        return [ExperimentRecord(experiment_id="", name=self._experiment)]

    def runs(self, experiment: ExperimentRecord) -> list[RunRecord]:
        """A run per folder of event files, started at its first event."""
        del experiment
        runs = []
        for folder in self._folders:
            rel = folder.relative_to(self.logdir).as_posix()
            runs.append(
                RunRecord(
                    run_id=uuid.uuid5(uuid.NAMESPACE_URL, f"tensorboard:{folder}").hex,
                    experiment_id="",
                    name=self.logdir.name if rel == "." else rel,
                    status="FINISHED",
                    start_time=self._first_event_ms(folder),
                    end_time=None,
                    user_id=None,
                    parent_run_id=None,
                    deleted=False,
                    where=str(folder),
                )
            )
        return runs

    def _first_event_ms(self, folder: Path) -> int:
        from tensorboard.backend.event_processing import event_file_loader  # noqa: PLC0415

        first: list[float] = []
        for path in sorted(folder.glob(f"*{_EVENTS}*")):
            try:
                event = next(iter(event_file_loader.EventFileLoader(str(path)).Load()), None)
            except Exception as exc:  # noqa: BLE001  # the reader raises what its backend raises
                msg = f"Unreadable TensorBoard event file {str(path)!r}: {exc}"
                raise SourceReadError(msg) from None
            if event is not None:
                first.append(event.wall_time)
        return _ms(min(first)) if first else 0

    @contextlib.contextmanager
    def content(self, run: RunRecord) -> Iterator[RunContent]:
        """Every scalar point of the run's folder, and its hparams as params."""
        ea = self._ea
        acc = ea.EventAccumulator(
            run.where,
            size_guidance={
                ea.SCALARS: 0,
                ea.TENSORS: 0,
                ea.IMAGES: 1,
                ea.AUDIO: 1,
                ea.HISTOGRAMS: 1,
                ea.COMPRESSED_HISTOGRAMS: 1,
            },
        )
        try:
            acc.Reload()
        except Exception as exc:  # noqa: BLE001  # the reader raises what its backend raises
            msg = f"Unreadable TensorBoard event files in {run.where!r}: {exc}"
            raise SourceReadError(msg) from None
        tags = acc.Tags()
        series = [_scalar_series(tag, acc.Scalars(tag)) for tag in tags.get("scalars", [])]
        not_carried = [
            f"{len(tags[kind])} {kind} tag(s) ({', '.join(tags[kind][:3])}...)"
            for kind in _KINDS
            if tags.get(kind) and kind != "distributions"  # histograms, shown twice
        ]
        for tag in tags.get("tensors", []):
            plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
            if plugin == "scalars":
                series.append(_tensor_series(tag, acc.Tensors(tag)))
            elif plugin != "hparams":
                not_carried.append(f"tensor tag {tag!r} of plugin {plugin or 'none'!r}")
        if tags.get("graph"):
            not_carried.append("the model graph")
        ends = [max(s.timestamps) for s in series if s.timestamps]
        starts = [min(s.timestamps) for s in series if s.timestamps]
        yield RunContent(
            params=_hparams(acc),
            tags={},
            datasets=[],
            metrics=iter(series),
            artifacts=None,
            start_time=min([t for t in (run.start_time, *starts) if t], default=None),
            end_time=max(ends) if ends else run.start_time,
            not_carried=not_carried,
        )

    @contextlib.contextmanager
    def model_files(self, model: LoggedModelRecord) -> Iterator[Path]:
        """TensorBoard has no models."""
        msg = f"TensorBoard logs hold no model {model.model_id}"
        raise SourceReadError(msg)
        yield Path()  # pragma: no cover  # a generator, for contextmanager

    def registered_models(self) -> list[RegisteredModelRecord]:
        """TensorBoard has no registry."""
        return []


def _ms(wall_time: float) -> int:
    return math.floor(wall_time * 1000 + 0.5)


def _scalar_series(tag: str, events: list[Any]) -> MetricSeries:
    return MetricSeries(
        key=tag,
        steps=[e.step for e in events],
        timestamps=[_ms(e.wall_time) for e in events],
        values=[float(e.value) for e in events],
    )


def _tensor_series(tag: str, events: list[Any]) -> MetricSeries:
    from tensorboard.util import tensor_util  # noqa: PLC0415

    return MetricSeries(
        key=tag,
        steps=[e.step for e in events],
        timestamps=[_ms(e.wall_time) for e in events],
        values=[float(tensor_util.make_ndarray(e.tensor_proto).item()) for e in events],
    )


def _hparams(acc: Any) -> dict[str, str]:  # noqa: ANN401  # an EventAccumulator
    """The hparams plugin's session values (``add_hparams``) as params."""
    from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: PLC0415

    try:
        contents = acc.PluginTagToContent("hparams")
    except KeyError:  # no hparams in this run
        return {}
    params: dict[str, str] = {}
    for content in contents.values():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.WhichOneof("data") != "session_start_info":
            continue
        for name, value in data.session_start_info.hparams.items():
            kind = value.WhichOneof("kind")
            if kind == "number_value":
                number = value.number_value
                params[name] = str(int(number)) if number.is_integer() else str(number)
            elif kind == "bool_value":
                params[name] = str(value.bool_value)
            elif kind == "string_value":
                params[name] = value.string_value
    return params
