"""System metrics beside a run: sampled for real into a real store, under MLflow's names.

The machine is read for real (psutil) at a short interval, and each test waits until the
points it needs are in the store. The GPU path runs against a stand-in for nvidia-ml-py
(a third-party library, not canvasback's) that answers a fixed sample of two GPUs in
NVML's own units, given to a sampler of the test's own; it also runs with the real
library, which on a machine without a GPU must find none and say nothing.
"""

from __future__ import annotations

import os
import sys
import threading

import pytest

import canvasback as cb
from canvasback.tracking import system_metrics
from canvasback.tracking.system_readings import (
    GpuProbe,
    MachineProbe,
    Reading,
    average,
    counter_values,
)
from canvasback.tracking.system_sampler import SAMPLER, THREAD_NAME, Sampling, SystemSampler

INTERVAL = 0.05
CPU = "system/cpu_utilization_percentage"

# MLflow's names (mlflow/system_metrics/metrics/*.py), the machine's.
MLFLOW_MACHINE_KEYS = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}
CANVASBACK_MACHINE_KEYS = {
    "system/process_cpu_utilization_percentage",
    "system/process_memory_rss_megabytes",
    "system/process_memory_usage_percentage",
    "system/disk_read_megabytes_per_second",
    "system/disk_write_megabytes_per_second",
    "system/network_receive_megabytes_per_second",
    "system/network_transmit_megabytes_per_second",
}


class FakeNVML:
    """nvidia-ml-py's ``pynvml`` as far as the sampler uses it, for two GPUs.

    Values are in NVML's units: memory in bytes, power in milliwatts, temperature in °C.
    GPU 1 cannot report its power (``NVML_ERROR_NOT_SUPPORTED`` on some boards). GPU 0's
    utilisation moves through ``utilization`` one reading after another.
    """

    NVML_TEMPERATURE_GPU = 0

    class NVMLError(Exception):
        pass

    class _Memory:
        def __init__(self, used, total):
            self.used, self.total = used, total

    class _Rates:
        def __init__(self, gpu):
            self.gpu = gpu

    def __init__(self, utilization=(87,), *, present=True):
        self.utilization = list(utilization)
        self.present = present
        self.readings = 0

    def nvmlInit(self):  # noqa: N802 - pynvml's names
        if not self.present:
            msg = "NVML Shared Library Not Found"
            raise self.NVMLError(msg)

    def nvmlDeviceGetCount(self):  # noqa: N802 - pynvml's names
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):  # noqa: N802 - pynvml's names
        return i

    def nvmlDeviceGetMemoryInfo(self, handle):  # noqa: N802 - pynvml's names
        used = (30_064_771_072, 1_073_741_824)[handle]
        return self._Memory(used, 42_949_672_960)

    def nvmlDeviceGetUtilizationRates(self, handle):  # noqa: N802 - pynvml's names
        if handle == 1:
            return self._Rates(0)
        value = self.utilization[self.readings % len(self.utilization)]
        self.readings += 1
        return self._Rates(value)

    def nvmlDeviceGetPowerUsage(self, handle):  # noqa: N802 - pynvml's names
        if handle == 1:
            msg = "Not Supported"
            raise self.NVMLError(msg)
        return 251_346

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):  # noqa: N802 - pynvml's names
        del handle
        return 400_000

    def nvmlDeviceGetTemperature(self, handle, sensor):  # noqa: N802 - pynvml's names
        assert sensor == self.NVML_TEMPERATURE_GPU
        return (64, 35)[handle]


GPU_VALUES = {
    "gpu_0_memory_usage_percentage": 70.0,
    "gpu_0_memory_usage_megabytes": 30_064.771072,
    "gpu_0_utilization_percentage": 87.0,
    "gpu_0_power_usage_watts": 251.346,
    "gpu_0_power_usage_percentage": 62.8365,
    "gpu_0_temperature_celsius": 64.0,
    "gpu_1_memory_usage_percentage": 2.5,
    "gpu_1_memory_usage_megabytes": 1_073.741824,
    "gpu_1_utilization_percentage": 0.0,
    "gpu_1_temperature_celsius": 35.0,
}


def history(run_id, key=CPU):
    return cb.get_metric_history(run_id, key)


def logged(run_id, key=CPU):
    return len(history(run_id, key))


@pytest.fixture
def fast(store):
    """Readings every 50 ms in this test's store."""
    cb.set_system_metrics_sampling_interval(INTERVAL)
    return store


# -- a run sampled for real -----------------------------------------------------------------
def test_a_run_is_sampled_under_mlflows_names_until_it_ends(fast, wait):
    del fast
    with cb.start_run(run_name="train", log_system_metrics=True) as run:
        wait(lambda: logged(run.run_id) >= 3, what="three points of CPU")
    metrics = cb.get_run(run.run_id).data.metrics
    assert set(metrics) == MLFLOW_MACHINE_KEYS | CANVASBACK_MACHINE_KEYS
    points = history(run.run_id)
    assert list(points["step"]) == list(range(len(points)))
    assert all(0 <= v <= 100 for v in points["value"])
    assert metrics["system/system_memory_usage_megabytes"] > 0
    assert 0 < metrics["system/system_memory_usage_percentage"] <= 100
    assert metrics["system/disk_available_megabytes"] > 0
    assert metrics["system/process_memory_rss_megabytes"] > 0
    assert metrics["system/network_receive_megabytes"] >= 0
    assert metrics["system/disk_write_megabytes_per_second"] >= 0
    assert run.run_id not in SAMPLER.following()


def test_one_thread_samples_every_run_of_the_process(fast, wait):
    del fast
    outer = cb.start_run(run_name="outer", log_system_metrics=True)
    inner = cb.start_run(run_name="inner", nested=True, log_system_metrics=True)
    wait(lambda: logged(outer.run_id) >= 2 and logged(inner.run_id) >= 2, what="both runs")
    threads = [t for t in threading.enumerate() if t.name == THREAD_NAME]
    assert threads == [SAMPLER.thread]
    assert sorted(SAMPLER.following()) == sorted([outer.run_id, inner.run_id])
    cb.end_run()
    assert SAMPLER.following() == [outer.run_id]
    cb.end_run()
    wait(lambda: SAMPLER.thread is None, what="the thread to end with the last run")
    assert not threads[0].is_alive()


def end_with_end_run(run):
    del run
    cb.end_run()


def end_with_failure(run):
    with pytest.raises(ZeroDivisionError), run:
        _ = 1 / 0


def end_by_reset(run):
    del run
    cb.reset()


@pytest.mark.parametrize(
    ("end", "status"),
    [(end_with_end_run, "FINISHED"), (end_with_failure, "FAILED"), (end_by_reset, "FINISHED")],
    ids=["end_run", "exception", "reset"],
)
def test_the_end_of_a_run_ends_its_sampling(fast, wait, end, status):
    run = cb.start_run(log_system_metrics=True)
    wait(lambda: logged(run.run_id) >= 2, what="two points")
    end(run)
    assert run.run_id not in SAMPLER.following()
    cb.set_store(fast)  # a reset forgot the store
    cb.flush()
    at_end = logged(run.run_id)
    wait(lambda: SAMPLER.thread is None, what="the thread to end with the run")
    assert logged(run.run_id) == at_end
    assert cb.get_run(run.run_id).info.status == status


def test_a_resumed_run_goes_on_after_its_last_step(fast, wait):
    del fast
    with cb.start_run(log_system_metrics=True) as run:
        wait(lambda: logged(run.run_id) >= 2, what="two points")
    first = logged(run.run_id)
    with cb.start_run(run_id=run.run_id, log_system_metrics=True):
        wait(lambda: logged(run.run_id) >= first + 2, what="two more points")
    steps = list(history(run.run_id)["step"])
    assert steps == list(range(len(steps)))


# -- choosing ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "argument", "sampled"),
    [
        ({}, None, False),
        ({"CANVASBACK_SYSTEM_METRICS": "1"}, None, True),
        ({"MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "true"}, None, True),
        ({"MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "TRUE"}, None, True),
        (
            {"CANVASBACK_SYSTEM_METRICS": "off", "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "true"},
            None,
            False,
        ),
        ({"CANVASBACK_SYSTEM_METRICS": "1"}, False, False),
        ({}, True, True),
    ],
)
def test_the_argument_then_the_environment_decide(fast, monkeypatch, env, argument, sampled):
    del fast
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with cb.start_run(log_system_metrics=argument) as run:
        assert (run.run_id in SAMPLER.following()) is sampled


def test_enable_and_disable_are_the_process_choice_until_a_reset(fast, monkeypatch):
    del fast
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
    cb.enable_system_metrics_logging()
    with cb.start_run() as run:
        assert run.run_id in SAMPLER.following()
    with cb.start_run(log_system_metrics=False) as run:
        assert run.run_id not in SAMPLER.following()
    cb.disable_system_metrics_logging()
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    with cb.start_run() as run:
        assert run.run_id not in SAMPLER.following()
    with cb.start_run(log_system_metrics=True) as run:
        assert run.run_id in SAMPLER.following()
    cb.reset()
    assert system_metrics.sampling_for(None) is not None  # the environment's again


def test_the_interval_samples_and_node_from_settings_and_environment(monkeypatch):
    assert system_metrics.sampling_for(log_system_metrics=True) == Sampling(10.0, 1, "system/")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "2.5")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "4")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_NODE_ID", "node-0")
    assert system_metrics.sampling_for(log_system_metrics=True) == Sampling(
        2.5, 4, "system/node-0/"
    )
    monkeypatch.setenv("CANVASBACK_SYSTEM_METRICS_INTERVAL", "0.5")
    assert system_metrics.sampling_for(log_system_metrics=True).interval == 0.5
    cb.set_system_metrics_sampling_interval(30)
    cb.set_system_metrics_samples_before_logging(2)
    cb.set_system_metrics_node_id("gpu-box")
    assert system_metrics.sampling_for(log_system_metrics=True) == Sampling(
        30.0, 2, "system/gpu-box/"
    )
    cb.set_system_metrics_sampling_interval(None)
    assert system_metrics.sampling_for(log_system_metrics=True).interval == 0.5


def test_a_node_id_goes_into_every_key(fast, wait):
    del fast
    cb.set_system_metrics_node_id("worker-1")
    with cb.start_run(log_system_metrics=True) as run:
        wait(lambda: logged(run.run_id, "system/worker-1/cpu_utilization_percentage") >= 1)
    assert all(k.startswith("system/worker-1/") for k in cb.get_run(run.run_id).data.metrics)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("CANVASBACK_SYSTEM_METRICS", "maybe", "1, true, on or yes"),
        ("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "2", "1, true, on or yes"),
        ("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0", "greater than 0"),
        ("CANVASBACK_SYSTEM_METRICS_INTERVAL", "ten", "greater than 0"),
        ("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1.5", "1 or more"),
        ("MLFLOW_SYSTEM_METRICS_NODE_ID", "rack/3", "system/<node id>/"),
    ],
)
def test_a_bad_setting_is_refused_before_the_run_exists(store, monkeypatch, name, value, allowed):
    del store
    with cb.start_run(run_name="before"):
        cb.log_metric("kept", 1.0)
    if name != "CANVASBACK_SYSTEM_METRICS" and "ENABLE" not in name:
        monkeypatch.setenv("CANVASBACK_SYSTEM_METRICS", "1")
    monkeypatch.setenv(name, value)
    with pytest.raises(cb.InvalidInputError) as caught:
        cb.start_run(run_name="refused")
    assert name in str(caught.value)
    assert repr(value) in str(caught.value)
    assert allowed in str(caught.value)
    runs = cb.search_runs()
    assert list(runs["tags.mlflow.runName"]) == ["before"]
    assert list(runs["metrics.kept"]) == [1.0]
    assert cb.active_run() is None


@pytest.mark.parametrize(
    ("call", "value"),
    [
        (cb.set_system_metrics_sampling_interval, -1),
        (cb.set_system_metrics_sampling_interval, True),
        (cb.set_system_metrics_samples_before_logging, 0),
        (cb.set_system_metrics_node_id, ""),
    ],
)
def test_the_setters_refuse_what_is_not_a_setting(call, value):
    with pytest.raises(cb.InvalidInputError, match=repr(value).replace("(", r"\(")):
        call(value)


def test_log_system_metrics_takes_a_bool(store):
    del store
    with pytest.raises(cb.InvalidInputError, match="log_system_metrics 'yes'"):
        cb.start_run(log_system_metrics="yes")
    assert cb.active_run() is None


def test_without_psutil_a_run_that_asks_is_refused(store, monkeypatch):
    del store
    monkeypatch.setitem(sys.modules, "psutil", None)  # not installed
    with pytest.raises(system_metrics.SystemMetricsUnavailableError, match="pip install psutil"):
        cb.start_run(log_system_metrics=True)
    assert cb.search_runs().empty
    with cb.start_run(log_system_metrics=False):
        pass


# -- GPUs ----------------------------------------------------------------------------------------
def test_gpu_values_from_a_recorded_sample():
    values = GpuProbe(FakeNVML()).read()
    assert values == pytest.approx(GPU_VALUES)
    assert set(values) == set(GPU_VALUES)  # GPU 1's power is left out, not zero


def test_no_nvml_or_no_gpu_is_no_gpu_metrics(monkeypatch):
    assert GpuProbe(FakeNVML(present=False)).read() == {}
    monkeypatch.setitem(sys.modules, "pynvml", None)  # nvidia-ml-py not installed
    assert GpuProbe().read() == {}


def test_the_real_nvml_finds_this_machines_gpus_or_none():
    probe = GpuProbe()
    values = probe.read()
    # On a machine with NVIDIA GPUs, each has its values; without one, there are none.
    expected = {f"gpu_{i}_utilization_percentage" for i in range(probe.count)}
    assert expected <= set(values)
    assert all(k.startswith(tuple(f"gpu_{i}_" for i in range(probe.count))) for k in values)


def test_gpus_are_sampled_into_the_run_and_averaged(store, wait):
    del store
    nvml = FakeNVML(utilization=(40, 60, 80))
    sampler = SystemSampler(lambda: MachineProbe(GpuProbe(nvml)))
    run = cb.start_run()
    sampler.follow(run, Sampling(INTERVAL, samples=3))
    key = "system/gpu_0_utilization_percentage"
    wait(lambda: logged(run.run_id, key) >= 2, what="two GPU points")
    cb.end_run()
    assert sampler.following() == []
    assert set(history(run.run_id, key)["value"]) == {60.0}  # each point: (40 + 60 + 80) / 3
    metrics = cb.get_run(run.run_id).data.metrics
    assert metrics["system/gpu_0_temperature_celsius"] == 64.0
    assert metrics["system/gpu_1_memory_usage_percentage"] == 2.5
    assert metrics["system/gpu_0_power_usage_watts"] == pytest.approx(251.3)
    assert "system/gpu_1_power_usage_watts" not in metrics
    # The start reading opens the run's window; each point then takes three more.
    assert nvml.readings >= 1 + 3 * 2
    wait(lambda: sampler.thread is None, what="the test's sampler to stop")


def test_the_names_are_mlflows_own(monkeypatch):
    from mlflow.system_metrics.metrics import (  # noqa: PLC0415 - only to compare names
        cpu_monitor,
        disk_monitor,
        gpu_monitor,
        network_monitor,
    )

    monkeypatch.setattr(gpu_monitor, "pynvml", FakeNVML())
    theirs = {}
    for monitor in (
        cpu_monitor.CPUMonitor(),
        disk_monitor.DiskMonitor(),
        network_monitor.NetworkMonitor(),
        gpu_monitor.GPUMonitor(),
    ):
        monitor.collect_metrics()
        theirs.update(monitor.aggregate_metrics())
    probe = MachineProbe(GpuProbe(FakeNVML()))
    start = probe.read()
    last = probe.read()
    ours = {**average([last]), **counter_values(start, start, last)}
    own = {k.removeprefix("system/") for k in CANVASBACK_MACHINE_KEYS}
    own |= {"gpu_0_temperature_celsius", "gpu_1_temperature_celsius"}
    assert set(ours) - set(theirs) == own
    assert set(theirs) - set(ours) == set()
    for key in GPU_VALUES:
        if key in theirs:
            assert ours[key] == theirs[key], key


# -- what a point is made of ------------------------------------------------------------------
def test_counters_give_totals_since_the_start_and_rates_since_the_last_point():
    start = Reading(0.0, counters={"network_received_bytes": 5e6, "disk_read_bytes": 1e6})
    previous = Reading(10.0, counters={"network_received_bytes": 7e6, "disk_read_bytes": 2e6})
    last = Reading(12.0, counters={"network_received_bytes": 9e6, "disk_read_bytes": 8e6})
    assert counter_values(start, previous, last) == {
        "network_receive_megabytes": 4.0,
        "network_receive_megabytes_per_second": 1.0,
        "disk_read_megabytes_per_second": 3.0,
    }
    # A counter that went back (a reset interface) reads 0, never negative.
    assert counter_values(last, last, start)["network_receive_megabytes"] == 0.0


def test_gauges_are_averaged_to_one_decimal():
    readings = [Reading(0.0, {"a": 1.0, "b": 10.0}), Reading(1.0, {"a": 2.0, "b": 10.04})]
    assert average(readings) == {"a": 1.5, "b": 10.0}


# -- processes ------------------------------------------------------------------------------------
EXIT_WITHOUT_ENDING = """
import atexit, sys, threading, time

def report():  # registered first, so it runs after canvasback's own exit hooks
    names = [t.name for t in threading.enumerate() if t.is_alive()]
    print("sampling thread alive at exit:", "canvasback-system-metrics" in names)

atexit.register(report)

import canvasback as cb

cb.set_store(sys.argv[1])
cb.set_system_metrics_sampling_interval(0.05)
run = cb.start_run(run_name="left running", log_system_metrics=True)
deadline = time.monotonic() + 30
while len(cb.get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")) < 2:
    assert time.monotonic() < deadline, "no two points"
    time.sleep(0.01)  # polling the store for the condition
print("run", run.info.run_id)
"""


def test_process_exit_ends_the_sampling_with_the_run(store, run_python):
    result = run_python(EXIT_WITHOUT_ENDING, store)
    lines = result.stdout.splitlines()
    assert "sampling thread alive at exit: False" in lines, result.stdout + result.stderr
    run_id = next(line.split()[1] for line in lines if line.startswith("run "))
    assert cb.get_run(run_id).info.status == "FINISHED"
    assert logged(run_id) >= 2


FORK = """
import os, sys, time
import canvasback as cb

cb.set_store(sys.argv[1])
cb.set_system_metrics_sampling_interval(0.05)


def wait_for(run_id, n):
    deadline = time.monotonic() + 30
    while len(cb.get_metric_history(run_id, "system/cpu_utilization_percentage")) < n:
        assert time.monotonic() < deadline, f"no {n} points for {run_id}"
        time.sleep(0.01)  # polling the store for the condition


parent = cb.start_run(run_name="parent", log_system_metrics=True)
wait_for(parent.info.run_id, 2)
pid = os.fork()
if pid == 0:  # the child: the parent's thread did not come along
    try:
        with cb.start_run(run_name="child", nested=True, log_system_metrics=True) as child:
            wait_for(child.info.run_id, 3)
        cb.flush()
    except BaseException as exc:
        print("child failed:", repr(exc), flush=True)
        os._exit(1)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status))
before = len(cb.get_metric_history(parent.info.run_id, "system/cpu_utilization_percentage"))
wait_for(parent.info.run_id, before + 2)  # the parent's run is still sampled
cb.end_run()
print("parent", parent.info.run_id)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_samples_its_own_runs_and_the_parent_goes_on(store, run_python):
    result = run_python(FORK, store, timeout=90)
    lines = result.stdout.splitlines()
    assert "child exit 0" in lines, result.stdout + result.stderr
    runs = cb.search_runs()
    by_name = dict(zip(runs["tags.mlflow.runName"], runs["run_id"], strict=True))
    for name in ("parent", "child"):
        steps = list(history(by_name[name])["step"])
        # One sampler per run: every step once, none logged by the other process too.
        assert steps == list(range(len(steps))), (name, steps)
    assert logged(by_name["child"]) >= 3
    assert logged(by_name["parent"]) >= 4
