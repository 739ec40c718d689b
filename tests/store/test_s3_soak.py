"""Many machines on one store on object storage at once: nothing lost, nothing twice.

Eight writer processes, each with a cache folder of its own (as if on eight machines),
each log 100,000 metric points and register versions of one shared model name, while a
reader process queries in a loop and a compactor process compacts and writes snapshots.
Every point is in the store exactly once, the versions are unique and gap-free, and the
reader never fails nor sees a point twice. Real processes on a real S3-compatible server
(SeaweedFS); in ``make test``'s ``s3`` and ``slow`` tiers.

Measured on a 2-core machine (shared with other work: a load average of 20 to 25): the
test itself takes 19-20 s (ten of them the compactor's grace period, waited out so that
replaced files are deleted while the reader reads), 28-31 s with the server's start.
"""

from __future__ import annotations

import subprocess

import pytest

import canvasback as cb

pytestmark = [pytest.mark.s3, pytest.mark.slow]

WRITERS = 8
POINTS = 100_000
VERSIONS = 5  # per writer, spread over its logging
PATIENCE = 600.0  # seconds any one child may take, under the load of all the others

WRITER = """
import json
import os
import sys

os.environ["XDG_CACHE_HOME"] = sys.argv[2]  # a machine of its own
import canvasback as cb

url, model_uri, points, versions = sys.argv[1], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
cb.set_store(url)
print(json.dumps({"ready": True}), flush=True)
sys.stdin.readline()  # all start together
registered = []
every = points // versions
with cb.start_run(run_name=f"soak {os.getpid()}") as run:
    for step in range(points):
        cb.log_metric("loss", float(step), step=step)
        if step % 5000 == 4999:
            cb.flush()  # many segments, for the compactor
        if step % every == every - 1:
            registered.append(int(cb.register_model(model_uri, "shared").version))
        if step == points // 2 - 1:  # halfway: until the reader and the compactor saw it
            cb.flush()
            print(json.dumps({"half": run.info.run_id}), flush=True)
            sys.stdin.readline()
print(json.dumps({"run_id": run.info.run_id, "versions": registered}), flush=True)
"""

READER = """
import json
import os
import sys
import threading
import time

os.environ["XDG_CACHE_HOME"] = sys.argv[2]
import pyarrow.compute as pc

import canvasback as cb

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
client = cb.Client(sys.argv[1])
queries = 0
while not stop.is_set():
    try:
        runs = client.search_runs(["0"], filter_string="attributes.run_name LIKE 'soak %'")
        points = {}
        for run in runs:
            history = client.metric_history(run.info.run_id, "loss")
            points[run.info.run_id] = [len(history), len(pc.unique(history["step"]))]
        versions = [int(v.version) for v in client.search_model_versions("name = 'shared'")]
    except Exception as exc:  # said, and the test fails
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:500]}), flush=True)
    else:
        queries += 1
        print(json.dumps({"points": points, "versions": versions}), flush=True)
    time.sleep(0.2)  # a pause between queries, to leave the machine's cores to the others
print(json.dumps({"queries": queries}), flush=True)
"""

COMPACTOR = """
import json
import os
import sys
import threading

os.environ["XDG_CACHE_HOME"] = sys.argv[2]
import canvasback as cb

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
client = cb.Client(sys.argv[1])
passes = 0
while not stop.is_set():
    # A short grace: replaced files are deleted while the others still read and write.
    report = client.compact(grace_seconds=10)
    passes += 1
    print(json.dumps({"compacted": report.compacted_files, "snapshot": report.snapshot,
                      "deleted": report.deleted_files}), flush=True)
    stop.wait(1.0)  # between passes, as a scheduled compactor would
print(json.dumps({"passes": passes}), flush=True)
"""


@pytest.fixture
def url(s3_env, s3_bucket, monkeypatch):
    del s3_env
    monkeypatch.setenv("CANVASBACK_HEARTBEAT_SECONDS", "3600")
    return f"s3://{s3_bucket}/team"


def test_eight_machines_a_reader_and_a_compactor_lose_and_double_nothing(
    url, spawn_python, watched, tmp_path
):
    cb.set_store(url)
    with cb.start_run(run_name="model") as run:
        cb.log_text("flavors: {}\n", "model/MLmodel")
    cb.flush()
    model_uri = f"runs:/{run.info.run_id}/model"

    def start(script, machine, *args):
        child = spawn_python(script, url, tmp_path / machine, *args, stdin=subprocess.PIPE)
        return watched(child)

    writers = [start(WRITER, f"writer-{i}", model_uri, POINTS, VERSIONS) for i in range(WRITERS)]
    for writer in writers:
        writer.until(lambda line: line.get("ready"), timeout=PATIENCE, what="a writer to start")
    reader, compactor = start(READER, "reader"), start(COMPACTOR, "compactor")
    reader.until(lambda line: "points" in line, timeout=PATIENCE, what="the reader's first answer")
    for writer in writers:
        writer.send("go")
    # Halfway, every writer waits until the reader has seen each half exactly and the
    # compactor has compacted some of it: the rest is written on top of compacted files.
    halves = [
        writer.until(lambda line: "half" in line, timeout=PATIENCE, what="a writer's half")
        for writer in writers
    ]
    half = {h["half"]: [POINTS // 2, POINTS // 2] for h in halves}
    reader.until(
        lambda line: line.get("points") == half, timeout=PATIENCE, what="the reader to see halves"
    )
    compactor.until(
        lambda line: line.get("compacted"), timeout=PATIENCE, what="a pass that compacted"
    )
    for writer in writers:
        writer.send("go")
    results = [
        writer.until(lambda line: "run_id" in line, timeout=PATIENCE, what="a writer's end")
        for writer in writers
    ]
    for writer in writers:
        assert writer.wait(timeout=PATIENCE) == 0, writer.stderr
    # The reader sees every point of every writer once, the compactor working on.
    everything = {r["run_id"]: [POINTS, POINTS] for r in results}
    reader.until(
        lambda line: line.get("points") == everything,
        timeout=PATIENCE,
        what="the reader to see every point",
    )
    compactor.until(
        lambda line: line.get("deleted"),
        timeout=PATIENCE,
        what="a pass that deleted files replaced a grace period before",
    )
    for child in (reader, compactor):
        child.send("stop")
        assert child.wait(timeout=PATIENCE) == 0, child.stderr

    assert not [line for line in reader.seen if "error" in line]  # the reader never failed
    for line in reader.seen:  # and never saw a point twice, whatever the moment
        for count, distinct in line.get("points", {}).values():
            assert count == distinct
    assert reader.seen[-1]["queries"] > 1
    assert all(line.get("snapshot") for line in compactor.seen[:-1])  # each pass wrote one

    versions = sorted(v for r in results for v in r["versions"])
    assert versions == list(range(1, WRITERS * VERSIONS + 1))  # unique and gap-free
    listed = cb.Client(url).search_model_versions("name = 'shared'")
    assert sorted(int(v.version) for v in listed) == versions
    fresh = cb.Client(url)  # this process: its own cache, another machine
    for result in results:
        history = fresh.metric_history(result["run_id"], "loss")
        assert history.num_rows == POINTS
        assert sorted(history["step"].to_pylist()) == list(range(POINTS))  # each once
