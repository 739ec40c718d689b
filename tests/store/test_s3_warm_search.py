"""A warm search on object storage: the requests it makes, and how many it waits for.

A search in a process that searched the store before lists what may have changed (the
snapshots' manifests and the tables it reads) and looks its experiment's name up in
the claims. Each request is a round trip to the server: they are sent at once, so the
search waits for two (the lookup's, then the listings'), whatever the store holds.
The requests are counted, and held until all of one step are out
(``s3_requests.py``): steps sent one after another would never all be out together.
"""

from __future__ import annotations

import pytest

import canvasback as cb
from canvasback.query import SEARCHED_TABLES as SEARCHED
from canvasback.store import declarations
from canvasback.store.name_claims import name_digest

pytestmark = pytest.mark.s3

LISTINGS = frozenset({"list", "list_with_delimiter"})


@pytest.fixture
def url(s3_env, s3_bucket):
    del s3_env
    return f"s3://{s3_bucket}/warm"


def _search(name: str = "warm"):
    return cb.search_runs(
        experiment_names=[name], filter_string="metrics.acc > 0.5", order_by=["metrics.acc DESC"]
    )


def _warm_store(url: str) -> list[str]:
    cb.set_store(url)
    cb.set_experiment("warm")
    run_ids = []
    for i in range(3):
        with cb.start_run() as run:
            cb.log_param("i", i)
            cb.log_metric("acc", 0.6 + i / 10)
        run_ids.append(run.info.run_id)
    cb.flush()
    _search()  # the first search of the process: the catalog, the name's claims
    return run_ids[::-1]


def test_a_warm_search_lists_what_it_reads_at_once_and_reads_two_claims(url, s3_requests):
    run_ids = _warm_store(url)
    tables = len(SEARCHED)
    assert tables < len(declarations.tables())  # a search lists the tables it reads alone
    # Those tables and the manifests; then the name's next holding and its log's next slot.
    listings = s3_requests.Gate(LISTINGS, "", together=tables + 1)
    claims = s3_requests.Gate(frozenset({"get"}), "claims/", together=2)
    with s3_requests.Requests() as requests:
        requests.gates += [listings, claims]
        found = _search()
    assert found["run_id"].tolist() == run_ids
    assert listings.broken == 0, "the listings were not all out at once"
    assert claims.broken == 0, "the two claims were not read at once"
    listed = sorted(r.key for r in requests.log if r.kind == "list")
    assert listed == sorted(SEARCHED)
    kinds = sorted(r.kind for r in requests.log)
    assert kinds == sorted(["get"] * 2 + ["list"] * tables + ["list_with_delimiter"])
    # The name's holding was read by the first search: only what could follow it is read,
    # its next holding and its experiment's next log slot.
    holding = f"claims/experiment-names/{name_digest('warm')}"
    experiment = cb.get_experiment_by_name("warm").experiment_id
    read = sorted(r.key for r in requests.log if r.kind == "get")
    assert read == sorted([f"{holding}.1", f"claims/experiment-logs/{experiment}/1"])


def test_a_name_renamed_by_another_process_is_not_found_under_its_old_name(url, run_python):
    run_ids = _warm_store(url)
    _search()
    run_python(
        """
        import sys
        import canvasback as cb
        client = cb.Client(store=sys.argv[1])
        experiment = client.get_experiment_by_name("warm").experiment_id
        client.rename_experiment(experiment, "renamed")
        """,
        url,
    )
    with pytest.warns(UserWarning, match="No experiment named 'warm'"):
        assert _search().empty
    assert _search("renamed")["run_id"].tolist() == run_ids


def test_the_tables_a_search_left_are_read_by_the_next_read(url):
    _warm_store(url)
    run_id = cb.search_runs(experiment_names=["warm"])["run_id"].iloc[0]
    cb.client().set_experiment_tag(cb.get_experiment_by_name("warm").experiment_id, "k", "v")
    with cb.start_run(run_id=run_id):
        cb.log_text("notes", "notes.txt")
    cb.flush()
    _search()  # lists the runs' tables alone
    assert [f.path for f in cb.client().list_artifacts(run_id)] == ["notes.txt"]
    assert cb.get_experiment_by_name("warm").tags == {"k": "v"}
