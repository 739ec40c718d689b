"""The ``registry`` bundle in Chromium, its requests answered by a real RegistryPanel.

As for the run table (``table_bridge.py``), the harness's stand-in model has no kernel:
a bridge plays the comm, running the panel's own message handler for each request and
handing back every trait Python changed. The store is real, and so are the registry's
writes that the panel's buttons make.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest
from tests.browser import table_bridge as _table_bridge

import canvasback
from canvasback.widgets.registry import RegistryPanel

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
ROW = ".cb-reg-version[data-version='{}']"


def synced(widget: RegistryPanel) -> list[str]:
    # Not type(widget): anywidget adds traits to an instance through a subclass of its own.
    del widget
    return sorted(RegistryPanel.class_own_traits(sync=True))


class RegistryBridge:
    """The comm between the harness page and a RegistryPanel in this process."""

    def __init__(self, harness: Any, widget: RegistryPanel) -> None:
        self.harness = harness
        self.widget = widget
        self.names = synced(widget)
        self.outbox: list[tuple[dict[str, Any], list[bytes]]] = []
        self.changed: set[str] = set()
        self.requests: list[dict[str, Any]] = []
        widget.send = lambda content, buffers=None: self.outbox.append((content, buffers or []))
        widget.observe(lambda change: self.changed.add(change["name"]), names=self.names)
        harness.page.expose_function("cbPythonSend", self._on_send)
        harness.page.expose_function("cbPythonSave", self._on_save)
        harness.page.add_init_script(_table_bridge._BRIDGE_JS)

    def mount(self):
        state = {name: getattr(self.widget, name) for name in self.names}
        self.changed.clear()
        return self.harness.mount("registry", state)

    def push(self) -> None:
        """Send the page what Python changed outside a request (as a kernel would)."""
        self.harness.page.evaluate(
            "(text) => { const r = JSON.parse(text);"
            " for (const [k, v] of Object.entries(r.state)) model.update(k, v); }",
            self._drain({}),
        )

    def _on_send(self, text: str) -> str:
        content = json.loads(text)
        self.requests.append(content)
        self.widget._on_custom_message(self.widget, content, [])
        return self._drain({})

    def _on_save(self, text: str) -> str:
        changes = json.loads(text)
        self.widget.set_state(changes)
        return self._drain(changes)

    def _drain(self, echoed: dict[str, Any]) -> str:
        messages = [
            {"content": content, "buffers": [base64.b64encode(bytes(b)).decode() for b in buffers]}
            for content, buffers in self.outbox
        ]
        self.outbox.clear()
        state = {}
        for name in sorted(self.changed):
            value = getattr(self.widget, name)
            if name not in echoed or echoed[name] != value:
                state[name] = _encode(value)
        self.changed.clear()
        return json.dumps({"messages": messages, "state": state})

    def kinds(self) -> list[str]:
        return [r["kind"] for r in self.requests]


def _encode(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def make_registry(root: Path) -> dict[str, Any]:
    """Three runs that logged a model, two registered as 'digits' (@champion on v1)."""
    client = canvasback.Client(store=root)
    ids = []
    for i, (name, lr) in enumerate(((XSS, 0.1), ("baseline", 0.01), ("unregistered", 0.3))):
        run = client.create_run("0", run_name=name)
        run.log_param("lr", lr)
        run.log_metric("acc", 0.8 + 0.05 * i)
        client.log_text(run.run_id, "flavors: {}\n", "model/MLmodel")
        client.set_terminated(run.run_id)
        ids.append(run.run_id)
    for run_id in ids[:2]:
        client.register_model(f"runs:/{run_id}/model", "digits")
    client.set_registered_model_alias("digits", "champion", 1)
    client.update_registered_model("digits", f"Digits classifier {XSS}")
    client.set_model_version_tag("digits", 1, "note", XSS)
    client.register_model(f"runs:/{ids[0]}/model", XSS)  # a model name with markup
    client.set_registered_model_alias(XSS, "champion", 1)
    client.flush()
    return {"client": client, "runs": ids}


@pytest.fixture
def registry_store(tmp_path):
    root = tmp_path / "store"
    made = make_registry(root)
    return {"root": root, **made}


@pytest.fixture
def bridge_for(harness):
    made = []

    def make(widget):
        made.append(widget)
        return RegistryBridge(harness, widget)

    yield make
    for widget in made:
        widget.close()


def test_panel_shows_models_versions_aliases_and_history(bridge_for, registry_store):
    bridge = bridge_for(
        canvasback.registry_panel("digits", store=registry_store["root"], poll_ms=0)
    )
    page = bridge.mount()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.locator(ROW.format(2)).wait_for()
    names = page.locator(".cb-reg-model-name").all_inner_texts()
    assert names == [XSS, "digits"]
    # Newest first, each with its source run and its metric and param.
    versions = page.locator(".cb-reg-version")
    assert [versions.nth(i).get_attribute("data-version") for i in range(2)] == ["2", "1"]
    row1 = page.locator(ROW.format(1))
    assert row1.locator(".cb-reg-alias").inner_text().startswith("@champion")
    assert row1.locator(".cb-reg-run-name").inner_text() == XSS
    assert "0.8" in row1.inner_text()
    assert "0.1" in row1.inner_text()
    # Hostile text (run name, description, tag value) is text, never markup.
    assert XSS in page.locator(".cb-reg-model-desc").inner_text()
    assert row1.locator(".cb-reg-tag-value").inner_text() == XSS
    assert page.locator("#root img").count() == 0
    # The alias history: a lane for @champion with one bar, and the move listed.
    page.locator(".cb-reg-lane[data-alias='champion'] .cb-reg-segment").wait_for()
    assert "@champion set to v1" in page.locator(".cb-reg-moves").inner_text()
    bridge.harness.offline.screenshot("registry_panel")
    assert dialogs == []
    assert bridge.harness.offline.blocked == []
    assert bridge.harness.offline.errors == []


def test_alias_moves_by_input_and_by_drag(bridge_for, registry_store):
    client = registry_store["client"]
    bridge = bridge_for(
        canvasback.registry_panel("digits", store=registry_store["root"], poll_ms=0)
    )
    page = bridge.mount()
    row2 = page.locator(ROW.format(2))
    row2.locator(".cb-reg-add", has_text="+ alias").click()
    row2.locator("input.cb-reg-input").fill("challenger")
    row2.locator("input.cb-reg-input").press("Enter")
    row2.locator(".cb-reg-alias[data-alias='challenger']").wait_for()
    assert client.get_model_version_by_alias("digits", "challenger").version == "2"
    # Dragging @champion from v1 onto v2 moves it there.
    chip = page.locator(ROW.format(1)).locator(".cb-reg-alias[data-alias='champion']")
    chip.drag_to(row2)
    row2.locator(".cb-reg-alias[data-alias='champion']").wait_for()
    assert client.get_model_version_by_alias("digits", "champion").version == "2"
    assert page.locator(ROW.format(1)).locator(".cb-reg-alias").count() == 0
    assert "@champion v1 → v2" in page.locator(".cb-reg-moves").inner_text()
    assert "@champion now points at digits version 2" in page.locator(".cb-reg-notice").inner_text()
    # Remove it with its close button.
    row2.locator(".cb-reg-alias[data-alias='champion'] .cb-reg-chip-x").click()
    page.wait_for_function(
        "() => !document.querySelector(\".cb-reg-alias[data-alias='champion']\")"
    )
    assert "champion" not in client.get_registered_model("digits").aliases
    assert bridge.harness.offline.errors == []


def test_a_failed_action_shows_its_error_and_changes_nothing(bridge_for, registry_store):
    client = registry_store["client"]
    bridge = bridge_for(
        canvasback.registry_panel("digits", store=registry_store["root"], poll_ms=0)
    )
    page = bridge.mount()
    before = client.get_alias_history("digits")
    row2 = page.locator(ROW.format(2))
    row2.locator(".cb-reg-add", has_text="+ alias").click()
    row2.locator("input.cb-reg-input").fill("latest")
    row2.locator("input.cb-reg-input").press("Enter")
    error = page.locator(".cb-reg-error")
    error.wait_for()
    assert "Invalid alias 'latest'" in error.inner_text()
    assert client.get_alias_history("digits") == before
    # The editor stays open with the draft, to fix it; the error can be dismissed.
    assert row2.locator("input.cb-reg-input").input_value() == "latest"
    error.locator(".cb-reg-dismiss").click()
    page.wait_for_function("() => !document.querySelector('.cb-reg-error')")


def test_stage_description_and_tag_edits_reach_the_store(bridge_for, registry_store):
    client = registry_store["client"]
    bridge = bridge_for(
        canvasback.registry_panel("digits", store=registry_store["root"], poll_ms=0)
    )
    page = bridge.mount()
    row1 = page.locator(ROW.format(1))
    row1.locator(".cb-reg-stage-select").select_option("Production")
    page.wait_for_function(
        "() => document.querySelector(\".cb-reg-version[data-version='1']\")"
        ".dataset.stage === 'Production'"
    )
    assert client.get_model_version("digits", 1).current_stage == "Production"
    # Promote v2 with "archive others": v1 goes to Archived.
    page.locator(".cb-reg-toolbar input[type=checkbox]").check()
    page.locator(ROW.format(2)).locator(".cb-reg-stage-select").select_option("Production")
    page.wait_for_function(
        "() => document.querySelector(\".cb-reg-version[data-version='1']\")"
        ".dataset.stage === 'Archived'"
    )
    assert client.get_model_version("digits", 2).current_stage == "Production"
    assert client.get_model_version("digits", 1).current_stage == "Archived"
    # A version's description, edited in place.
    row2 = page.locator(ROW.format(2))
    row2.locator(".cb-reg-desc").click()
    row2.locator("textarea").fill("retrained on all digits")
    row2.locator(".cb-reg-button.primary", has_text="Save").click()
    row2.locator(".cb-reg-desc", has_text="retrained on all digits").wait_for()
    assert client.get_model_version("digits", 2).description == "retrained on all digits"
    # A tag on the model.
    page.locator(".cb-reg-model-tags .cb-reg-add").click()
    page.locator(".cb-reg-model-tags input").fill("team=vision")
    page.locator(".cb-reg-model-tags input").press("Enter")
    page.locator(".cb-reg-model-tags .cb-reg-tag-value", has_text="vision").wait_for()
    assert client.get_registered_model("digits").tags == {"team": "vision"}
    assert bridge.harness.offline.errors == []


def test_register_the_runs_selected_in_a_table(bridge_for, registry_store):
    client = registry_store["client"]
    table = canvasback.runs(store=registry_store["root"])
    bridge = bridge_for(canvasback.registry_panel("digits", table=table, poll_ms=0))
    page = bridge.mount()
    page.locator(".cb-reg-register").wait_for()
    assert "Select runs" in page.locator(".cb-reg-register").inner_text()
    table.selected_ids = [registry_store["runs"][2]]  # as a click in the table does
    bridge.push()
    page.locator(".cb-reg-register li", has_text="unregistered").wait_for()
    page.locator(".cb-reg-register input.cb-reg-input").fill("digits-new")
    page.locator(".cb-reg-register-go").click()
    page.locator(".cb-reg-model[data-model='digits-new'][aria-pressed=true]").wait_for()
    version = client.get_model_version("digits-new", 1)
    assert version.run_id == registry_store["runs"][2]
    assert "Registered 1 version of digits-new: 1" in page.locator(".cb-reg-notice").inner_text()
    table.close()


def test_selecting_two_versions_selects_their_runs(bridge_for, registry_store):
    table = canvasback.runs(store=registry_store["root"])
    panel = canvasback.registry_panel("digits", table=table, poll_ms=0)
    chart = canvasback.compare(table)
    bridge = bridge_for(panel)
    page = bridge.mount()
    page.locator(ROW.format(1)).locator("input[type=checkbox]").check()
    page.wait_for_function("() => model.get('selected_versions').length === 1")
    assert table.selected_ids == []  # one version: a target of actions, not a comparison
    page.locator(ROW.format(2)).locator(".cb-reg-vbadge").click()  # a click on the row
    page.wait_for_function("() => model.get('selected_versions').length === 2")
    runs = registry_store["runs"]
    assert sorted(panel.selected_ids) == sorted(runs[:2])
    assert sorted(table.selected_ids) == sorted(runs[:2])
    assert sorted(chart.run_ids) == sorted(runs[:2])
    page.locator(".cb-reg-selection", has_text="selected in the run table").wait_for()
    chart.close()
    table.close()


def test_a_change_from_plain_python_shows_up_by_polling(bridge_for, registry_store):
    client = registry_store["client"]
    panel = canvasback.registry_panel("digits", store=registry_store["root"], poll_ms=100)
    bridge = bridge_for(panel)
    page = bridge.mount()
    page.locator(ROW.format(1)).locator(".cb-reg-alias[data-alias='champion']").wait_for()
    client.set_registered_model_alias("digits", "champion", 2)  # not through the panel
    page.locator(ROW.format(2)).locator(".cb-reg-alias[data-alias='champion']").wait_for()
    assert "poll" in bridge.kinds()


def test_many_models_can_be_narrowed_by_name(bridge_for, registry_store):
    client = registry_store["client"]
    for i in range(8):
        client.create_registered_model(f"churn-{i}" if i % 2 else f"fraud-{i}")
    bridge = bridge_for(
        canvasback.registry_panel("digits", store=registry_store["root"], poll_ms=0)
    )
    page = bridge.mount()
    visible = ".cb-reg-model:not([hidden])"
    page.locator(".cb-reg-model-filter").fill("CHURN")
    page.wait_for_function(f"() => document.querySelectorAll('{visible}').length === 5")
    names = page.locator(visible).evaluate_all("(nodes) => nodes.map((n) => n.dataset.model)")
    assert names == ["churn-1", "churn-3", "churn-5", "churn-7", "digits"]  # the shown stays
    page.locator(".cb-reg-model[data-model='churn-3']").click()
    page.locator(".cb-reg-model-title", has_text="churn-3").wait_for()
    assert bridge.widget.model == "churn-3"
    assert "No registered models" not in page.locator(".cb-registry").inner_text()


def test_versions_filter_by_the_search_grammar(bridge_for, registry_store):
    bridge = bridge_for(
        canvasback.registry_panel("digits", store=registry_store["root"], poll_ms=0)
    )
    page = bridge.mount()
    box = page.locator(".cb-reg-version-filter")
    box.fill("tags.note != ''")
    box.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.cb-reg-version').length === 1")
    assert page.locator(".cb-reg-version").get_attribute("data-version") == "1"
    assert bridge.widget.version_filter == "tags.note != ''"
    box.fill("tags.note = ")
    box.press("Enter")
    page.locator(".cb-reg-filter-error", has_text="Invalid filter").wait_for()
    assert page.locator(".cb-reg-version").count() == 2  # every version, and why not filtered
    assert box.input_value() == "tags.note = "  # the text stays to be fixed
