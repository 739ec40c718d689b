"""One context holds the process's state; canvasback.reset() starts a fresh one."""

from __future__ import annotations

import gc
import os
import threading
import weakref

import pytest

import canvasback as cb
from canvasback.projects import capture
from canvasback.tracking.context import Slot, current_context


def test_reset_forgets_the_choices_ends_runs_and_closes_stores(tmp_path, monkeypatch):
    monkeypatch.setenv("CANVASBACK_STORE", str(tmp_path / "default"))
    root = cb.set_store(tmp_path / "chosen")
    cb.set_experiment("chosen")
    cb.set_capture("git")
    run = cb.start_run(run_name="left behind")
    cb.log_metric("loss", 0.5)
    in_thread = []
    worker = threading.Thread(target=lambda: in_thread.append(cb.start_run(run_name="thread")))
    worker.start()
    worker.join()
    before = cb.client()

    cb.reset()

    assert list((root / "metrics").rglob("*.parquet"))  # flushed as the store closed
    assert run.ended
    assert in_thread[0].ended  # every thread's runs end
    assert cb.active_run() is None
    assert cb.get_store() == tmp_path / "default"  # the environment's store again
    assert capture.current_parts() == capture.parse_parts("none")  # CANVASBACK_CAPTURE again
    assert cb.client() is not before
    assert cb.client().store is not before.store  # a store opened afresh
    # The rows are on disk, the run FINISHED, and its experiment is no longer current.
    cb.set_store(root)
    found = cb.get_run(run.info.run_id)
    assert found.info.status == "FINISHED"
    assert found.data.metrics == {"loss": 0.5}
    assert cb.get_experiment(found.info.experiment_id).name == "chosen"
    with cb.start_run() as fresh:
        pass
    assert cb.get_experiment(fresh.info.experiment_id).name == "Default"


def test_reset_keeps_the_hooks_the_package_wired_in():
    from canvasback import _notebook  # noqa: PLC0415

    cb.reset()
    hooks = current_context().hooks
    assert _notebook.live_view_hook in hooks.run_start
    assert capture.capture_hook in hooks.run_create


def test_a_slot_is_per_context_and_made_on_first_use():
    made = []
    slot = Slot("a layer's state", lambda ctx: made.append(ctx) or {"n": len(made)})
    first = current_context().get(slot)
    assert current_context().get(slot) is first
    assert made == [current_context()]
    cb.reset()
    assert current_context().get(slot) == {"n": 2}  # a fresh context makes it again


def test_the_registry_client_shares_the_fluent_runs_and_follows_the_store(tmp_path):
    cb.set_store(tmp_path / "a")
    client = cb.client()
    assert cb.client() is client
    with cb.start_run() as run:
        client.set_terminated(run.info.run_id, "FAILED")  # ends the fluent run too
        assert cb.active_run() is None
    assert cb.get_run(run.info.run_id).info.status == "FAILED"
    cb.set_store(tmp_path / "b")
    other = cb.client()
    assert other is not client
    assert other.store.root == cb.get_store() == tmp_path / "b"
    with cb.start_run() as run:
        other.log_metric(run.info.run_id, "through the client", 1.0)  # the fluent handle
    assert cb.get_run(run.info.run_id).data.metrics == {"through the client": 1.0}


def test_a_client_that_ended_many_runs_holds_none_of_their_handles(store):
    client = cb.MlflowClient(store)
    experiment_id = client.create_experiment("sweep")
    ended = []
    for i in range(1000):
        run = client.create_run(experiment_id)
        run.log_metric("loss", 1 / (i + 1))
        if i % 2:
            client.set_terminated(run.info.run_id)  # through the client
        else:
            run.end()  # through the handle
        ended.append(weakref.ref(run))
    del run
    going = client.create_run(experiment_id)
    gc.collect()
    assert [ref for ref in ended if ref() is not None] == []
    # The live run keeps its one handle; an ended one held by the caller stays itself.
    assert client.handle(going.info.run_id) is going
    client.set_terminated(going.info.run_id)
    assert client.get_run(going.info.run_id).info.status == "FINISHED"
    going.resume()  # through the handle: it is the client's live handle again
    assert client.handle(going.info.run_id) is going
    client.log_metric(going.info.run_id, "late", 1.0)
    going.end()
    assert cb.MlflowClient(store).get_run(going.info.run_id).data.metrics["late"] == 1.0


FORK_WHILE_HELD = """
import os, sys, threading
import canvasback as cb
from canvasback.tracking.context import current_context

cb.set_store(sys.argv[1])
cb.set_experiment("forked")
holding, release = threading.Event(), threading.Event()

def hold():
    with current_context().lock:  # as a thread inside start_run holds it
        holding.set()
        release.wait(timeout=60)

holder = threading.Thread(target=hold)
holder.start()
holding.wait(timeout=30)
pid = os.fork()
if pid == 0:  # the child: the holder thread did not come along, nor does its hold
    with cb.start_run(run_name="child"):
        cb.log_metric("x", 1.0)
    cb.flush()
    os._exit(0)
release.set()
holder.join()
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_starts_runs_while_another_thread_held_the_context(store, run_python):
    result = run_python(FORK_WHILE_HELD, store, timeout=60)
    assert "child exit 0" in result.stdout.splitlines()
    runs = cb.search_runs(experiment_names=["forked"])
    assert list(runs["tags.mlflow.runName"]) == ["child"]
    assert list(runs["metrics.x"]) == [1.0]
