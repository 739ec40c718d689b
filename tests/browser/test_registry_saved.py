"""A saved registry notebook shows its panels wherever no widget can run, offline.

``notebooks/registry.ipynb`` is executed once by nbclient (as ``jupyter nbconvert
--execute`` does, saving the widget state). Its panel and its dashboard each save a
static output (the models, the versions, the alias history, as escaped HTML tables)
before their view; then the page ``jupyter nbconvert --to html`` makes, and JupyterLab
reopening the notebook in a kernel that holds none of the widgets, both show them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "registry.ipynb"
STATE = "application/vnd.jupyter.widget-state+json"
VIEW = "application/vnd.jupyter.widget-view+json"
MODEL = "digits-classifier"

# The registry's static views that a reader sees: visible, with their version rows.
_SEEN = """() => {
    const visible = (node) => node.checkVisibility() && node.getBoundingClientRect().height > 0;
    const views = [...document.querySelectorAll('.canvasback-static')]
        .filter((node) => visible(node) && node.innerText.includes('Model registry'));
    const text = document.body.innerText;
    return {
        views: views.length,
        versions: views.map((v) => [...v.querySelectorAll('h3')]
            .some((h) => h.innerText.startsWith('Versions of'))),
        history: views.map((v) => v.innerText.includes('Alias history')),
        champion: views.map((v) => v.innerText.includes('@champion')),
        errors: ['Error displaying widget', 'RegistryPanel model_id']
            .filter((t) => text.includes(t)),
    };
}"""


def assert_registry_views(seen: dict[str, Any]) -> None:
    assert seen["views"] == 2, seen  # the panel's cell and the dashboard's
    assert all(seen["versions"]), seen
    assert all(seen["history"]), seen
    assert all(seen["champion"]), seen
    assert seen["errors"] == [], seen


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """registry.ipynb executed into a fresh store, saved with its widget state."""
    import nbclient  # noqa: PLC0415 - only these tests need it
    import nbformat  # noqa: PLC0415

    base = tmp_path_factory.mktemp("registry_saved")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    store = base / "store"
    nb.cells.insert(
        0, nbformat.v4.new_code_cell(f"import os\nos.environ['CANVASBACK_STORE'] = {str(store)!r}")
    )
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute(cwd=str(base))
    path = base / "registry_saved.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.kernel  # the notebook ran in a kernel (the module's fixture)
def test_each_panel_saves_a_static_output_before_its_view(saved):
    notebook = json.loads(saved.read_text())
    state = notebook["metadata"]["widgets"][STATE]["state"]
    panels = [
        m
        for m in state.values()
        if m["state"].get("_model_name") == "AnyModel" and "models" in m["state"]
    ]
    assert len(panels) == 2  # the panel and the dashboard's
    saved_html = [
        "".join(output["data"]["text/html"])
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if "data-cb-static" in "".join(output.get("data", {}).get("text/html", ""))
    ]
    keys = {
        k
        for html in saved_html
        for k in re.findall(r'data-cb-static="([0-9a-f ]+)"', html)[0].split()
    }
    assert {p["state"]["_static_key"] for p in panels} <= keys
    registry_html = [h for h in saved_html if f"Versions of {MODEL}" in h]
    assert len(registry_html) == 2
    for html in registry_html:
        assert "@champion" in html  # the alias, and the source run's metric column
        assert "test_acc" in html


@pytest.mark.browser
def test_nbconvert_html_shows_the_panels_offline(saved, offline_page, tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbconvert",
            "--to",
            "html",
            str(saved),
            "--output-dir",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    page = offline_page.page
    page.goto((tmp_path / f"{saved.stem}.html").as_uri())
    page.wait_for_load_state("load")
    assert_registry_views(page.evaluate(_SEEN))
    offline_page.screenshot("nbconvert_registry", full_page=True)
    # Only nbconvert's own page asks for a CDN (and is refused): never a canvasback output.
    own = ("cdnjs.cloudflare.com/ajax/libs/", "unpkg.com/@jupyter-widgets/html-manager")
    assert all(any(part in url for part in own) for url in offline_page.blocked)


@pytest.mark.jupyterlab
def test_jupyterlab_without_the_widgets_kernel_shows_the_panels(saved, lab_page):
    import nbformat  # noqa: PLC0415
    from nbformat.sign import NotebookNotary  # noqa: PLC0415

    nb = nbformat.read(saved, as_version=4)
    # Trusted, as a notebook its user saved is (an untrusted one's HTML is sanitized).
    NotebookNotary(data_dir=str(lab_page.lab.runtime_dir.parent / "data")).sign(nb)
    nbformat.write(nb, lab_page.lab.root / "registry_reopened.ipynb")
    lab_page.open("registry_reopened.ipynb")  # a new kernel: none of the saved widgets
    page = lab_page.page
    # A view restored from saved state waits a few seconds for a kernel, then steps aside.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-Notebook .canvasback-static')]"
        ".filter((n) => n.checkVisibility() && n.innerText.includes('Model registry')).length === 2"
        " && !document.querySelector('.jp-Notebook .cb-registry')?.checkVisibility()",
        timeout=60_000,  # a new kernel on a busy two-core machine takes its time
        polling=200,
    )
    assert_registry_views(page.evaluate(_SEEN))
    lab_page.screenshot("jupyterlab_registry_reopened")
    assert lab_page.offline.blocked == []
