"""End to end: notebooks/registry.ipynb in a real JupyterLab, with a real kernel.

The notebook trains two scikit-learn models, registers both, moves ``@champion`` and
loads it back by alias; its last cells force a move of the protected ``@production``,
have a gate refuse a move, and put the two evaluated versions side by side, which the
panel shows. Then, in the browser: an alias given in one view of the panel
reaches the kernel's registry and shows in a second view of the same panel and in the
dashboard's panel (another widget of the same store); an alias moved from plain Python
shows in all three; and the model loaded by that alias predicts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.jupyterlab

PROJECT = Path(__file__).resolve().parents[2]
NOTEBOOK = PROJECT / "notebooks" / "registry.ipynb"
SCREENSHOTS = PROJECT / "artifacts" / "screenshots"
NAME = "registry-e2e.ipynb"
# Cells of the notebook (markdown included) that show a panel; a second view is appended.
PANEL_CELL, DASHBOARD_CELL = 11, 15
ROW = ".cb-registry .cb-reg-version[data-version='{}']"
CHIP = ".cb-reg-alias[data-alias='{}']"


def _with_second_view(source: Path, target: Path) -> int:
    """The notebook plus a last cell showing ``panel`` again; returns that cell's index."""
    notebook = json.loads(source.read_text())
    notebook["cells"].append(
        {"cell_type": "code", "execution_count": None, "id": "second-view", "metadata": {},
         "outputs": [], "source": ["panel"]}
    )  # fmt: skip
    target.write_text(json.dumps(notebook, indent=1))
    return len(notebook["cells"]) - 1


def test_panels_follow_alias_moves_from_a_view_and_from_python(lab_page):
    second_view = _with_second_view(NOTEBOOK, lab_page.lab.root / NAME)
    shutil.copy(NOTEBOOK, lab_page.lab.root / NOTEBOOK.name)  # beside it, as shipped
    lab_page.open(NAME)
    lab_page.run_all()

    best = lab_page.kernel_eval(NAME, "versions[best].version").strip("'")
    other = lab_page.kernel_eval(
        NAME, "next(v.version for k, v in versions.items() if k != best)"
    ).strip("'")
    panels = [lab_page.cell(i) for i in (PANEL_CELL, second_view, DASHBOARD_CELL)]
    for cell in panels:
        cell.locator(ROW.format(best)).locator(CHIP.format("champion")).wait_for(timeout=30_000)
    # The cells after the panel: @production's forced move is in its history, and the
    # two versions are side by side with their evaluations.
    first = panels[0]
    first.locator(".cb-reg-moves li[data-alias='production'][data-forced='true']").wait_for(
        timeout=30_000
    )
    first.locator(".cb-reg-guard[data-alias='production'] .cb-reg-lock").wait_for()
    first.locator(
        ".cb-reg-guard[data-alias='release'] .cb-reg-gate[data-gate='best-acc']"
    ).wait_for()
    evaluations = first.locator(".cb-reg-compare .cb-reg-cmp-eval td").all_inner_texts()
    assert [text.startswith("accuracy_score=") for text in evaluations] == [True, True]
    assert first.locator(".cb-reg-lineage .cb-reg-node[data-kind='dataset']").count() == 1
    # The tag set from Python in the cell after the panel shows (the panel polls).
    panels[0].locator(ROW.format(best)).locator(".cb-reg-tag-key", has_text="validated").wait_for(
        timeout=30_000
    )

    # An alias given in the first view: in the kernel's registry, then in every panel.
    row = panels[0].locator(ROW.format(other))
    row.locator(".cb-reg-add", has_text="+ alias").click()
    row.locator("input.cb-reg-input").fill("challenger")
    row.locator("input.cb-reg-input").press("Enter")
    lab_page.wait_for_kernel(
        NAME,
        "client.get_model_version_by_alias(NAME, 'challenger').version",
        repr(other),
        timeout=30_000,
    )
    for cell in panels:
        cell.locator(ROW.format(other)).locator(CHIP.format("challenger")).wait_for(timeout=30_000)

    # @champion moved from plain Python: every panel shows it on the other version.
    assert (
        lab_page.kernel_eval(NAME, f"client.set_registered_model_alias(NAME, 'champion', {other})")
        == "None"
    )
    for cell in panels:
        cell.locator(ROW.format(other)).locator(CHIP.format("champion")).wait_for(timeout=30_000)
        assert cell.locator(ROW.format(best)).locator(CHIP.format("champion")).count() == 0
    # The timeline has the move, and the champion now loads as the other model.
    assert f"v{best} → v{other}" in panels[0].locator(".cb-reg-moves").inner_text()
    predicted = lab_page.kernel_eval(
        NAME,
        "float((cb.load_model(f'models:/{NAME}@champion').predict(X_test) == y_test).mean())"
        " == accuracy[next(k for k in versions if k != best)]",
    )
    assert predicted == "True"

    lab_page.screenshot("jupyterlab_registry_notebook")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    panels[2].screenshot(path=str(SCREENSHOTS / "jupyterlab_registry_dashboard.png"))
    panels[0].screenshot(path=str(SCREENSHOTS / "jupyterlab_registry_panel.png"))
    for cell in panels:
        assert cell.locator(".canvasback-error").count() == 0
    assert lab_page.offline.blocked == []
