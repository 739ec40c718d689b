"""A saved notebook shows its tables and charts wherever no widget can run, offline.

``notebooks/compare.ipynb`` (a run table, a comparison, a dashboard) is executed once by
nbclient, as ``jupyter nbconvert --to notebook --execute`` does, which saves the widget
state; a copy has that state removed. Both are then shown in Chromium the ways a reader
meets them: exported by ``jupyter nbconvert --to html`` (whose page prefers the widget
view whenever the state is saved, and fetches its widget manager from a CDN that is
blocked here), as a code host renders them (``text/html`` and images only, no script or
style), and reopened in JupyterLab: in a new kernel that holds none of the widgets, and
with no kernel at all (its "No Kernel" choice).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare.ipynb"
STATE = "application/vnd.jupyter.widget-state+json"
VIEW = "application/vnd.jupyter.widget-view+json"
RUNS = 8  # the sweep compare.ipynb logs
WIDGET_CELLS = 3  # the table, the comparison, the dashboard
OPEN_TIMEOUT_MS = 90_000  # a cold JupyterLab page load, as the fixtures allow

# Every static view of the page, as a reader sees it: visible tables with their rows,
# visible charts with drawn marks, and no widget error text.
_SEEN = """() => {
    const visible = (node) => {
        const box = node.getBoundingClientRect();
        const style = getComputedStyle(node);
        return box.width > 0 && box.height > 0 && style.visibility !== 'hidden'
            && node.checkVisibility();
    };
    const tables = [...document.querySelectorAll('.canvasback-run-table-static table')]
        .filter(visible).map((t) => t.querySelectorAll('tbody tr').length);
    const charts = [...document.querySelectorAll('.canvasback-static svg')].filter(visible)
        .map((svg) => [...svg.querySelectorAll('path, line, circle, rect')]
            .filter((m) => m.getBoundingClientRect().width + m.getBoundingClientRect().height > 0)
            .length);
    const text = document.body.innerText;
    const errors = ['Error displaying widget', 'Loading widget', 'Compare model_id',
        'RunTable model_id'].filter((t) => text.includes(t));
    return {tables, charts, errors};
}"""


def assert_static_views(page: Page) -> dict[str, Any]:
    seen: dict[str, Any] = page.evaluate(_SEEN)
    # The table's cell and the dashboard's: every run a row.
    assert seen["tables"] == [RUNS, RUNS], seen
    # Four charts of the comparison and four of the dashboard, each with marks drawn.
    assert len(seen["charts"]) == 8, seen
    assert min(seen["charts"]) > 5, seen
    assert seen["errors"] == [], seen
    return seen


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """compare.ipynb executed with widget state saved, and a copy without that state."""
    import nbclient  # noqa: PLC0415 - only these tests need it
    import nbformat  # noqa: PLC0415

    base = tmp_path_factory.mktemp("saved")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    store = base / "store"
    # The notebook logs its sweep into the current store: a fresh one of its own.
    nb.cells.insert(
        0, nbformat.v4.new_code_cell(f"import os\nos.environ['CANVASBACK_STORE'] = {str(store)!r}")
    )
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute(cwd=str(base))
    with_state = base / "with_state.ipynb"
    nbformat.write(nb, with_state)
    without = json.loads(with_state.read_text())
    without["metadata"].pop("widgets")
    without_state = base / "without_state.ipynb"
    without_state.write_text(json.dumps(without, indent=1))
    return {"with_state": with_state, "without_state": without_state}


def _widget_outputs(path: Path) -> list[list[dict[str, Any]]]:
    cells = json.loads(path.read_text())["cells"]
    return [
        cell["outputs"]
        for cell in cells
        if any(VIEW in output.get("data", {}) for output in cell.get("outputs", []))
    ]


@pytest.mark.kernel  # the notebook ran in a kernel (the module's fixture)
def test_each_widget_saves_a_static_output_then_its_view(saved):
    outputs = _widget_outputs(saved["with_state"])
    assert len(outputs) == WIDGET_CELLS
    state = json.loads(saved["with_state"].read_text())["metadata"]["widgets"][STATE]["state"]
    for static, view in outputs:
        html = "".join(static["data"]["text/html"])
        (key,) = re.findall(r'data-cb-static="([0-9a-f ]+)"', html)[:1]
        model = state[view["data"][VIEW]["model_id"]]["state"]
        # The view's key marks its static copy (a dashboard's: its table's and charts').
        assert model.get("_static_key", "") in key.split() or model["_model_name"] == "VBoxModel"
        assert "".join(view["data"]["text/plain"]) == ""


@pytest.mark.browser
@pytest.mark.parametrize("which", ["with_state", "without_state"])
def test_nbconvert_html_shows_the_static_views_offline(saved, which, offline_page, tmp_path):
    html = tmp_path / f"{which}.html"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbconvert",
            "--to",
            "html",
            str(saved[which]),
            "--output-dir",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    assert html.is_file()
    if which == "with_state":
        # The case that used to show nothing: nbconvert picks the widget view.
        assert 'type="application/vnd.jupyter.widget-view+json"' in html.read_text()
    page = offline_page.page
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    assert_static_views(page)
    offline_page.screenshot(f"nbconvert_{which}", full_page=True)
    # What was blocked is nbconvert's own page (require.js, MathJax, and with widget
    # state its widget manager), never something a canvasback output asked for.
    own = ("cdnjs.cloudflare.com/ajax/libs/", "unpkg.com/@jupyter-widgets/html-manager")
    assert all(any(part in url for part in own) for url in offline_page.blocked), (
        offline_page.blocked
    )
    manager = [url for url in offline_page.blocked if "html-manager" in url]
    assert bool(manager) == (which == "with_state")


_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)


def code_host_page(path: Path) -> str:
    """The notebook as a code host shows it: text/html or an image per output, no script."""
    parts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                parts.append(_SCRIPT_OR_STYLE.sub("", "".join(data["text/html"])))
            elif "image/png" in data:
                parts.append(f'<img src="data:image/png;base64,{data["image/png"]}">')
            elif "text/plain" in data:
                parts.append(f"<pre>{''.join(data['text/plain'])}</pre>")
    return f"<!doctype html><html><body>{'<hr>'.join(parts)}</body></html>"


@pytest.mark.browser
@pytest.mark.parametrize("which", ["with_state", "without_state"])
def test_a_code_host_shows_the_static_views(saved, which, offline_page, tmp_path):
    page_file = tmp_path / "host.html"
    page_file.write_text(code_host_page(saved[which]))
    offline_page.page.goto(page_file.as_uri())
    assert_static_views(offline_page.page)
    assert offline_page.blocked == []


# Every static view is shown, and the widget view saved after each (the next output)
# is hidden or empty: no "model not found", no view waiting for a kernel that never comes.
# With saved state each view first renders and hides its static copy, then steps aside
# (an inline display:none on its box): until then the statics showing is only the moment
# before the views restored, so the wait must see them step aside.
_SETTLED = """([stepped, count]) => {
    const boxes = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-child')];
    const statics = boxes.filter((b) => b.querySelector('[data-cb-static]'));
    const views = statics.map((b) => b.nextElementSibling);
    return statics.length === count && statics.every((b) => b.checkVisibility())
        && views.every((v) => v && !(v.checkVisibility() && v.innerText.trim() !== ''))
        && (!stepped || views.every((v) => v.style.display === 'none'));
}"""


@pytest.mark.jupyterlab
@pytest.mark.parametrize("which", ["with_state", "without_state"])
def test_jupyterlab_without_the_widgets_kernel_shows_the_static_views(saved, which, lab_page):
    import nbformat  # noqa: PLC0415
    from nbformat.sign import NotebookNotary  # noqa: PLC0415

    name = f"reopened_{which}.ipynb"
    nb = nbformat.read(saved[which], as_version=4)
    # Trusted, as a notebook its user saved is: JupyterLab sanitizes an untrusted one's
    # HTML down to text and tables (no SVG, no style) and never runs its widgets.
    NotebookNotary(data_dir=str(lab_page.lab.runtime_dir.parent / "data")).sign(nb)
    nbformat.write(nb, lab_page.lab.root / name)
    lab_page.open(name)  # a new kernel: none of the saved widgets live in it
    lab_page.page.locator(".jp-Notebook .canvasback-static svg").first.wait_for(timeout=30_000)
    # A view restored from saved state waits a few seconds for a kernel, then steps aside.
    lab_page.page.wait_for_function(
        _SETTLED, arg=[which == "with_state", WIDGET_CELLS], timeout=20_000, polling=200
    )
    assert_static_views(lab_page.page)
    lab_page.screenshot(f"jupyterlab_reopened_{which}")
    assert lab_page.offline.blocked == []


# The kernelspec of a notebook from another machine, naming an environment this one lacks.
_ABSENT_KERNEL = {
    "display_name": "Python (an absent environment)",
    "language": "python",
    "name": "canvasback-absent-kernel",
}

# The notebook is loaded and has no kernel: no session, and its toolbar says so.
_NO_KERNEL = """(path) => {
    const panel = Array.from(window.jupyterapp.shell.widgets('main'))
        .find((widget) => widget.context && widget.context.path === path);
    const session = panel && panel.sessionContext;
    const toolbar = panel && panel.node.querySelector('.jp-KernelName');
    return !!session && panel.context.isReady && session.hasNoKernel && !session.session
        && !!toolbar && toolbar.textContent.trim() === 'No Kernel';
}"""


# With no kernel, JupyterLab's widget manager never comes (jupyterlab-manager makes one per
# kernel), so each saved view stays at its placeholder until the reader starts a kernel,
# hidden by the static output's CSS since no canvasback view runs; its static copy shows.
_NO_VIEW_RUNS = """() => {
    const boxes = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-child')];
    const statics = boxes.filter((b) => b.querySelector('[data-cb-static]'));
    const views = statics.map((b) => b.nextElementSibling);
    return statics.length === 3 && statics.every((b) => b.checkVisibility())
        && views.every((v) => v && !v.checkVisibility() && !v.querySelector('.cb-view-live')
            && v.textContent.trim() === 'Loading widget...');
}"""


@pytest.fixture(scope="module")
def two_python_kernels(jupyterlab: Any) -> Iterator[None]:
    """A second Python kernel beside python3, as a machine with a project venv has.

    JupyterLab starts the one kernel of a notebook's language when the kernel it names is
    missing; with two it asks, and the reader can pick "No Kernel".
    """
    spec = jupyterlab.runtime_dir.parent / "data" / "kernels" / "canvasback-second-python"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python (a second environment)",
                "language": "python",
            }
        )
    )
    try:
        yield
    finally:
        shutil.rmtree(spec)


@pytest.mark.jupyterlab
@pytest.mark.usefixtures("two_python_kernels")
@pytest.mark.parametrize("which", ["with_state", "without_state"])
def test_jupyterlab_with_no_kernel_shows_the_static_views(saved, which, lab_page):
    import nbformat  # noqa: PLC0415
    from nbformat.sign import NotebookNotary  # noqa: PLC0415

    name = f"no_kernel_{which}.ipynb"
    nb = nbformat.read(saved[which], as_version=4)
    nb.metadata["kernelspec"] = dict(_ABSENT_KERNEL)
    NotebookNotary(data_dir=str(lab_page.lab.runtime_dir.parent / "data")).sign(nb)
    nbformat.write(nb, lab_page.lab.root / name)
    page = lab_page.page
    page.goto(lab_page.lab.notebook_url(name))
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Select Kernel", exact=True).wait_for(timeout=OPEN_TIMEOUT_MS)
    dialog.get_by_role("button", name="No Kernel", exact=True).click()
    dialog.wait_for(state="detached")
    page.wait_for_function(_NO_KERNEL, arg=name, timeout=OPEN_TIMEOUT_MS)
    page.locator(".jp-Notebook .canvasback-static svg").first.wait_for(timeout=30_000)
    page.wait_for_function(_NO_VIEW_RUNS, timeout=20_000, polling=200)
    assert_static_views(page)
    lab_page.screenshot(f"jupyterlab_no_kernel_{which}")
    # Nothing started a kernel behind the reader's back, and nothing left loopback.
    assert [s for s in lab_page.lab.api("/api/sessions") if s["path"] == name] == []
    assert page.evaluate(_NO_KERNEL, name)
    assert lab_page.offline.blocked == []


# How JupyterLab marked the notebook's code cells, as its server checked the signature.
_CELLS_TRUSTED = """(path) => {
    const panel = Array.from(window.jupyterapp.shell.widgets('main'))
        .find((widget) => widget.context && widget.context.path === path);
    return [...panel.content.widgets].filter((cell) => cell.model.type === 'code')
        .map((cell) => cell.model.trusted);
}"""

# Every static output rendered, each with its headings: whatever the sanitizer left of
# an output is in the page, since each output's HTML is set at once.
_STATICS_RENDERED = """(count) => {
    const statics = [...document.querySelectorAll('.jp-Notebook .canvasback-static')];
    return statics.length === count
        && statics.every((s) => s.checkVisibility() && s.querySelector('h3'));
}"""


@pytest.mark.jupyterlab
def test_jupyterlab_shows_an_unsigned_notebook_with_tables_but_no_charts(saved, lab_page):
    import nbformat  # noqa: PLC0415
    from nbformat.sign import NotebookNotary  # noqa: PLC0415

    # As `jupyter nbconvert --to notebook --execute` writes it: executed, never signed.
    # A signature covers the content, not the path, and the tests above sign copies of
    # this notebook: a title in its metadata makes it one that no signature covers.
    name = "executed_unsigned.ipynb"
    nb = nbformat.read(saved["with_state"], as_version=4)
    nb.metadata["title"] = "executed, never signed"
    notary = NotebookNotary(data_dir=str(lab_page.lab.runtime_dir.parent / "data"))
    try:
        assert not notary.check_signature(nb)
    finally:
        notary.store.close()
    nbformat.write(nb, lab_page.lab.root / name)
    lab_page.open(name)
    page = lab_page.page
    page.wait_for_function(_STATICS_RENDERED, arg=WIDGET_CELLS, timeout=30_000, polling=200)
    seen = page.evaluate(_SEEN)
    assert seen["tables"] == [RUNS, RUNS], seen
    assert seen["charts"] == [], seen  # the sanitizer took the SVG out
    assert seen["errors"] == [], seen
    assert not any(page.evaluate(_CELLS_TRUSTED, name))
    lab_page.screenshot("jupyterlab_unsigned")
    assert lab_page.offline.blocked == []


RAN_BY_CANVASBACK = [
    "import canvasback as cb\ncb.log_metric('loss', 0.5)",
    "cb.runs()",
    """from canvasback import ChartView
rows = [{"step": step, "loss": 1 / (step + 1)} for step in range(20)]
ChartView({
    "data": {"values": rows},
    "mark": "line",
    "encoding": {
        "x": {"field": "step", "type": "quantitative"},
        "y": {"field": "loss", "type": "quantitative"},
    },
})""",
]


@pytest.mark.jupyterlab
@pytest.mark.usefixtures("store")
def test_jupyterlab_trusts_a_notebook_canvasback_ran_and_shows_its_charts(
    lab_page, tmp_path, monkeypatch
):
    import nbformat  # noqa: PLC0415

    import canvasback as cb  # noqa: PLC0415

    # The same user's Jupyter as the server's: its data directory holds the notary.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(lab_page.lab.runtime_dir.parent / "data"))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in RAN_BY_CANVASBACK]
    source = tmp_path / "ran.ipynb"
    nbformat.write(nb, source)
    run = cb.run_notebook(source)
    assert run.info.status == "FINISHED"
    name = "ran_by_canvasback.ipynb"
    executed = cb.client().download_artifacts(run.run_id, "notebook/ran.ipynb")
    shutil.copy(executed, lab_page.lab.root / name)
    lab_page.open(name)  # a new kernel, as the reopened notebooks above
    page = lab_page.page
    page.locator(".jp-Notebook .canvasback-static svg").first.wait_for(timeout=30_000)
    with_state = "widgets" in nbformat.read(executed, as_version=4).metadata
    page.wait_for_function(_SETTLED, arg=[with_state, 2], timeout=20_000, polling=200)
    seen = page.evaluate(_SEEN)
    assert seen["tables"] == [1], seen  # the run itself
    assert len(seen["charts"]) == 1, seen
    assert seen["charts"][0] > 5, seen
    assert seen["errors"] == [], seen
    assert all(page.evaluate(_CELLS_TRUSTED, name))
    lab_page.screenshot("jupyterlab_ran_by_canvasback")
    assert lab_page.offline.blocked == []
