"""Plain records the tracking API hands out and takes in (MLflow's names and fields)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable


class Metric(NamedTuple):
    """One metric point; a NamedTuple so that building many is cheap."""

    key: str
    value: float
    timestamp: int
    step: int = 0


class Param(NamedTuple):
    """One run parameter."""

    key: str
    value: str


class RunTag(NamedTuple):
    """One run tag."""

    key: str
    value: str


@dataclass(frozen=True)
class Experiment:
    """An experiment: a named group of runs."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = "active"
    creation_time: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    last_update_time: int | None = None


class LazyExperiment(Experiment):
    """An experiment whose creation time, tags and last update are read when first asked.

    ``set_experiment`` knows an experiment's id, name and lifecycle stage from its name's
    claims; the rest is in the catalog, which a process that only logs never opens. It
    reads, compares, prints and pickles as the :class:`Experiment` it stands for.
    """

    def __init__(
        self,
        experiment_id: str,
        name: str,
        artifact_location: str,
        lifecycle_stage: str,
        *,
        read: Callable[[], Experiment],
    ) -> None:
        # Frozen: its fields are set once, here, as the dataclass's own __init__ does.
        self.__dict__.update(
            experiment_id=experiment_id,
            name=name,
            artifact_location=artifact_location,
            lifecycle_stage=lifecycle_stage,
            _read=read,
            _read_fields=None,
        )

    def _rest(self) -> Experiment:
        """The experiment as the catalog has it (read once)."""
        found: Experiment | None = self.__dict__["_read_fields"]
        if found is None:
            found = self.__dict__["_read"]()
            self.__dict__["_read_fields"] = found
        return found

    @property  # read-only, as the frozen field it stands for
    def creation_time(self) -> int | None:
        """When the experiment was created (ms)."""
        return self._rest().creation_time

    @property
    def tags(self) -> dict[str, str]:
        """The experiment's tags as the store has them when first asked."""
        return self._rest().tags

    @property
    def last_update_time(self) -> int | None:
        """The experiment's last change (ms), as the store has it when first asked."""
        return self._rest().last_update_time

    def plain(self) -> Experiment:
        """The plain :class:`Experiment` this one stands for (the catalog's fields read)."""
        return Experiment(*self._values())

    def _values(self) -> tuple[Any, ...]:
        """The values of Experiment's fields, in their order (the catalog's read once)."""
        return tuple(getattr(self, f.name) for f in fields(Experiment))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyExperiment):
            other = other.plain()
        return self.plain() == other if isinstance(other, Experiment) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as Experiment's: its tags are a dict

    def __repr__(self) -> str:
        return repr(self.plain())

    def __reduce__(self) -> tuple[type[Experiment], tuple[Any, ...]]:
        return Experiment, self._values()  # a copy or a pickle is a plain Experiment


@dataclass(frozen=True)
class RunInfo:
    """A run's attributes."""

    run_id: str
    run_name: str
    experiment_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    user_id: str
    parent_run_id: str | None = None

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for ``run_id``."""
        return self.run_id


@dataclass(frozen=True)
class RunData:
    """A run's latest metrics, params and tags."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileInfo:
    """An artifact in a run's artifact folder."""

    path: str
    is_dir: bool
    file_size: int | None
