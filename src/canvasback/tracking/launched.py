"""The run a launcher made for this process, as the launcher describes it.

``run_notebook``, ``run_project`` and sweeps make a run, then start a kernel or a
command told its id (``CANVASBACK_RUN_ID``, which the fluent API resumes once). They
also hand over the run's record (:data:`RUN_RECORD_ENV`: its attributes and params, as
JSON), so that the launched process takes its run up without reading the store: a
fresh process's first read loads the store's whole catalog, a good part of a short
trial's time. A record for another run, or none (MLflow's launchers), means the run
is read from the store as before.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from canvasback.tracking.entities import RunInfo

if TYPE_CHECKING:
    from canvasback.tracking.run import Run

RUN_RECORD_ENV: Final = "CANVASBACK_RUN_RECORD"


@dataclass(frozen=True)
class RunRecord:
    """A run's attributes and params, as the process that made it knows them."""

    info: RunInfo
    params: dict[str, str]


def record_text(run: Run) -> str:
    """The record of a run this process made, for :data:`RUN_RECORD_ENV`."""
    return json.dumps({"info": dataclasses.asdict(run.info), "params": run.known_params})


def take_record(run_id: str) -> RunRecord | None:
    """The launcher's record of ``run_id`` (taken once), or None."""
    text = os.environ.pop(RUN_RECORD_ENV, None)
    if not text:
        return None
    try:
        data = json.loads(text)
        record = RunRecord(
            RunInfo(**data["info"]), {str(k): str(v) for k, v in data["params"].items()}
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # not one of ours: the store says what the run is
    return record if record.info.run_id == run_id else None
