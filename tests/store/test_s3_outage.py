"""A store on object storage whose server stops answering: logging goes on, nothing is lost.

The server is SeaweedFS behind the test proxy (``s3_proxy.py``): ``hold()`` keeps every
request waiting unanswered, ``stop()`` closes its port (nothing listens there). Rows
wait in memory, go to the local spill folder when the process ends, and ``canvasback
recover`` writes them into the store, once.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import canvasback as cb
from canvasback.store.write import spill
from canvasback.store.write.lifecycle import EXIT_SPILLED
from canvasback.tracking.client import Client

OUTAGE_AT_EXIT = """
import sys
import canvasback as cb

cb.set_store(sys.argv[1])
run = cb.start_run(run_name="through an outage")
cb.log_metric("loss", 0.0, step=0)
cb.flush()
print(run.info.run_id, flush=True)
sys.stdin.readline()  # the test stops the server's proxy now
for step in range(1, 301):
    cb.log_metric("loss", float(step), step=step)
cb.end_run()
print("ended", flush=True)
"""


@pytest.fixture
def url(s3_env, s3_bucket, monkeypatch):
    del s3_env
    monkeypatch.setenv("CANVASBACK_HEARTBEAT_SECONDS", "3600")  # no heartbeat row to count
    return f"s3://{s3_bucket}/team"


def test_logging_goes_on_while_the_server_does_not_answer(url, s3_proxy, monkeypatch, wait):
    proxy = s3_proxy()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    cb.set_store(url)
    run = cb.start_run()
    cb.log_metric("loss", 0.0, step=0)
    cb.flush()
    writer = run.store.writer

    proxy.hold()
    answered = len(proxy.requests)
    cb.log_metric("loss", 1.0, step=1)
    writer.request_flush()
    wait(lambda: proxy.held, what="the background flush to reach the server")
    for step in range(2, 1002):
        cb.log_metric("loss", float(step), step=step)
    # Every call returned while the flush begun before them still waits for its answer.
    assert len(proxy.requests) == answered
    assert not proxy.answering.is_set()
    assert writer.pending >= 1000

    proxy.release()
    cb.end_run()
    history = Client(url).get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(1002))


def test_rows_logged_while_the_server_is_gone_are_spilled_then_recovered_once(
    url, seaweedfs, s3_proxy, spawn_python, tmp_path, monkeypatch
):
    proxy = s3_proxy()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)  # the child's way in
    child = spawn_python(OUTAGE_AT_EXIT, url, stdin=subprocess.PIPE)
    run_id = child.stdout.readline().strip()
    assert run_id, child.stderr.read()
    proxy.stop()  # nothing listens at the endpoint any more
    out, err = child.communicate("go on\n", timeout=180)

    assert child.returncode == EXIT_SPILLED, err
    assert out.split() == ["ended"]
    assert f"could not be written to the store '{url}'" in err
    assert str(tmp_path / "cache") in err  # the spill folder, in the user's cache
    assert f"canvasback recover '{url}'" in err
    assert spill.pending(url)

    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweedfs.endpoint)  # the server, reached again
    recovered = _recover(url)
    assert recovered.returncode == 0, recovered.stderr
    assert "wrote 302 row(s)" in recovered.stdout  # 300 points, the status, the end time
    assert not spill.pending(url)
    again = _recover(url)
    assert "wrote 0 row(s)" in again.stdout
    run = Client(url).get_run(run_id)
    assert run.info.status == "FINISHED"
    history = Client(url).get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(301))  # each point once


def _env() -> dict[str, str]:
    import os  # noqa: PLC0415

    env = dict(os.environ)
    env.pop("CANVASBACK_STORE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _recover(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canvasback.cli", "recover", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(),
    )
