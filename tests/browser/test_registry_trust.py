"""Before an alias move is trusted, in Chromium: the lineage graph, a protected alias's
forced move, a move a gate refuses, two versions side by side.

The ``registry`` bundle runs in the harness page against a real RegistryPanel through
the bridge of ``test_registry.py``; the store and every write the panel makes are real.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.browser.test_registry import ROW, RegistryBridge

import canvasback as cb

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>window.owned = 1</script>"
TRAIN = cb.data.from_pandas(
    pd.DataFrame({"pixel": [0.0, 0.5, 1.0], "label": [0, 1, 1]}), name="digits", source="s3://b/d"
)
HOSTILE = cb.data.from_numpy(np.ones(2), name=XSS, source=SCRIPT)


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
def guarded(tmp_path):
    """digits v1 (acc 0.85, run named with markup) and v2 (acc 0.95); @champion on v1,
    protected; @prod gated at acc >= 0.99; @challenger on v2."""
    client = cb.Client(store=tmp_path / "store")
    ids = [
        trained(client, SCRIPT, 0.1, 0.85, (TRAIN, "training"), (HOSTILE, "evaluation")),
        trained(client, "second", 0.01, 0.95, (TRAIN, "training")),
    ]
    for run_id in ids:
        client.register_model(f"runs:/{run_id}/model", "digits")
    client.set_registered_model_alias("digits", "champion", 1)
    client.set_registered_model_alias("digits", "challenger", 2)
    client.protect_alias("digits", "champion", reason=f"serves production {XSS}")
    client.set_alias_gate("digits", "prod", "min-acc", "metrics.acc >= 0.99")
    client.flush()
    return {"root": tmp_path / "store", "client": client, "runs": ids}


@pytest.fixture
def bridge_for(harness):
    made = []

    def make(widget):
        made.append(widget)
        return RegistryBridge(harness, widget)

    yield make
    for widget in made:
        widget.close()


def no_markup(page) -> None:
    assert page.locator("#root img, #root script").count() == 0
    assert page.evaluate("() => window.owned") is None


def test_the_lineage_graph_opens_each_node(bridge_for, guarded):
    table = cb.runs(store=guarded["root"])
    bridge = bridge_for(cb.registry_panel("digits", table=table, poll_ms=0))
    page = bridge.mount()
    page.locator(ROW.format(1)).locator("input[type=checkbox]").check()
    graph = page.locator(".cb-reg-lineage[data-version='digits/1']")
    graph.wait_for()
    nodes = graph.locator(".cb-reg-node").evaluate_all("(ns) => ns.map((n) => n.dataset.node)")
    assert nodes == ["dataset:0", "dataset:1", "run", "version", "alias:champion"]
    assert graph.locator(".cb-reg-node[data-node='dataset:0'] title").text_content() == (
        f"evaluation: {XSS}"
    )
    # A dataset opens its digest, source, schema and profile, and the versions trained on it.
    graph.locator(".cb-reg-node[data-node='dataset:1']").click()
    detail = graph.locator(".cb-reg-node-detail[data-kind='dataset']")
    detail.wait_for()
    assert TRAIN.digest in detail.inner_text()
    assert "s3://b/d" in detail.inner_text()
    assert detail.locator(".cb-reg-schema td").all_inner_texts()[::2] == ["pixel", "label"]
    assert "num_rows" in detail.inner_text()
    detail.locator(".cb-reg-trained-on").click()
    detail.locator(".cb-reg-trained-list li").nth(1).wait_for()
    trained_on = detail.locator(".cb-reg-trained-list li")
    assert trained_on.evaluate_all("(ls) => ls.map((l) => l.dataset.version)") == [
        "digits/1",
        "digits/2",
    ]
    # The run opens its detail, and selects it in the linked run table.
    graph.locator(".cb-reg-node[data-node='run']").click()
    run = graph.locator(".cb-reg-node-detail[data-kind='run']")
    assert run.get_attribute("data-run-id") == guarded["runs"][0]
    assert SCRIPT in run.locator("h5").inner_text()  # the run's name, as text
    run.locator(".cb-reg-open-run").click()
    graph.locator(".cb-reg-open-note", has_text="Selected in the run table").wait_for()
    assert table.selected_ids == [guarded["runs"][0]]
    # An alias node: its protection and its moves.
    graph.locator(".cb-reg-node[data-node='alias:champion']").click()
    alias = graph.locator(".cb-reg-node-detail[data-kind='alias']")
    assert "serves production" in alias.inner_text()
    assert "@champion set to v1" in alias.inner_text()
    no_markup(page)
    bridge.harness.offline.screenshot("registry_lineage")
    assert bridge.harness.offline.errors == []
    table.close()


def test_a_protected_alias_moves_after_a_confirmation_and_shows_as_forced(bridge_for, guarded):
    client = guarded["client"]
    bridge = bridge_for(cb.registry_panel("digits", store=guarded["root"], poll_ms=0))
    page = bridge.mount()
    guard = page.locator(".cb-reg-guard[data-alias='champion']")
    assert guard.get_attribute("data-protected") == "true"
    assert f"serves production {XSS}" in guard.locator(".cb-reg-guard-reason").inner_text()
    chip = page.locator(ROW.format(1)).locator(".cb-reg-alias[data-alias='champion']")
    assert chip.locator(".cb-reg-lock").count() == 1
    # A drag onto v2 asks first, and nothing moves meanwhile.
    chip.drag_to(page.locator(ROW.format(2)))
    confirm = page.locator(".cb-reg-confirm")
    confirm.wait_for()
    assert "@champion is protected" in confirm.inner_text()
    assert client.get_model_version_by_alias("digits", "champion").version == "1"
    confirm.locator(".cb-reg-confirm-cancel").click()
    page.wait_for_function("() => !document.querySelector('.cb-reg-confirm')")
    assert client.get_model_version_by_alias("digits", "champion").version == "1"
    # Again, confirmed: the move is made with force, and the history shows it forced.
    chip.drag_to(page.locator(ROW.format(2)))
    confirm.locator(".cb-reg-confirm-go").click()
    page.locator(ROW.format(2)).locator(".cb-reg-alias[data-alias='champion']").wait_for()
    assert client.get_model_version_by_alias("digits", "champion").version == "2"
    assert client.get_alias_history("digits", "champion")[-1].forced is True
    newest = page.locator(".cb-reg-moves li").first
    assert newest.get_attribute("data-forced") == "true"
    assert "@champion v1 → v2" in newest.inner_text()
    assert "forced" in newest.locator(".cb-reg-forced").inner_text()
    page.locator(".cb-reg-lane[data-alias='champion'] .cb-reg-move.forced").wait_for()
    no_markup(page)
    assert bridge.harness.offline.errors == []


def test_a_move_a_gate_refuses_names_the_gate_and_moves_nothing(bridge_for, guarded):
    client = guarded["client"]
    bridge = bridge_for(cb.registry_panel("digits", store=guarded["root"], poll_ms=0))
    page = bridge.mount()
    gate = page.locator(".cb-reg-guard[data-alias='prod'] .cb-reg-gate[data-gate='min-acc']")
    assert "metrics.acc >= 0.99" in gate.inner_text()
    before = client.get_alias_history("digits")
    row2 = page.locator(ROW.format(2))
    row2.locator(".cb-reg-add", has_text="+ alias").click()
    row2.locator("input.cb-reg-input").fill("prod")
    row2.locator("input.cb-reg-input").press("Enter")
    failure = page.locator(".cb-reg-error .cb-reg-gate-failure[data-gate='min-acc']")
    failure.wait_for()
    assert failure.inner_text() == "@prod gate min-acc: metrics.acc is 0.95 (needs >= 0.99)"
    assert "GateFailedError" in page.locator(".cb-reg-error").inner_text()
    assert client.get_alias_history("digits") == before
    assert "prod" not in client.get_registered_model("digits").aliases
    assert row2.locator(".cb-reg-alias[data-alias='prod']").count() == 0
    assert bridge.harness.offline.errors == []


def test_two_versions_side_by_side_and_a_move_from_there(bridge_for, guarded):
    client = guarded["client"]
    bridge = bridge_for(cb.registry_panel("digits", store=guarded["root"], poll_ms=0))
    page = bridge.mount()
    page.locator(ROW.format(1)).locator("input[type=checkbox]").check()
    page.locator(ROW.format(2)).locator("input[type=checkbox]").check()
    compare = page.locator(".cb-reg-compare")
    compare.wait_for()
    params = compare.locator(".cb-reg-cmp-param")
    assert params.evaluate_all("(rs) => rs.map((r) => r.dataset.key)") == ["lr"]  # not depth
    assert params.first.locator("td").all_inner_texts() == ["0.1", "0.01"]
    assert "1 the same" in compare.inner_text()
    assert compare.locator(".cb-reg-cmp-metric[data-key='acc'] td").all_inner_texts() == [
        "0.85",
        "0.95",
    ]
    # What @prod's gate says of each, before any move.
    checks = compare.locator(".cb-reg-cmp-gate[data-alias='prod']")
    assert [c.get_attribute("class").split()[-1] for c in checks.all()] == ["fails", "fails"]
    # Move @challenger from v2 to v1 from here.
    compare.locator(".cb-reg-move-here[data-alias='challenger'][data-version='1']").click()
    page.locator(ROW.format(1)).locator(".cb-reg-alias[data-alias='challenger']").wait_for()
    assert client.get_model_version_by_alias("digits", "challenger").version == "1"
    # And a move there that the gate refuses: named, and nothing moves.
    compare.locator(".cb-reg-move-here[data-alias='prod'][data-version='2']").click()
    page.locator(".cb-reg-gate-failure[data-gate='min-acc']").wait_for()
    assert "prod" not in client.get_registered_model("digits").aliases
    no_markup(page)
    bridge.harness.offline.screenshot("registry_compare")
    assert bridge.harness.offline.errors == []
