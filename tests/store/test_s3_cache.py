"""A store on object storage read through the machine's cache: a repeated query downloads
nothing, in this process or in another one of the machine.

The server is SeaweedFS behind the test proxy (``s3_proxy.py``), which records every
request: a download is a GET of a segment or snapshot file (``.parquet``, ``.arrow``).
"""

from __future__ import annotations

import pytest

import canvasback as cb

SEARCH = """
import os
import sys

os.environ["XDG_CACHE_HOME"] = sys.argv[2]  # this machine's cache
import canvasback as cb

cb.set_store(sys.argv[1])
found = cb.search_runs(filter_string="metrics.acc > 0.5", order_by=["metrics.loss"])
history = cb.client().get_metric_history(found["run_id"][0], "loss")
print(len(found), len(history))
"""


@pytest.fixture
def proxied(s3_env, s3_bucket, s3_proxy, monkeypatch):
    """The test's store, reached through a proxy that counts requests."""
    del s3_env
    proxy = s3_proxy()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    monkeypatch.setenv("CANVASBACK_HEARTBEAT_SECONDS", "3600")
    return f"s3://{s3_bucket}/team", proxy


def _downloads(requests) -> list[str]:
    return [
        path
        for method, path, _ in requests
        if method == "GET" and path.split("?")[0].endswith((".parquet", ".arrow"))
    ]


def _log_runs(url: str) -> None:
    cb.set_store(url)
    for r in range(12):
        with cb.start_run(run_name=f"r{r}"):
            cb.log_param("r", r)
            for step in range(20):
                cb.log_metrics({"acc": r / 12, "loss": 1 / (step + 1)}, step=step)
    cb.flush()


def test_a_repeated_search_downloads_nothing_in_this_process(proxied):
    url, proxy = proxied
    _log_runs(url)
    cb.search_runs(filter_string="metrics.acc > 0.5")
    before = len(proxy.requests)
    found = cb.search_runs(filter_string="metrics.acc > 0.5", order_by=["metrics.loss"])
    assert len(found) == 5
    again = proxy.requests[before:]
    assert _downloads(again) == []
    assert again  # it did look for new files: listings
    assert all(method in ("GET", "HEAD") for method, _, _ in again)


def test_another_process_of_the_machine_downloads_nothing_again(proxied, run_python, tmp_path):
    url, proxy = proxied
    _log_runs(url)
    cb.client().store.compact(grace_seconds=3600)  # a snapshot and compacted files too
    machine = tmp_path / "machine"

    start = len(proxy.requests)
    first = run_python(SEARCH, url, machine)
    assert first.stdout.split() == ["5", "20"]
    fetched = _downloads(proxy.requests[start:])
    assert fetched  # a cache of its own, empty: this reader downloads what it reads

    start = len(proxy.requests)
    second = run_python(SEARCH, url, machine)
    assert second.stdout.split() == ["5", "20"]
    assert _downloads(proxy.requests[start:]) == []  # the machine's copies serve it

    start = len(proxy.requests)
    other = run_python(SEARCH, url, tmp_path / "another-machine")
    assert other.stdout.split() == ["5", "20"]
    assert _downloads(proxy.requests[start:])  # another machine's cache is its own
