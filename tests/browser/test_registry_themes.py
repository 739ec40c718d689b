"""The registry panel stays readable in JupyterLab's light and dark themes.

A notebook shows a panel with two versions, an alias, a stage, a tag and an alias
history; in each theme the contrast of its texts against what they are drawn on is
measured in Chromium (WCAG's ratio, from the computed colours, as ``test_themes.py``
does for the other widgets), and a screenshot of each theme is kept.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.jupyterlab


def _load_theme_tests():
    # The test tree is not a package: the contrast probe is loaded by its path.
    path = Path(__file__).resolve().parent / "test_themes.py"
    spec = importlib.util.spec_from_file_location("_canvasback_theme_tests", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_themes = _load_theme_tests()

SETUP = """\
import canvasback as cb
client = cb.Client(store="registry-theme-store")
for i, lr in enumerate((0.1, 0.01)):
    run = client.create_run("0", run_name=f"lr={lr}")
    run.log_param("lr", lr)
    run.log_metric("acc", 0.8 + 0.1 * i)
    client.log_text(run.run_id, "flavors: {}\\n", "model/MLmodel")
    client.set_terminated(run.run_id)
    client.register_model(f"runs:/{run.run_id}/model", "themed")
client.set_registered_model_alias("themed", "champion", 1)
client.set_registered_model_alias("themed", "champion", 2)
client.transition_model_version_stage("themed", 2, "Production")
client.set_model_version_tag("themed", 2, "validated", "yes")
"""
PANEL = 'cb.registry_panel("themed", store="registry-theme-store")'
SAMPLES = {
    "model name": ".jp-Notebook .cb-reg-model-name",
    "model meta": ".jp-Notebook .cb-reg-model-meta",
    "title": ".jp-Notebook .cb-reg-model-title",
    "empty description": ".jp-Notebook .cb-reg-model-desc",
    "header": ".jp-Notebook .cb-reg-versions th:nth-child(2)",
    "version": ".jp-Notebook .cb-reg-vbadge",
    "stage": ".jp-Notebook .cb-reg-stage-select",
    "alias chip": ".jp-Notebook .cb-reg-versions .cb-reg-alias span",
    "run name": ".jp-Notebook .cb-reg-run-name",
    "tag value": ".jp-Notebook .cb-reg-tag-value",
    "tag key": ".jp-Notebook .cb-reg-tag-key",
    "lane label": ".jp-Notebook .cb-reg-lane-label",
    "move": ".jp-Notebook .cb-reg-moves li",
}
# A bar's label against the bar itself (the generic probe looks at the chart's container).
_BAR_LABEL = """() => {
    const label = document.querySelector('.jp-Notebook .cb-reg-segment-label');
    const bar = label.previousElementSibling;
    const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((c) => {
        c /= 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
    const [hi, lo] = [lum(rgb(getComputedStyle(label).fill)), lum(rgb(getComputedStyle(bar).fill))]
        .sort((a, b) => b - a);
    return (hi + 0.05) / (lo + 0.05);
}"""
# Muted text (meta, placeholders, the move list) is held to the large-text ratio.
MUTED = {"model meta", "empty description", "move", "tag key"}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_registry_panel_is_readable_in_both_themes(lab_page, theme):
    notebook = lab_page.make_notebook(f"registry_theme_{theme}.ipynb", [SETUP, PANEL])
    lab_page.open(notebook)
    lab_page.page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})",
        _themes.THEMES[theme],
    )
    light = "true" if theme == "light" else "false"
    lab_page.page.wait_for_selector(f"body[data-jp-theme-light='{light}']", state="attached")
    lab_page.run_all()
    page = lab_page.page
    page.locator(".jp-Notebook .cb-reg-segment-label").first.wait_for(timeout=30_000)

    measured = page.evaluate(_themes._CONTRAST, SAMPLES)
    lab_page.cell(1).screenshot(
        path=str(Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
                 / f"registry_theme_{theme}.png")
    )  # fmt: skip
    assert all(measured.values()), measured  # every sample was found
    panel_bg = measured["version"]["background"]
    assert (panel_bg < 0.1) if theme == "dark" else (panel_bg > 0.8), measured
    low = {
        name: round(sample["ratio"], 2)
        for name, sample in measured.items()
        if sample["ratio"] < (3.0 if name in MUTED else 4.5)
    }
    assert not low, (theme, low, measured)
    assert page.evaluate(_BAR_LABEL) >= 4.5
    assert lab_page.offline.blocked == []
