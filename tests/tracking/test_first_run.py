"""A process's first run: set_experiment, start_run and end_run without the catalog.

A script that only logs never reads the store, so it never opens DuckDB: the experiment
set by name comes from its name's claims and log. What the claims do not hold (creation
time, tags, last update) is read when first asked. What such a process wrote is read by
another process at once, and a deleted experiment is refused as before.
"""

from __future__ import annotations

import hashlib
import json
import pickle

import pytest

import canvasback as cb
from canvasback.store import schema
from canvasback.tracking.experiment_claims import NAME_CLAIMS

# An experiment's fields, as the child reads them and as another process does.
FIELDS = (
    "experiment_id",
    "name",
    "artifact_location",
    "lifecycle_stage",
    "creation_time",
    "tags",
    "last_update_time",
)

# The benchmark's empty run, with capture as a user gets it; then what it saw.
EMPTY_RUN = f"""
FIELDS = {FIELDS!r}
import json, os, sys
os.environ.pop("CANVASBACK_CAPTURE", None)
import canvasback as cb
cb.set_store(sys.argv[1])
experiment = cb.set_experiment(sys.argv[2])
run = cb.start_run()
cb.end_run()
duckdb_after_run = "duckdb" in sys.modules
cb.flush()
duckdb_after_flush = "duckdb" in sys.modules
print(json.dumps({{
    "duckdb_after_run": duckdb_after_run,
    "duckdb_after_flush": duckdb_after_flush,
    "run_id": run.info.run_id,
    "experiment": {{field: getattr(experiment, field) for field in FIELDS}},
}}))
"""

SET_EXPERIMENT = """
import sys
import canvasback as cb
cb.set_store(sys.argv[1])
try:
    cb.set_experiment(sys.argv[2])
except cb.InvalidInputError as exc:
    print("refused:", exc)
else:
    print("set")
print("duckdb" in sys.modules)
"""


def as_dict(experiment: cb.Experiment) -> dict[str, object]:
    return {field: getattr(experiment, field) for field in FIELDS}


def empty_run(run_python, store, name: str) -> dict[str, object]:
    seen: dict[str, object] = json.loads(run_python(EMPTY_RUN, store, name).stdout)
    return seen


@pytest.mark.parametrize("used_before", [False, True], ids=["new-store", "existing-store"])
def test_an_empty_run_opens_no_catalog_and_is_read_by_another_process(
    run_python, tmp_path, used_before
):
    store = tmp_path / "store"
    if used_before:
        empty_run(run_python, store, "w6")
    seen = empty_run(run_python, store, "w6")
    assert seen["duckdb_after_run"] is False
    assert seen["duckdb_after_flush"] is False
    client = cb.MlflowClient(store)
    found = client.get_experiment_by_name("w6")
    assert found is not None
    # The fields read from the catalog when the child asked for them agree with it.
    assert seen["experiment"] == as_dict(found)
    assert found.lifecycle_stage == "active"
    assert found.creation_time > 0
    run = client.get_run(seen["run_id"])
    assert run.info.experiment_id == found.experiment_id
    assert run.info.status == "FINISHED"
    cb.set_store(store)
    listed = cb.search_runs([found.experiment_id], output_format="list")
    assert seen["run_id"] in {r.info.run_id for r in listed}
    assert len(listed) == (2 if used_before else 1)
    with cb.start_run(run_id=seen["run_id"]):  # resumed right away
        cb.log_metric("after", 1.0)
    assert client.get_run(seen["run_id"]).data.metrics == {"after": 1.0}


def test_an_experiment_tagged_and_renamed_since_is_set_as_it_is_now(run_python, store):
    client = cb.MlflowClient(store)
    experiment_id = client.create_experiment("before", tags={"team": "a"})
    client.set_experiment_tag(experiment_id, "team", "b")
    client.set_experiment_tag(experiment_id, "added", "later")
    client.rename_experiment(experiment_id, "after")
    seen = empty_run(run_python, store, "after")
    assert seen["duckdb_after_run"] is False
    assert seen["experiment"] == as_dict(client.get_experiment(experiment_id))
    assert seen["experiment"]["tags"] == {"team": "b", "added": "later"}
    assert seen["experiment"]["name"] == "after"
    # The old name is free: a new experiment.
    assert empty_run(run_python, store, "before")["experiment"]["experiment_id"] != experiment_id


def test_a_deleted_experiment_is_refused_by_name_in_a_new_process(run_python, store):
    client = cb.MlflowClient(store)
    experiment_id = client.create_experiment("gone")
    client.delete_experiment(experiment_id)
    refused, duckdb_loaded = run_python(SET_EXPERIMENT, store, "gone").stdout.splitlines()
    assert refused.startswith("refused: Cannot set the deleted experiment 'gone'")
    assert f"restore_experiment({experiment_id!r})" in refused
    assert duckdb_loaded == "False"
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"  # nothing lost
    client.restore_experiment(experiment_id)
    assert run_python(SET_EXPERIMENT, store, "gone").stdout.splitlines() == ["set", "False"]


def test_the_experiment_set_reads_as_the_one_got(store):
    client = cb.MlflowClient(store)
    experiment_id = client.create_experiment("e", tags={"team": "a"})
    client.set_experiment_tag(experiment_id, "stage", "dev")
    got = client.get_experiment(experiment_id)
    experiment = cb.set_experiment("e")
    assert isinstance(experiment, cb.Experiment)
    assert experiment == got
    assert got == experiment
    assert repr(experiment) == repr(got)
    assert pickle.loads(pickle.dumps(experiment)) == got  # noqa: S301 -- our own object
    assert experiment.tags == {"team": "a", "stage": "dev"}


def test_a_claim_of_an_earlier_version_is_set_from_the_catalog(store):
    """Before the logs, a name's claim held the bare id and a deletion was an event."""
    client = cb.MlflowClient(store)
    client.create_experiment("seed")  # the Default experiment, and ids
    digest = hashlib.sha256(b"old").hexdigest()
    assert client.store.claim(NAME_CLAIMS, digest, b"7")
    assert client.store.claim("experiment-ids", "7", b"old")
    client.store.writer.append("experiments", "7", ("7", "old", "artifacts", 1))
    client.store.writer.event("7", "7", schema.EVENT_EXPERIMENT_LIFECYCLE, "", "deleted")
    client.store.flush()
    with pytest.raises(cb.InvalidInputError, match="Cannot set the deleted experiment 'old'"):
        cb.set_experiment("old")
    client.restore_experiment("7")
    experiment = cb.set_experiment("old")
    assert (experiment.experiment_id, experiment.lifecycle_stage) == ("7", "active")
    assert experiment.creation_time == 1
