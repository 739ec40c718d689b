"""The registry panel without a browser: a real store, requests sent as the front end does.

Each action goes through the panel's message handler (``handle_request``, which the
comm handler calls) and must reach the store through the registry's API; a refused one
must leave the store as it was and say why in the panel.
"""

from __future__ import annotations

import importlib
import inspect
import pydoc
import sys
import warnings
from pathlib import Path

import pytest
from mypy import api as mypy_api

import canvasback
from canvasback.registry import names, panel_reads
from canvasback.registry.entities import RegistryNotFoundError
from canvasback.widgets._base import table_from_ipc_bytes
from canvasback.widgets.registry import RegistryPanel

XSS = "<img src=x onerror=alert(1)>"


def logged_run(client, name, lr, acc, *, model=True):
    run = client.create_run("0", run_name=name)
    run.log_param("lr", lr)
    run.log_param("depth", 3)
    run.log_metric("acc", acc)
    run.log_metric("loss", 1 - acc)
    if model:
        client.log_text(run.run_id, "flavors: {}\n", "model/MLmodel")
    client.set_terminated(run.run_id)
    return run.run_id


@pytest.fixture
def client(store):
    return canvasback.Client(store=store)


@pytest.fixture
def runs(client):
    ids = [
        logged_run(client, f"lr={lr}", lr, 0.8 + 0.04 * i)
        for i, lr in enumerate((0.1, 0.01, 0.001))
    ]
    for run_id in ids:
        client.register_model(f"runs:/{run_id}/model", "digits")
    client.set_registered_model_alias("digits", "champion", 1)
    client.set_registered_model_alias("digits", "champion", 2)
    client.register_model(f"runs:/{ids[0]}/model", "other")
    client.flush()
    return ids


@pytest.fixture
def panels():
    made = []

    def make(*args, **kwargs):
        panel = canvasback.registry_panel(*args, **kwargs)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.close()


def versions(panel):
    return table_from_ipc_bytes(panel.versions).to_pylist()


def ok(panel, kind, **request):
    reply, _buffers = panel.handle_request(kind, request)
    assert "error" not in reply, reply
    return reply["reply"]


def refused(panel, kind, **request):
    reply, _buffers = panel.handle_request(kind, request)
    assert "error" in reply, reply
    return reply["error"]


# -- reads ------------------------------------------------------------------------------
def test_panel_shows_models_versions_and_their_runs(runs, panels):
    panel = panels("digits")
    assert [m["name"] for m in panel.models] == ["digits", "other"]
    digits = panel.models[0]
    assert digits["version_count"] == 3
    assert digits["aliases"] == {"champion": "2"}
    rows = versions(panel)
    assert [r["version"] for r in rows] == [3, 2, 1]  # newest first
    assert rows[1]["aliases"] == ["champion"]
    assert rows[2]["run_id"] == runs[0]
    assert rows[2]["run_name"] == "lr=0.1"
    assert rows[2]["metrics.acc"] == pytest.approx(0.8)
    assert rows[2]["params.lr"] == "0.1"
    # Params that differ between versions come first among the default columns.
    assert panel.metric_keys == ["acc", "loss"]
    assert panel.param_keys == ["lr", "depth"]
    moves = [(h["alias"], h["from_version"], h["to_version"]) for h in panel.history]
    assert moves == [("champion", None, 1), ("champion", 1, 2)]


@pytest.mark.usefixtures("runs")
def test_no_name_opens_the_first_model_and_an_unknown_one_is_refused(panels):
    assert panels().model == "digits"
    with pytest.raises(RegistryNotFoundError, match="'digits', 'other'"):
        canvasback.registry_panel("nope")


def test_an_empty_registry_is_a_panel_too(store, panels):  # noqa: ARG001 - an empty store
    panel = panels()
    assert panel.models == []
    assert panel.versions == b""
    assert "No registered models yet." in panel._static_html()


def test_a_page_of_versions_at_a_time(client, panels):
    run_id = logged_run(client, "one", 0.1, 0.9)
    for _ in range(5):
        client.register_model(f"runs:/{run_id}/model", "many")
    panel = panels("many", page_size=2)
    assert panel.version_total == 5
    assert [r["version"] for r in versions(panel)] == [5, 4]
    panel.page = 2  # as the pager does
    assert [r["version"] for r in versions(panel)] == [1]
    panel.page = 9  # past the end: the last page
    assert panel.page == 2


@pytest.mark.usefixtures("runs")
def test_choosing_columns_and_models(panels):
    panel = panels("digits")
    panel.metric_keys = ["loss"]
    assert [k for k in versions(panel)[0] if k.startswith("metrics.")] == ["metrics.loss"]
    panel.model = "other"
    assert [r["version"] for r in versions(panel)] == [1]
    assert panel.history == []


# -- actions ----------------------------------------------------------------------------
@pytest.mark.usefixtures("runs")
def test_move_and_remove_an_alias(client, panels):
    panel = panels("digits")
    reply = ok(panel, "set_alias", model="digits", alias="champion", version="3")
    assert reply["notice"] == "@champion now points at digits version 3 (from version 2)"
    assert client.get_model_version_by_alias("digits", "champion").version == "3"
    assert versions(panel)[0]["aliases"] == ["champion"]
    assert panel.history[-1]["from_version"] == 2
    assert panel.history[-1]["to_version"] == 3
    ok(panel, "delete_alias", model="digits", alias="champion")
    assert "champion" not in client.get_registered_model("digits").aliases
    assert panel.models[0]["aliases"] == {}
    assert panel.history[-1]["to_version"] is None


@pytest.mark.usefixtures("runs")
def test_change_a_stage_archiving_the_others(client, panels):
    panel = panels("digits")
    ok(panel, "set_stage", model="digits", version="1", stage="production", archive_existing=False)
    assert client.get_model_version("digits", 1).current_stage == "Production"
    reply = ok(
        panel, "set_stage", model="digits", version="2", stage="Production", archive_existing=True
    )
    assert "archived" in reply["notice"]
    stages = {r["version"]: r["current_stage"] for r in versions(panel)}
    assert stages == {3: "None", 2: "Production", 1: "Archived"}
    assert panel.models[0]["stages"] == ["Archived", "Production"]


@pytest.mark.usefixtures("runs")
def test_edit_descriptions_and_tags(client, panels):
    panel = panels("digits")
    ok(panel, "set_description", model="digits", version=None, description=f"Digits {XSS}")
    ok(panel, "set_description", model="digits", version="2", description="retrained")
    assert client.get_registered_model("digits").description == f"Digits {XSS}"
    assert client.get_model_version("digits", 2).description == "retrained"
    assert panel.models[0]["description"] == f"Digits {XSS}"
    ok(panel, "set_description", model="digits", version="2", description="")
    assert client.get_model_version("digits", 2).description is None
    ok(panel, "set_tag", model="digits", version="1", key="validated", value="yes")
    ok(panel, "set_tag", model="digits", version=None, key="team", value="vision")
    assert client.get_model_version("digits", 1).tags == {"validated": "yes"}
    assert panel.models[0]["tags"] == {"team": "vision"}
    assert versions(panel)[2]["tags"] == [{"key": "validated", "value": "yes"}]
    ok(panel, "set_tag", model="digits", version="1", key="validated", value=None)
    assert client.get_model_version("digits", 1).tags == {}


def test_register_the_runs_selected_in_a_table(client, runs, panels):
    extra = logged_run(client, "new", 0.5, 0.99)
    table = canvasback.runs()
    panel = panels("digits", table=table)
    assert panel.linked
    assert panel.table_runs == []
    table.selected_ids = [extra, runs[0]]  # a click in the table
    assert [r["run_id"] for r in panel.table_runs] == [extra, runs[0]]
    assert panel.table_runs[0]["models"] == ["model"]
    assert panel.table_runs[0]["registered"] == []
    assert panel.table_runs[1]["registered"] == ["digits v1", "other v1"]
    reply = ok(
        panel,
        "register",
        name="digits",
        runs=[{"run_id": extra, "path": "model"}, {"run_id": runs[0], "path": "model"}],
    )
    assert reply["notice"] == "Registered 2 versions of digits: 4, 5"
    assert client.get_model_version("digits", 4).run_id == extra
    assert panel.version_total == 5
    table.close()


def test_a_refused_action_changes_nothing_and_says_why(client, runs, panels):
    panel = panels("digits")
    catalog = client.store.read()
    before = panel_reads.registry_signature(catalog)
    message = refused(panel, "set_alias", model="digits", alias="latest", version="1")
    assert "Invalid alias 'latest'" in message
    assert panel.error == {"action": "set_alias", "message": message}
    refused(panel, "set_alias", model="digits", alias="champion", version="9")
    assert "has no version 9; its versions are 1, 2, 3" in panel.error["message"]
    refused(panel, "set_stage", model="digits", version="1", stage="Prod", archive_existing=False)
    assert "the stages are None, Staging, Production, Archived" in panel.error["message"]
    refused(panel, "delete_alias", model="digits", alias="ghost")
    # Registering: one run without a model refuses them all, before any is written.
    bare = logged_run(client, "no-model", 0.2, 0.5, model=False)
    refused(
        panel,
        "register",
        name="digits",
        runs=[{"run_id": runs[2], "path": "model"}, {"run_id": bare, "path": "model"}],
    )
    assert "has no model at 'model'" in panel.error["message"]
    refused(panel, "register", name="a/b", runs=[{"run_id": runs[0], "path": "model"}])
    assert "names cannot contain '/'" in panel.error["message"]
    refused(panel, "register", name="digits", runs=[])
    refused(panel, "set_description", model="digits", version=None, description=5)
    assert panel_reads.registry_signature(client.store.read()) == before
    assert client.get_registered_model("digits").aliases == {"champion": "2"}
    # The next action that works clears the error.
    ok(panel, "set_alias", model="digits", alias="challenger", version="3")
    assert panel.error is None


# -- what an action costs -----------------------------------------------------------------
def _spy(monkeypatch, owner, name, calls):
    """Wrap ``owner.name`` so each call is recorded, then made as before."""
    real = getattr(owner, name)

    def spy(*args, **kwargs):
        calls.append((name, args))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)


@pytest.mark.usefixtures("runs")
def test_an_alias_move_checks_once_writes_once_and_reads_the_store_twice(panels, monkeypatch):
    one, two = panels("digits"), panels("digits")
    store = one.store
    refreshes, checks, writes = [], [], []
    _spy(monkeypatch, store.catalog, "refresh", refreshes)
    for check in ("model_name", "alias_name", "version_number"):
        _spy(monkeypatch, names, check, checks)
    for write in ("append", "event"):
        _spy(monkeypatch, store.writer, write, writes)
    reply = ok(one, "set_alias", model="digits", alias="champion", version="3")
    assert reply["notice"] == "@champion now points at digits version 3 (from version 2)"
    # Once before the move (its protection and gates as the store holds them now, not as
    # the panel last read them), once after it for every panel.
    assert len(refreshes) == 2
    assert checks == [
        ("alias_name", ("champion",)),
        ("model_name", ("digits",)),
        ("version_number", ("3",)),
    ]
    assert [(call, args[0]) for call, args in writes] == [("append", "model_aliases")]
    # Both panels show the move, from that one read.
    for panel in (one, two):
        assert panel.models[0]["aliases"] == {"champion": "3"}
        assert versions(panel)[0]["aliases"] == ["champion"]


@pytest.mark.usefixtures("runs")
def test_a_version_the_panel_has_not_read_yet_is_found_by_reading_again(client, panels):
    panel = panels("digits")
    run_id = client.get_model_version("digits", 1).run_id
    client.register_model(f"runs:/{run_id}/model", "digits")  # version 4: not shown yet
    ok(panel, "set_alias", model="digits", alias="champion", version="4")
    assert client.get_model_version_by_alias("digits", "champion").version == "4"
    message = refused(panel, "set_alias", model="digits", alias="champion", version="5")
    assert "has no version 5; its versions are 1, 2, 3, 4" in message


@pytest.mark.usefixtures("runs")
def test_a_poll_that_finds_a_change_reads_the_store_once(client, panels, monkeypatch):
    panel = panels("digits")
    client.set_registered_model_alias("digits", "champion", 3)
    refreshes = []
    _spy(monkeypatch, panel.store.catalog, "refresh", refreshes)
    assert ok(panel, "poll")["changed"] is True
    assert len(refreshes) == 1
    assert panel.models[0]["aliases"] == {"champion": "3"}


# -- every open panel refreshes ---------------------------------------------------------
@pytest.mark.usefixtures("runs")
def test_an_action_in_one_panel_refreshes_the_others_at_once(client, panels):
    one, two = panels("digits"), panels("digits")
    revision = two.revision
    ok(one, "set_alias", model="digits", alias="champion", version="3")
    assert two.revision > revision
    assert two.models[0]["aliases"] == {"champion": "3"}
    assert versions(two)[0]["aliases"] == ["champion"]
    # A panel of another store is left alone.
    elsewhere = panels(store=client.store.root.parent / "other-store")
    revision = elsewhere.revision
    ok(one, "set_alias", model="digits", alias="champion", version="1")
    assert elsewhere.revision == revision


def test_a_change_from_plain_python_shows_at_the_next_poll(client, runs, panels):
    panel = panels("digits")
    assert ok(panel, "poll")["changed"] is False
    client.set_registered_model_alias("digits", "champion", 3)
    assert ok(panel, "poll")["changed"] is True
    assert panel.models[0]["aliases"] == {"champion": "3"}
    assert ok(panel, "poll")["changed"] is False
    # Each kind of write changes the signature that the poll compares.
    catalog = client.store.read()
    seen = {panel_reads.registry_signature(catalog)}
    for write in (
        lambda: client.update_model_version("digits", 1, "x"),
        lambda: client.update_model_version("digits", 1, "y"),
        lambda: client.transition_model_version_stage("digits", 1, "Staging"),
        lambda: client.set_model_version_tag("digits", 1, "k", "v"),
        lambda: client.register_model(f"runs:/{runs[0]}/model", "digits"),
        lambda: client.create_registered_model("third"),
        lambda: client.delete_model_version("digits", 4),
    ):
        write()
        signature = panel_reads.registry_signature(client.store.read())
        assert signature not in seen
        seen.add(signature)


@pytest.mark.usefixtures("runs")
def test_a_closed_panel_is_not_refreshed(panels):
    one, two = panels("digits"), panels("digits")
    two.close()
    revision = two.revision
    ok(one, "set_alias", model="digits", alias="champion", version="3")
    assert two.revision == revision


# -- selection --------------------------------------------------------------------------
def test_selected_versions_give_their_runs_to_compare_and_a_linked_table(runs, panels):
    table = canvasback.runs()
    panel = panels("digits", table=table)
    chart = canvasback.compare(panel)
    panel.selected_versions = ["digits/1"]
    assert panel.selected_ids == [runs[0]]
    assert table.selected_ids == []  # one version is a target, not a comparison
    panel.selected_versions = ["digits/1", "digits/3"]
    assert panel.selected_ids == [runs[0], runs[2]]
    assert table.selected_ids == [runs[0], runs[2]]
    assert chart.run_ids == [runs[0], runs[2]]
    assert [v.version for v in panel.selected] == ["1", "3"]
    # A selected version that is deleted drops out of the selection.
    panel.client.delete_model_version("digits", 3)
    panel.refresh()
    assert panel.selected_versions == ["digits/1"]
    chart.close()
    table.close()


# -- static view and entry points -------------------------------------------------------
@pytest.mark.usefixtures("runs")
def test_static_view_escapes_every_text(client, panels):
    client.update_registered_model("digits", XSS)
    client.set_model_version_tag("digits", 2, "note", XSS)
    panel = panels("digits")
    data, _meta = panel._repr_mimebundle_()
    html = data["text/html"]
    assert "Registered models" in html
    assert "Versions of digits" in html
    assert "Alias history" in html
    assert "@champion → v2" in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.usefixtures("runs")
def test_entry_points(panels):
    assert isinstance(panels("digits"), RegistryPanel)  # panels() calls registry_panel
    assert canvasback.RegistryPanel is RegistryPanel
    importlib.import_module("canvasback.widgets.registry")
    assert canvasback.registry_panel is canvasback.widgets.registry_panel
    assert "registry_panel" in dir(canvasback)
    assert panels("digits").model == "digits"
    assert callable(canvasback.compare)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        canvasback.registry_panel("digits", colour="red")


@pytest.mark.usefixtures("runs")
def test_registry_panel_opens_the_panel_without_a_warning(panels):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = panels("digits")
    assert panel.model == "digits"
    assert [w for w in caught if "canvasback" in str(w.message)] == []


@pytest.mark.usefixtures("runs")
def test_calling_the_registry_package_is_deprecated_and_still_opens_the_panel():
    with pytest.deprecated_call(match=r"call canvasback\.registry_panel\(\.\.\.\) instead") as got:
        panel = canvasback.registry("digits", poll_ms=0)
    try:
        assert isinstance(panel, RegistryPanel)
        assert (panel.model, panel.poll_ms) == ("digits", 0)
    finally:
        panel.close()
    assert [w.filename for w in got] == [__file__]  # it names the caller's line


def test_canvasback_registry_is_the_registry_package_to_help_and_type_checkers(tmp_path):
    package = canvasback.registry
    assert inspect.ismodule(package)
    assert package is sys.modules["canvasback.registry"]
    assert package.Client is canvasback.Client
    assert pydoc.describe(package) == "package canvasback.registry"
    assert "register_model" in pydoc.render_doc(package, renderer=pydoc.plaintext)
    # What mypy makes of it, from the package root's source and the registry package's.
    snippet = tmp_path / "use.py"
    snippet.write_text(
        "import canvasback as cb\n\n"
        "reveal_type(cb.registry)\n"
        "cb.registry_panel('digits')\n"
        "cb.registry('digits')\n"
    )
    root = Path(canvasback.__file__).parent
    out, _err, _status = mypy_api.run(
        [
            "--config-file=",
            "--cache-dir=/dev/null",
            "--follow-imports=skip",
            "--ignore-missing-imports",
            str(snippet),
            str(root / "__init__.py"),
            str(root / "registry" / "__init__.py"),
        ]
    )
    said = [line.removeprefix(f"{snippet}:") for line in out.splitlines()]
    assert [line for line in said if line[:1].isdigit()] == [
        '3: note: Revealed type is "types.ModuleType"',
        "5: error: Module not callable  [operator]",  # the deprecated call alone
    ]


# -- in the dashboard -------------------------------------------------------------------
def test_dashboard_links_table_registry_and_charts(client, runs):
    extra = logged_run(client, "fresh", 0.2, 0.97)
    dash = canvasback.dashboard(model="digits")
    try:
        assert dash.children == (dash.table, dash.registry, dash.compare)
        assert dash.registry.linked
        # Two versions selected in the registry: their runs in the table and the charts.
        dash.registry.selected_versions = ["digits/1", "digits/2"]
        assert sorted(dash.table.selected_ids) == sorted(runs[:2])
        assert sorted(dash.compare.run_ids) == sorted(runs[:2])
        # Runs selected in the table can be registered from the panel.
        dash.table.selected_ids = [extra]
        assert [r["run_id"] for r in dash.registry.table_runs] == [extra]
        ok(dash.registry, "register", name="digits", runs=[{"run_id": extra, "path": "model"}])
        assert client.get_model_version("digits", 4).run_id == extra
        html = dash._repr_mimebundle_()[0]["text/html"]
        assert "Versions of digits" in html
        assert dash.registry._static_key in html
    finally:
        for widget in (dash.registry, dash.compare, dash.table):
            widget.close()


@pytest.mark.usefixtures("runs")
def test_dashboard_without_the_registry():
    dash = canvasback.dashboard(registry=False)
    assert dash.registry is None
    assert dash.children == (dash.table, dash.compare)
    dash.compare.close()
    dash.table.close()


def test_filter_the_versions_with_the_search_grammar(client, runs, panels):
    client.set_model_version_tag("digits", 2, "validated", "yes")
    panel = panels("digits", page_size=1)
    panel.page = 2
    panel.version_filter = "tags.validated = 'yes' OR version_number = 1"
    assert panel.page == 0  # a new list starts at its first page
    assert panel.version_total == 2
    assert [r["version"] for r in versions(panel)] == [2]
    assert panel.filter_error == ""
    panel.version_filter = f"run_id = '{runs[2]}'"
    assert [r["version"] for r in versions(panel)] == [3]
    # A filter that does not parse shows every version and says why.
    panel.version_filter = "tags.validated = "
    assert panel.version_total == 3
    assert "Invalid filter" in panel.filter_error
    panel.version_filter = "tags.validated = 'no'"
    assert panel.version_total == 0
    assert versions(panel) == []
