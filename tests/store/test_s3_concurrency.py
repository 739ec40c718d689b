"""Several processes on one store on object storage: nothing lost, nothing twice.

Real processes on a real S3-compatible server (SeaweedFS), each with a cache folder of
its own (as on two machines): two writers log and register at once; a writer logs
while this process compacts the store and writes snapshots under it.
"""

from __future__ import annotations

import json
import subprocess

import pytest

import canvasback as cb
from canvasback.store import open_store

WRITER = """
import json
import os
import sys

os.environ["XDG_CACHE_HOME"] = sys.argv[2]  # a machine of its own
import canvasback as cb

cb.set_store(sys.argv[1])
steps, versions = int(sys.argv[3]), int(sys.argv[4])
print("ready", flush=True)
sys.stdin.readline()  # all start together
registered = []
with cb.start_run(run_name=f"writer {os.getpid()}") as run:
    for step in range(steps):
        cb.log_metric("loss", float(step), step=step)
        if step % 500 == 499:
            cb.flush()  # many segments
    for _ in range(versions):
        registered.append(cb.register_model(sys.argv[5], "shared").version)
print(json.dumps({"run_id": run.info.run_id, "versions": registered}), flush=True)
"""


@pytest.fixture
def url(s3_env, s3_bucket, monkeypatch):
    del s3_env
    monkeypatch.setenv("CANVASBACK_HEARTBEAT_SECONDS", "3600")
    return f"s3://{s3_bucket}/team"


@pytest.fixture
def model_uri(url):
    cb.set_store(url)
    with cb.start_run(run_name="model") as run:
        cb.log_text("flavors: {}\n", "model/MLmodel")
    cb.flush()
    return f"runs:/{run.info.run_id}/model"


def _start(spawn_python, url, cache, steps, versions, model_uri):
    child = spawn_python(WRITER, url, cache, steps, versions, model_uri, stdin=subprocess.PIPE)
    assert child.stdout.readline().strip() == "ready", child.stderr.read()
    return child


def _points(url: str) -> dict[str, tuple[int, int]]:
    rows = (
        cb.Client(url)
        .store.read()
        .rows(
            "SELECT run_id, count(*), count(DISTINCT step) FROM metrics WHERE key = 'loss' "
            "GROUP BY run_id"
        )
    )
    return {run_id: (count, distinct) for run_id, count, distinct in rows}


def test_two_writers_with_caches_of_their_own_lose_and_double_nothing(
    url, model_uri, spawn_python, tmp_path
):
    caches = [tmp_path / "machine-a", tmp_path / "machine-b"]
    children = [_start(spawn_python, url, c, 3000, 5, model_uri) for c in caches]
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    points = _points(url)
    for result in results:
        assert points[result["run_id"]] == (3000, 3000)  # every point, once
    versions = sorted(int(v) for r in results for v in r["versions"])
    assert versions == list(range(1, 11))  # unique and gap-free across both
    listed = cb.client().search_model_versions("name = 'shared'")
    assert sorted(int(v.version) for v in listed) == list(range(1, 11))
    for cache in caches:  # each read and wrote through its own cache folder
        assert list(cache.glob("canvasback/s3/*/objects/metrics/*/*"))


IN_BATCHES = """
import os
import sys

os.environ["XDG_CACHE_HOME"] = sys.argv[2]
import canvasback as cb

cb.set_store(sys.argv[1])
with cb.start_run(run_name="batches") as run:
    print(run.info.run_id, flush=True)
    for batch in range(12):
        for step in range(batch * 500, (batch + 1) * 500):
            cb.log_metric("loss", float(step), step=step)
        cb.flush()
        print(batch, flush=True)
        if batch % 2 == 0:
            sys.stdin.readline()  # in step with the compactor; odd batches run beside it
print("ended", flush=True)
"""

COUNT = """
import os
import sys

os.environ["XDG_CACHE_HOME"] = sys.argv[2]
import canvasback as cb

cb.set_store(sys.argv[1])
history = cb.client().get_metric_history(sys.argv[3], "loss")
print(len(history), len({m.step for m in history}))
"""


def test_compaction_and_snapshots_while_another_process_writes(
    url, spawn_python, run_python, tmp_path
):
    cb.set_store(url)
    store = open_store(cb.get_store())
    child = spawn_python(IN_BATCHES, url, tmp_path / "writer", stdin=subprocess.PIPE)
    run_id = child.stdout.readline().strip()
    assert run_id, child.stderr.read()
    compacted, snapshots = 0, set()
    for batch in range(12):
        assert child.stdout.readline().strip() == str(batch), child.stderr.read()
        # Odd batches: the writer logs its next batch while this compacts.
        report = store.compact(min_files=2, grace_seconds=0)
        compacted += report.compacted_files
        snapshots.add(report.snapshot)
        count, distinct = _points(url)[run_id]
        assert count == distinct  # never a point twice, whatever the timing
        if batch % 2 == 0:  # the writer waits: every point so far, now
            assert count == (batch + 1) * 500
        if batch % 2 == 0:
            child.stdin.write("next\n")
            child.stdin.flush()
    rest = child.stdout.read()  # what readline has not taken (communicate would lose it)
    err = child.stderr.read()
    assert child.wait(timeout=300) == 0, err
    assert rest.split() == ["ended"]
    assert compacted >= 6
    assert len(snapshots - {None}) > 1

    store.compact(min_files=2, grace_seconds=0)
    assert _points(url)[run_id] == (6000, 6000)
    # A new reader on another machine: from the newest snapshot and the compacted files.
    fresh = run_python(COUNT, url, tmp_path / "reader", run_id)
    assert fresh.stdout.split() == ["6000", "6000"]
