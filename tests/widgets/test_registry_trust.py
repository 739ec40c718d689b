"""What the registry panel shows before an alias move is trusted, on a real store.

A version's lineage (datasets with their schema and profile, run, logged model, aliases
now and before), the versions trained on a dataset, two versions side by side (only the
params that differ), each alias's protection and gates, a forced move of a protected
alias, and a move a gate refuses: named in the panel, and nothing written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import canvasback as cb
import canvasback.sklearn
from canvasback.models import evaluation
from canvasback.registry import lineage
from canvasback.widgets import _registry_static

TRAIN = cb.data.from_pandas(
    pd.DataFrame({"pixel": [0.0, 0.5, 1.0], "label": [0, 1, 1]}), name="digits", source="s3://b/d"
)
HOLDOUT = cb.data.from_numpy(np.ones(5), name="holdout", source="s3://b/h")


def trained(client, name, lr, acc, *inputs):
    run = client.create_run("0", run_name=name)
    run.log_param("lr", lr)
    run.log_param("depth", 3)
    run.log_metric("acc", acc)
    for dataset, context in inputs:
        run.log_input(dataset, context=context)
    run.log_text("flavors: {}\n", "model/MLmodel")
    run.end()
    return run.info.run_id


@pytest.fixture
def client(store):
    return cb.Client(store=store)


@pytest.fixture
def digits(client):
    """v1 (acc 0.85) trained on digits, v2 (acc 0.95) on digits and checked on holdout."""
    ids = [
        trained(client, "first", 0.1, 0.85, (TRAIN, "training")),
        trained(client, "second", 0.01, 0.95, (TRAIN, "training"), (HOLDOUT, "evaluation")),
    ]
    for run_id in ids:
        client.register_model(f"runs:/{run_id}/model", "digits")
    client.set_registered_model_alias("digits", "champion", 1)
    client.set_registered_model_alias("digits", "challenger", 1)
    client.set_registered_model_alias("digits", "challenger", 2)
    client.protect_alias("digits", "champion", reason="serves production")
    client.set_alias_gate("digits", "champion", "min-acc", "metrics.acc >= 0.9")
    client.set_alias_gate("digits", "prod", "min-acc", "metrics.acc >= 0.99")
    client.flush()
    return ids


@pytest.fixture
def panels():
    made = []

    def make(*args, **kwargs):
        panel = cb.registry_panel(*args, **kwargs)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.close()


def request(panel, kind, **params):
    reply, _buffers = panel.handle_request(kind, params)
    return reply


def test_each_alias_shows_its_version_protection_and_gates(digits, panels):
    del digits
    panel = panels("digits", poll_ms=0)
    guards = {g["alias"]: g for g in panel.alias_guards}
    assert sorted(guards) == ["challenger", "champion", "prod"]  # prod: gated, never set
    champion = guards["champion"]
    assert champion["version"] == 1
    assert champion["protected"]["reason"] == "serves production"
    assert champion["gates"] == [
        {"gate": "min-acc", "filter": "metrics.acc >= 0.9", "python": False, "allow_force": False}
    ]
    assert guards["challenger"]["protected"] is None
    assert guards["challenger"]["gates"] == []
    assert guards["prod"]["version"] is None


def test_a_python_gate_of_the_kernel_is_shown_too(client, digits, panels):
    del digits
    client.register_alias_gate("digits", "challenger", "reviewed", lambda c: c.version > 0)
    panel = panels("digits", poll_ms=0)
    guards = {g["alias"]: g for g in panel.alias_guards}
    assert guards["challenger"]["gates"] == [
        {"gate": "reviewed", "filter": None, "python": True, "allow_force": False}
    ]


def test_the_selected_version_s_lineage(digits, panels):
    panel = panels("digits", poll_ms=0)
    assert panel.lineage == {}
    panel.selected_versions = ["digits/1"]
    found = panel.lineage
    assert (found["key"], found["version"], found["artifact_path"]) == ("digits/1", 1, "model")
    assert found["run"]["run_id"] == digits[0]
    assert (found["run"]["run_name"], found["run"]["status"]) == ("first", "FINISHED")
    [dataset] = found["datasets"]
    assert (dataset["name"], dataset["digest"], dataset["context"]) == (
        "digits",
        TRAIN.digest,
        "training",
    )
    assert dataset["source"] == "s3://b/d"
    assert dataset["schema"]["columns"] == [
        {"name": "pixel", "type": "float64"},
        {"name": "label", "type": "int64"},
    ]
    assert dataset["profile"]["num_rows"] == 3
    # @champion points at v1; @challenger did, then moved to v2.
    assert found["aliases"] == ["champion"]
    assert found["past_aliases"] == ["challenger"]
    assert [(m["alias"], m["from_version"], m["to_version"]) for m in found["moves"]] == [
        ("champion", None, 1),
        ("challenger", None, 1),
        ("challenger", 1, 2),
    ]
    # The last selected version is the one drawn.
    panel.selected_versions = ["digits/1", "digits/2"]
    assert panel.lineage["version"] == 2
    assert [d["name"] for d in panel.lineage["datasets"]] == ["holdout", "digits"]


def test_the_lineage_is_read_again_when_the_registry_or_the_selection_changes(
    client, digits, panels, monkeypatch
):
    del digits
    panel = panels("digits", poll_ms=0, page_size=1)
    panel.selected_versions = ["digits/1", "digits/2"]
    reads = []
    real = lineage.of_row
    monkeypatch.setattr(lineage, "of_row", lambda *a: reads.append(a[2]["version"]) or real(*a))
    panel.page = 1  # another page: neither the registry nor the selection changed
    assert reads == []
    client.set_registered_model_alias("digits", "challenger", 1)
    panel.reload()  # the registry changed: the lineage shows the move
    assert reads
    assert panel.lineage["past_aliases"] == ["challenger"]
    assert panel.comparison["versions"][0]["aliases"] == ["challenger", "champion"]
    reads.clear()
    panel.selected_versions = ["digits/2"]
    assert reads == [2]
    assert panel.comparison == {}


def test_the_versions_trained_on_a_dataset(client, digits, panels):
    del digits
    panel = panels("digits", poll_ms=0)
    reply = request(panel, "dataset_versions", digest=TRAIN.digest)["reply"]
    assert [(v["name"], v["version"], v["context"]) for v in reply["versions"]] == [
        ("digits", 1, "training"),
        ("digits", 2, "training"),
    ]
    # The same versions as the registry's own filter finds.
    searched = client.search_model_versions(f"datasets.digest = '{TRAIN.digest}'")
    assert sorted(int(v.version) for v in searched) == [1, 2]
    holdout = request(panel, "dataset_versions", digest=HOLDOUT.digest)["reply"]["versions"]
    assert [(v["version"], v["context"]) for v in holdout] == [(2, "evaluation")]
    # A digest is bound as a value, never SQL: a quote finds nothing and breaks nothing.
    assert request(panel, "dataset_versions", digest="' OR 1=1 --")["reply"]["versions"] == []
    assert "Invalid dataset digest None" in request(panel, "dataset_versions")["error"]


def test_two_versions_side_by_side_show_only_the_params_that_differ(digits, panels):
    panel = panels("digits", poll_ms=0)
    panel.selected_versions = ["digits/1"]
    assert panel.comparison == {}
    panel.selected_versions = ["digits/1", "digits/2"]
    shown = panel.comparison
    assert shown["params"] == [{"key": "lr", "values": ["0.1", "0.01"]}]  # not depth
    assert shown["same_params"] == 1
    assert shown["metrics"] == [{"key": "acc", "values": [0.85, 0.95]}]
    one, two = shown["versions"]
    assert (one["version"], one["run_id"], two["version"], two["run_id"]) == (
        1,
        digits[0],
        2,
        digits[1],
    )
    assert [d["name"] for d in two["datasets"]] == ["holdout", "digits"]
    # The gates each would meet: v1 fails @champion's (acc 0.85), v2 passes it.
    assert one["gate_checks"]["champion"] == [
        {"gate": "min-acc", "why": "metrics.acc is 0.85 (needs >= 0.9)"}
    ]
    assert two["gate_checks"]["champion"] == [{"gate": "min-acc", "why": None}]
    assert two["gate_checks"]["prod"][0]["why"] == "metrics.acc is 0.95 (needs >= 0.99)"
    assert one["evaluation"] is None


@pytest.mark.usefixtures("store")
def test_side_by_side_shows_each_version_s_evaluation(panels):
    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(model, name="model", registered_model_name="iris")
    cb.register_model(info.model_uri, "iris")  # version 2, never evaluated
    result = cb.evaluate(
        "models:/iris/1", x.assign(y=y), targets="y", model_type="classifier", plots=[]
    )
    panel = panels("iris", poll_ms=0)
    panel.selected_versions = ["iris/1", "iris/2"]
    one, two = panel.comparison["versions"]
    assert one["evaluation"]["run_id"] == result.run_id
    assert one["evaluation"]["summary"].startswith("accuracy_score=")
    assert one["evaluation"]["metrics"]["accuracy_score"] == result.metrics["accuracy_score"]
    assert two["evaluation"] is None
    assert evaluation.SUMMARY_TAG == "canvasback.evaluation"  # the tag the panel reads


def test_a_protected_alias_moves_only_when_forced_and_is_kept_as_forced(client, digits, panels):
    del digits
    client.delete_alias_gate("digits", "champion", "min-acc")
    panel = panels("digits", poll_ms=0)
    error = request(panel, "set_alias", model="digits", alias="champion", version="2")["error"]
    assert "ProtectedAliasError" in error
    assert "serves production" in error
    assert client.get_model_version_by_alias("digits", "champion").version == "1"
    reply = request(panel, "set_alias", model="digits", alias="champion", version="2", force=True)
    assert "forced past @champion is protected" in reply["reply"]["notice"]
    assert client.get_model_version_by_alias("digits", "champion").version == "2"
    last = panel.history[-1]
    assert (last["alias"], last["from_version"], last["to_version"], last["forced"]) == (
        "champion",
        1,
        2,
        True,
    )
    assert "serves production" in last["overrode"]
    assert panel.history[0]["forced"] is False
    # force must be True or False, said so, and nothing moves.
    bad = request(panel, "set_alias", model="digits", alias="champion", version="1", force="yes")
    assert "Invalid force 'yes' for alias 'champion': True or False" in bad["error"]
    assert client.get_model_version_by_alias("digits", "champion").version == "2"


def test_a_protected_alias_is_removed_only_when_forced(client, digits, panels):
    del digits
    panel = panels("digits", poll_ms=0)
    assert (
        "ProtectedAliasError"
        in request(panel, "delete_alias", model="digits", alias="champion")["error"]
    )
    assert "champion" in client.get_registered_model("digits").aliases
    request(panel, "delete_alias", model="digits", alias="champion", force=True)
    assert "champion" not in client.get_registered_model("digits").aliases
    assert panel.history[-1]["forced"] is True


def test_a_move_a_gate_refuses_names_the_gate_and_its_values(client, digits, panels):
    del digits
    panel = panels("digits", poll_ms=0)
    before = client.get_alias_history("digits")
    reply = request(panel, "set_alias", model="digits", alias="prod", version="2")
    assert "GateFailedError" in reply["error"]
    assert panel.error["failures"] == [
        {"gate": "min-acc", "alias": "prod", "why": "metrics.acc is 0.95 (needs >= 0.99)"}
    ]
    assert "gate 'min-acc'" in panel.error["message"]
    # Forcing does not pass a gate set without allow_force either.
    request(panel, "set_alias", model="digits", alias="prod", version="2", force=True)
    assert panel.error["failures"][0]["gate"] == "min-acc"
    assert client.get_alias_history("digits") == before
    assert "prod" not in client.get_registered_model("digits").aliases


def test_open_run_selects_it_in_a_linked_table(digits, panels):
    panel = panels("digits", poll_ms=0)
    assert request(panel, "open_run", run_id=digits[1])["reply"] == {"opened": False}
    table = cb.runs()
    try:
        panel.link_table(table)
        assert request(panel, "open_run", run_id=digits[1])["reply"] == {"opened": True}
        assert table.selected_ids == [digits[1]]
    finally:
        table.close()


def test_failed_hook_deliveries_are_none_by_default(digits, panels):
    del digits
    assert panels("digits", poll_ms=0).failed_deliveries == {}


def test_static_view_shows_lineage_protection_and_gates_escaped(client, panels, store):
    del store
    xss, script = "<img src=x onerror=alert(1)>", "<script>alert(2)</script>"
    hostile = cb.data.from_numpy(np.ones(2), name=xss, source=script)
    run_id = trained(client, script, 0.1, 0.9, (TRAIN, "training"), (hostile, "evaluation"))
    client.register_model(f"runs:/{run_id}/model", "digits")
    client.set_registered_model_alias("digits", "champion", 1)
    client.protect_alias("digits", "champion", reason=xss)
    client.set_alias_gate("digits", "champion", "min-acc", "params.lr = '<b>'")
    panel = panels("digits", poll_ms=0)
    panel.selected_versions = ["digits/1"]
    html = _registry_static.panel_html(panel)
    assert "Lineage of digits v1" in html
    assert "Aliases, protection and gates" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html  # the run's name, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the protection's reason
    assert "params.lr = &#x27;&lt;b&gt;&#x27;" in html or "params.lr = &#39;&lt;b&gt;&#39;" in html
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>" not in html
