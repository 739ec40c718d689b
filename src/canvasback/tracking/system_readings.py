"""One reading of the machine: CPU, memory, disk, network, this process and NVIDIA GPUs.

The names are MLflow's (``mlflow/system_metrics/metrics/``), without the ``system/``
prefix the sampler puts before them, so that MLflow's UI shows a canvasback run's system
metrics through the plugin. canvasback's own readings, which MLflow does not take, have
names that say so: the process's (``process_*``), throughputs (``*_per_second``) and
GPU temperatures.

A reading holds two kinds of values. *Gauges* (a percentage, megabytes in use, watts)
are averaged over the samples of a logged point, as MLflow does. *Counters* (bytes read
and written, received and sent since boot) only grow: a logged point takes their
difference since the run started (MLflow's ``network_*_megabytes``) and since the
run's last point (the throughputs).

psutil reads the machine; nvidia-ml-py (``pynvml``) reads the GPUs when it is installed
and finds a driver and a GPU. Neither absent NVML nor a machine without a GPU is an
error: the reading then has no GPU values. A GPU value NVML cannot give (power on some
boards) is left out, the others kept.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Final

_LOG = logging.getLogger(__name__)

PREFIX: Final = "system/"

# MLflow's names (CPUMonitor, DiskMonitor, NetworkMonitor, GPUMonitor).
CPU_PERCENT: Final = "cpu_utilization_percentage"
MEMORY_MB: Final = "system_memory_usage_megabytes"
MEMORY_PERCENT: Final = "system_memory_usage_percentage"
DISK_PERCENT: Final = "disk_usage_percentage"
DISK_USED_MB: Final = "disk_usage_megabytes"
DISK_FREE_MB: Final = "disk_available_megabytes"
NETWORK_RECEIVED_MB: Final = "network_receive_megabytes"
NETWORK_SENT_MB: Final = "network_transmit_megabytes"
GPU_UTILIZATION: Final = "gpu_{i}_utilization_percentage"
GPU_MEMORY_MB: Final = "gpu_{i}_memory_usage_megabytes"
GPU_MEMORY_PERCENT: Final = "gpu_{i}_memory_usage_percentage"
GPU_POWER_WATTS: Final = "gpu_{i}_power_usage_watts"
GPU_POWER_PERCENT: Final = "gpu_{i}_power_usage_percentage"

# canvasback's own: this process (its CPU over one core, as top shows it, so a process
# using three cores reads 300), throughputs, GPU temperature.
PROCESS_CPU_PERCENT: Final = "process_cpu_utilization_percentage"
PROCESS_MEMORY_MB: Final = "process_memory_rss_megabytes"
PROCESS_MEMORY_PERCENT: Final = "process_memory_usage_percentage"
DISK_READ_RATE: Final = "disk_read_megabytes_per_second"
DISK_WRITE_RATE: Final = "disk_write_megabytes_per_second"
NETWORK_RECEIVE_RATE: Final = "network_receive_megabytes_per_second"
NETWORK_TRANSMIT_RATE: Final = "network_transmit_megabytes_per_second"
GPU_TEMPERATURE: Final = "gpu_{i}_temperature_celsius"

# The counters a reading holds, in bytes since boot, and the names logged for them:
# the total since the run started (MLflow's, network only) and the rate since the last point.
NETWORK_RECEIVED: Final = "network_received_bytes"
NETWORK_SENT: Final = "network_sent_bytes"
DISK_READ: Final = "disk_read_bytes"
DISK_WRITTEN: Final = "disk_written_bytes"
TOTALS: Final = {NETWORK_RECEIVED: NETWORK_RECEIVED_MB, NETWORK_SENT: NETWORK_SENT_MB}
RATES: Final = {
    NETWORK_RECEIVED: NETWORK_RECEIVE_RATE,
    NETWORK_SENT: NETWORK_TRANSMIT_RATE,
    DISK_READ: DISK_READ_RATE,
    DISK_WRITTEN: DISK_WRITE_RATE,
}

_MB: Final = 1e6  # MLflow's megabytes are 10**6 bytes
_NOT_LOADED: Final = object()


@dataclass(frozen=True)
class Reading:
    """What the machine said at one moment (``at``: ``time.monotonic()``)."""

    at: float
    gauges: dict[str, float] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)


class GpuProbe:
    """NVIDIA GPUs through NVML: utilisation, memory, power and temperature of each.

    Parameters
    ----------
    nvml
        The NVML bindings: a module with pynvml's functions (``nvmlInit``,
        ``nvmlDeviceGetCount``, ...) and its ``NVMLError``. None imports ``pynvml``
        (nvidia-ml-py) on first use.

    """

    def __init__(self, nvml: Any = None) -> None:  # noqa: ANN401  # pynvml or a stand-in
        self._nvml: Any = _NOT_LOADED if nvml is None else nvml
        self._handles: list[Any] | None = None

    def _start(self) -> list[Any]:
        """The GPUs' handles, found once; none without NVML, a driver or a GPU."""
        if self._handles is not None:
            return self._handles
        self._handles = []
        if self._nvml is _NOT_LOADED:
            try:
                self._nvml = importlib.import_module("pynvml")
            except ImportError:
                _LOG.debug("canvasback: no GPU metrics: nvidia-ml-py is not installed")
                self._nvml = None
        nvml = self._nvml
        if nvml is None:
            return self._handles
        try:
            nvml.nvmlInit()
            count = int(nvml.nvmlDeviceGetCount())
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except nvml.NVMLError as exc:  # no driver, no GPU: no GPU metrics
            _LOG.debug("canvasback: no GPU metrics: NVML says %s", exc)
        return self._handles

    @property
    def count(self) -> int:
        """How many GPUs NVML finds (0 without NVML)."""
        return len(self._start())

    def read(self) -> dict[str, float]:
        """Each GPU's values, by MLflow's names (``gpu_0_utilization_percentage``, ...)."""
        values: dict[str, float] = {}
        for i, handle in enumerate(self._start()):
            values.update(self._read_one(i, handle))
        return values

    def _read_one(self, i: int, handle: Any) -> dict[str, float]:  # noqa: ANN401  # NVML's handle
        nvml = self._nvml
        values: dict[str, float] = {}
        # One call per group, as MLflow: a board that cannot say one keeps the others.
        try:
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            values[GPU_MEMORY_PERCENT.format(i=i)] = round(memory.used / memory.total * 100, 1)
            values[GPU_MEMORY_MB.format(i=i)] = memory.used / _MB
        except nvml.NVMLError as exc:
            _LOG.debug("canvasback: GPU %d memory: %s", i, exc)
        try:
            values[GPU_UTILIZATION.format(i=i)] = float(
                nvml.nvmlDeviceGetUtilizationRates(handle).gpu
            )
        except nvml.NVMLError as exc:
            _LOG.debug("canvasback: GPU %d utilization: %s", i, exc)
        try:
            milliwatts = nvml.nvmlDeviceGetPowerUsage(handle)
            limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle)
            values[GPU_POWER_WATTS.format(i=i)] = milliwatts / 1000
            values[GPU_POWER_PERCENT.format(i=i)] = milliwatts / limit * 100
        except nvml.NVMLError as exc:
            _LOG.debug("canvasback: GPU %d power: %s", i, exc)
        try:
            values[GPU_TEMPERATURE.format(i=i)] = float(
                nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
            )
        except nvml.NVMLError as exc:
            _LOG.debug("canvasback: GPU %d temperature: %s", i, exc)
        return values


class MachineProbe:
    """Reads the machine, this process and its GPUs; one per process (see the sampler).

    Parameters
    ----------
    gpus
        The GPUs' probe; by default NVML's, through ``pynvml`` if it is installed.

    """

    def __init__(self, gpus: GpuProbe | None = None) -> None:
        import psutil  # noqa: PLC0415  # loaded by a run that samples, not by import canvasback

        self._psutil = psutil
        self._process = psutil.Process(os.getpid())
        self.gpus = GpuProbe() if gpus is None else gpus
        # CPU shares are measured from one call to the next: this first call starts both.
        psutil.cpu_percent(interval=None)
        self._process.cpu_percent(interval=None)

    def read(self) -> Reading:
        """One reading of everything, with the moment it was taken."""
        psutil = self._psutil
        at = time.monotonic()
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(os.sep)
        gauges = {
            CPU_PERCENT: psutil.cpu_percent(interval=None),
            MEMORY_MB: memory.used / _MB,
            MEMORY_PERCENT: memory.used / memory.total * 100,
            DISK_PERCENT: disk.percent,
            DISK_USED_MB: disk.used / _MB,
            DISK_FREE_MB: disk.free / _MB,
            PROCESS_CPU_PERCENT: self._process.cpu_percent(interval=None),
            PROCESS_MEMORY_MB: self._process.memory_info().rss / _MB,
            PROCESS_MEMORY_PERCENT: self._process.memory_percent(),
        }
        gauges.update(self.gpus.read())
        counters: dict[str, float] = {}
        network = psutil.net_io_counters()
        if network is not None:  # None on a machine without network interfaces
            counters[NETWORK_RECEIVED] = float(network.bytes_recv)
            counters[NETWORK_SENT] = float(network.bytes_sent)
        disks = psutil.disk_io_counters()
        if disks is not None:  # None where the kernel shows no disk statistics
            counters[DISK_READ] = float(disks.read_bytes)
            counters[DISK_WRITTEN] = float(disks.write_bytes)
        return Reading(at, gauges, counters)


def average(readings: list[Reading]) -> dict[str, float]:
    """Each gauge's mean over ``readings``, to one decimal as MLflow logs it."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for reading in readings:
        for key, value in reading.gauges.items():
            sums[key] = sums.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1
    return {key: round(total / counts[key], 1) for key, total in sums.items()}


def counter_values(start: Reading, previous: Reading, last: Reading) -> dict[str, float]:
    """Totals since ``start`` (MLflow's network megabytes) and rates since ``previous``."""
    values: dict[str, float] = {}
    for counter, name in TOTALS.items():
        if counter in last.counters and counter in start.counters:
            values[name] = max(last.counters[counter] - start.counters[counter], 0.0) / _MB
    seconds = last.at - previous.at
    if seconds > 0:
        for counter, name in RATES.items():
            if counter in last.counters and counter in previous.counters:
                grown = max(last.counters[counter] - previous.counters[counter], 0.0)
                values[name] = grown / _MB / seconds
    return values
