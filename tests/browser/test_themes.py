"""The widgets stay readable in JupyterLab's light and dark themes.

In each theme a notebook shows a run table, a comparison, a live run and a comparison's
saved static view; the test measures, in Chromium, the contrast of their text against
the background it is drawn on (WCAG's ratio, computed from the computed colours), and
keeps a screenshot of each theme under ``artifacts/screenshots``.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.jupyterlab

SETUP = """\
import math
import canvasback as cb
from IPython.display import HTML
cb.set_store("theme-store")
cb.set_experiment("themes")
for i, lr in enumerate((0.1, 0.03)):
    with cb.start_run(run_name=f"run-{i}", params={"lr": lr}, live=False):
        cb.log_history({"loss": [math.exp(-lr * s) for s in range(50)]})
ids = list(cb.search_runs().run_id)
"""
CELLS = [
    SETUP,
    'cb.runs("themes")',
    'chart = cb.compare(ids, metrics=["loss"])\nchart',
    'with cb.start_run(run_name="live"):\n    cb.log_metric("loss", 0.5, step=1)',
    "HTML(chart._static_html())",
]
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}

# Contrast of each sampled text against what is behind it: the first opaque background
# up the tree (SVG text: its fill against the chart's container).
_CONTRAST = """(selectors) => {
    const rgba = (text) => {
        const m = text.match(/rgba?\\(([^)]+)\\)/);
        if (!m) return null;
        const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
        return [r, g, b, a];
    };
    const luminance = ([r, g, b]) => {
        const lin = (c) => {
            c /= 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const background = (node) => {
        for (let n = node; n; n = n.parentElement) {
            const c = rgba(getComputedStyle(n).backgroundColor);
            if (c && c[3] > 0.5) return c;
        }
        return [255, 255, 255, 1];
    };
    const out = {};
    for (const [name, selector] of Object.entries(selectors)) {
        const node = document.querySelector(selector);
        if (!node) { out[name] = null; continue; }
        const style = getComputedStyle(node);
        const fg = rgba(node instanceof SVGElement ? style.fill : style.color);
        const bg = background(node instanceof SVGElement ? node.closest('svg') : node);
        // A translucent foreground is blended over its background first.
        const mixed = fg.slice(0, 3).map((c, i) => c * fg[3] + bg[i] * (1 - fg[3]));
        const [hi, lo] = [luminance(mixed), luminance(bg)].sort((a, b) => b - a);
        out[name] = {ratio: (hi + 0.05) / (lo + 0.05), background: luminance(bg)};
    }
    return out;
}"""

SAMPLES = {
    "table row": ".jp-Notebook .cb-rt-row[data-loaded=true] .cb-rt-name",
    "table header": ".jp-Notebook .cb-rt-hcell",
    "chart axis label": ".jp-Notebook section[data-panel=history] .role-axis-label text",
    "chart title": ".jp-Notebook section[data-panel=history] .role-title-text text",
    "live value": ".jp-Notebook .cb-live-card .cb-live-value",
    "live name": ".jp-Notebook .cb-live",
    "static note": ".jp-Notebook .canvasback-static .cb-note",
    "static chart label": ".jp-Notebook .canvasback-static svg text",
}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_is_readable_in_both_themes(lab_page, theme):
    notebook = lab_page.make_notebook(f"theme_{theme}.ipynb", CELLS)
    lab_page.open(notebook)
    lab_page.page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})",
        THEMES[theme],
    )
    light = "true" if theme == "light" else "false"
    lab_page.page.wait_for_selector(f"body[data-jp-theme-light='{light}']", state="attached")
    lab_page.run_all()
    page = lab_page.page
    page.locator(SAMPLES["table row"]).first.wait_for(timeout=30_000)
    page.locator(SAMPLES["chart axis label"]).first.wait_for(timeout=30_000)
    page.locator('.jp-Notebook .cb-live[data-status="FINISHED"]').wait_for(timeout=30_000)

    measured = page.evaluate(_CONTRAST, SAMPLES)
    lab_page.screenshot(f"theme_{theme}")
    assert all(measured.values()), measured  # every sample was found
    # The page really is in that theme: the table's background is dark or light.
    table_bg = measured["table row"]["background"]
    assert (table_bg < 0.1) if theme == "dark" else (table_bg > 0.8), measured
    # WCAG AA: 4.5 for body text, 3 for the larger chart title and muted axis labels.
    low = {
        name: round(sample["ratio"], 2)
        for name, sample in measured.items()
        if sample["ratio"] < (3.0 if name in {"chart axis label", "chart title"} else 4.5)
    }
    assert not low, (theme, low, measured)
    assert lab_page.offline.blocked == []
