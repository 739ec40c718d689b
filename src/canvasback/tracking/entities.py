"""Plain records the tracking API hands out and takes in (MLflow's names and fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


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
