"""What an importer reads from another tracker, in one shape for every source.

A source (an MLflow ``mlruns`` folder, MLflow's client over a database or a server,
TensorBoard's event files) answers the questions of :class:`Source`; the writer
(:mod:`canvasback.importers.writer`) turns the answers into canvasback's runs, models and
versions. Records hold what the source said, unchecked: the writer checks each value as
canvasback checks what a user logs, and reports what it cannot carry over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from canvasback.exceptions import INVALID_STATE, RESOURCE_DOES_NOT_EXIST, MlflowException

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Iterator
    from pathlib import Path


class SourceNotFoundError(MlflowException, FileNotFoundError):
    """A source that does not exist, or is not a store of the kind named."""

    error_code = RESOURCE_DOES_NOT_EXIST


class SourceReadError(MlflowException, RuntimeError):
    """A source that failed while it was read (a corrupt file, a server's error)."""

    error_code = INVALID_STATE


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment of the source."""

    experiment_id: str
    name: str
    deleted: bool = False
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """A run's attributes: enough to create it (its content is read when it is written)."""

    run_id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    user_id: str | None
    parent_run_id: str | None
    deleted: bool
    where: str
    """Where the run is in the source, as a person would look for it (a folder, a URI)."""
    artifact_uri: str = ""
    """Where the source keeps the run's files (a version's source may lie under it)."""


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset a run used (MLflow's dataset input), with the context it was used in."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str
    profile: str
    context: str


@dataclass(frozen=True)
class MetricSeries:
    """Every point of one metric of a run, in the order the source keeps them."""

    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[float]


@dataclass(frozen=True)
class LoggedModelRecord:
    """An MLflow 3 logged model (``models:/m-<id>``) and the run that produced it."""

    model_id: str
    name: str
    source_run_id: str | None
    tags: dict[str, str]
    has_params_or_metrics: bool
    artifacts: str
    """Where its files are: a local folder, or a URI the source downloads."""


@dataclass
class RunContent:
    """A run's params, tags, datasets, metrics and files, read when it is written."""

    params: dict[str, str]
    tags: dict[str, str]
    datasets: list[DatasetRecord]
    metrics: Iterator[MetricSeries]
    artifacts: Path | None
    """A local folder of the run's files (None: it has none)."""
    models: list[LoggedModelRecord] = field(default_factory=list)
    start_time: int | None = None
    """The run's start, when its content tells better (TensorBoard's first point)."""
    end_time: int | None = None
    """The run's end, when only its content tells (TensorBoard's last event)."""
    not_carried: list[str] = field(default_factory=list)
    """What the source holds of this run that canvasback cannot keep, said per item."""


@dataclass(frozen=True)
class VersionRecord:
    """A version of a registered model (``deleted``: a number MLflow has given and taken)."""

    version: int
    source: str
    run_id: str | None
    description: str | None
    stage: str
    status: str
    tags: dict[str, str]
    deleted: bool = False


@dataclass(frozen=True)
class RegisteredModelRecord:
    """A registered model with its versions and aliases (alias -> version number)."""

    name: str
    description: str | None
    tags: dict[str, str]
    aliases: dict[str, int]
    versions: list[VersionRecord]


class Source(Protocol):
    """What the writer asks of a source; each method raises ``SourceReadError``."""

    @property
    def uri(self) -> str:
        """The source as the report and the imported runs' tag name it (no password)."""

    def experiments(self) -> list[ExperimentRecord]:
        """Every experiment (deleted ones too)."""

    def runs(self, experiment: ExperimentRecord) -> list[RunRecord]:
        """Every run of an experiment (deleted ones too)."""

    def content(self, run: RunRecord) -> contextlib.AbstractContextManager[RunContent]:
        """A run's content; local copies it makes are removed when the block ends."""

    def model_files(self, model: LoggedModelRecord) -> contextlib.AbstractContextManager[Path]:
        """A local folder of a logged model's files."""

    def registered_models(self) -> list[RegisteredModelRecord]:
        """Every registered model of the source's registry (none if it has none)."""

    def passed_over(self) -> list[str]:
        """What the source holds that is no record canvasback keeps, one line per item."""
