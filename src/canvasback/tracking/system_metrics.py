"""System metrics beside a run, as MLflow logs them: whether, how often, under which keys.

``start_run(log_system_metrics=True)`` samples the machine while the run goes on (the
thread is ``system_sampler.py``'s, the readings ``system_readings.py``'s). With
``log_system_metrics=None`` the process's choice decides: :func:`enable_system_metrics_logging`
or :func:`disable_system_metrics_logging`, else ``CANVASBACK_SYSTEM_METRICS``, else
MLflow's ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``, else off. Likewise the interval
(:func:`set_system_metrics_sampling_interval`, ``CANVASBACK_SYSTEM_METRICS_INTERVAL``,
``MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL``, 10 s), the readings averaged into each
logged point (:func:`set_system_metrics_samples_before_logging`,
``MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING``, 1) and a node id that goes into every
key (:func:`set_system_metrics_node_id`, ``MLFLOW_SYSTEM_METRICS_NODE_ID``:
``system/<node>/cpu_utilization_percentage``). The functions' choices are the process's
context's, so :func:`canvasback.reset` forgets them; MLflow's own set environment
variables instead, which canvasback reads too.

A setting that is not one is refused when a run asks for system metrics, before the run
is created, with an error naming the setting, its value and what it may be.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from canvasback import query
from canvasback.exceptions import MlflowException
from canvasback.tracking import validation
from canvasback.tracking.context import Slot, current_context
from canvasback.tracking.system_readings import CPU_PERCENT, PREFIX
from canvasback.tracking.system_sampler import SAMPLER, Sampling

if TYPE_CHECKING:
    from canvasback.tracking.run import Run

__all__ = [
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "set_system_metrics_node_id",
    "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval",
]

# canvasback's variable first, then MLflow's: the first one set decides.
ENABLE_ENV: Final = ("CANVASBACK_SYSTEM_METRICS", "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING")
INTERVAL_ENV: Final = (
    "CANVASBACK_SYSTEM_METRICS_INTERVAL",
    "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL",
)
SAMPLES_ENV: Final = ("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING",)
NODE_ENV: Final = ("MLFLOW_SYSTEM_METRICS_NODE_ID",)
DEFAULT_INTERVAL: Final = 10.0
DEFAULT_SAMPLES: Final = 1

_ON: Final = frozenset({"1", "true", "on", "yes"})
_OFF: Final = frozenset({"0", "false", "off", "no"})


class SystemMetricsUnavailableError(MlflowException, RuntimeError):
    """System metrics were asked for, but psutil, which reads them, is not installed."""


@dataclass
class _Choices:
    """The module functions' choices in one context (None: the environment decides)."""

    enabled: bool | None = None
    interval: float | None = None
    samples: int | None = None
    node_id: str | None = None


_CHOSEN: Final[Slot[_Choices]] = Slot("system metrics settings", lambda _ctx: _Choices())


def enable_system_metrics_logging() -> None:
    """Log system metrics for every run this process starts, unless it says otherwise.

    ``start_run(log_system_metrics=False)`` still turns them off for one run.
    """
    current_context().get(_CHOSEN).enabled = True


def disable_system_metrics_logging() -> None:
    """Log no system metrics unless a run asks: ``start_run(log_system_metrics=True)``."""
    current_context().get(_CHOSEN).enabled = False


def set_system_metrics_sampling_interval(interval: float | None) -> None:
    """Seconds between readings of the machine (None: back to the environment's, or 10)."""
    checked = None if interval is None else _interval(interval, "sampling interval")
    current_context().get(_CHOSEN).interval = checked


def set_system_metrics_samples_before_logging(samples: int | None) -> None:
    """Readings averaged into each logged point (None: back to the environment's, or 1)."""
    checked = None if samples is None else _samples(samples, "samples before logging")
    current_context().get(_CHOSEN).samples = checked


def set_system_metrics_node_id(node_id: str | None) -> None:
    """A name for this machine in every key: ``system/<node_id>/...`` (None: none)."""
    checked = None if node_id is None else _node_id(node_id, "node id")
    current_context().get(_CHOSEN).node_id = checked


def sampling_for(log_system_metrics: object) -> Sampling | None:
    """How a run about to start is sampled; None when it logs no system metrics.

    ``log_system_metrics`` is ``start_run``'s argument. Every setting is checked here,
    before the run exists, so that a refusal leaves nothing behind.
    """
    chosen = current_context().get(_CHOSEN)
    if log_system_metrics is None:
        wanted = chosen.enabled if chosen.enabled is not None else _enabled_by_environment()
    elif isinstance(log_system_metrics, bool):
        wanted = log_system_metrics
    else:
        msg = (
            f"Invalid log_system_metrics {log_system_metrics!r}: True, False, or None "
            f"(then {' or '.join(ENABLE_ENV)} decides)"
        )
        raise validation.InvalidInputError(msg)
    if not wanted:
        return None
    try:
        import psutil  # noqa: F401, PLC0415  # a dependency; loaded once a run samples
    except ImportError:
        msg = (
            "System metrics need psutil, which is not installed: pip install psutil "
            "(and nvidia-ml-py for NVIDIA GPUs), or start the run with "
            "log_system_metrics=False"
        )
        raise SystemMetricsUnavailableError(msg) from None
    interval = chosen.interval
    if interval is None:
        found = _environment(INTERVAL_ENV)
        interval = DEFAULT_INTERVAL if found is None else _interval(found[1], found[0])
    samples = chosen.samples
    if samples is None:
        found = _environment(SAMPLES_ENV)
        samples = DEFAULT_SAMPLES if found is None else _samples(found[1], found[0])
    node_id = chosen.node_id
    if node_id is None:
        found = _environment(NODE_ENV)
        node_id = None if found is None else _node_id(found[1], found[0])
    prefix = PREFIX if node_id is None else f"{PREFIX}{node_id}/"
    return Sampling(interval=interval, samples=samples, prefix=prefix)


def start(run: Run, sampling: Sampling, *, resumed: bool) -> None:
    """Sample ``run`` until it ends; a resumed run goes on after its last system step."""
    first = _next_step(run, sampling.prefix) if resumed else 0
    SAMPLER.follow(run, sampling, first)


def _next_step(run: Run, prefix: str) -> int:
    """The step after the last one of the run's system metrics under ``prefix`` (or 0)."""
    latest = query.latest_metric_rows(run.store.read(), run.run_id)
    steps = [step for key, step, _ts, _value in latest if key.startswith(prefix)]
    return max(steps) + 1 if steps else 0


# -- the environment ---------------------------------------------------------------------
def _environment(names: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``names`` set (to something), with its value."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return name, value
    return None


def _enabled_by_environment() -> bool:
    found = _environment(ENABLE_ENV)
    if found is None:
        return False
    name, value = found
    word = value.lower()
    if word in _ON | _OFF:
        return word in _ON
    msg = (
        f"Invalid {name} {value!r}: 1, true, on or yes to log system metrics; "
        "0, false, off or no not to"
    )
    raise validation.InvalidInputError(msg)


def _interval(value: object, what: str) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]  # checked by the conversion
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not 0 < seconds < math.inf:
        msg = f"Invalid {what} {value!r}: a number of seconds greater than 0, such as 10 or 0.5"
        raise validation.InvalidInputError(msg)
    return seconds


def _samples(value: object, what: str) -> int:
    try:
        count = int(str(value)) if not isinstance(value, bool | float) else 0
    except ValueError:
        count = 0
    if count < 1:
        msg = f"Invalid {what} {value!r}: a whole number of readings, 1 or more"
        raise validation.InvalidInputError(msg)
    return count


def _node_id(value: object, what: str) -> str:
    node = str(value) if isinstance(value, str) else ""
    try:
        validation.validate_key("metric", f"{PREFIX}{node}/{CPU_PERCENT}")
    except validation.InvalidInputError:
        node = ""
    if not node or "/" in node:
        msg = (
            f"Invalid {what} {value!r}: a name of letters, digits, _, -, ., spaces or :, "
            "which goes into every key (system/<node id>/...)"
        )
        raise validation.InvalidInputError(msg) from None
    return node
