"""The ``compare`` bundle draws the Evaluation tab a real Compare widget sends: the runs'
ROC curves in one chart, a click on a curve selecting its run, with no network."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import canvasback as cb
from canvasback.widgets.compare import compare

pytestmark = pytest.mark.browser

CURVES = "section[data-panel=evaluation] g.mark-line.role-mark path"


@pytest.fixture
def evaluated(store):  # noqa: ARG001 - the fresh store is what it needs
    x, y = make_classification(n_samples=300, n_features=4, random_state=0)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=y)
    ids = []
    for name, c in (("weak", 0.0005), ("strong", 1.0)):
        model = LogisticRegression(C=c).fit(frame[["a", "b"]], y)
        with cb.start_run(run_name=name, live=False) as run:
            cb.evaluate(
                model, frame[["a", "b", "label"]], targets="label", model_type="classifier",
                plots=["roc"],
            )  # fmt: skip
        ids.append(run.info.run_id)
    return ids


def test_the_evaluation_tab_draws_the_runs_curves_and_selects_by_click(harness, evaluated):
    widget = compare(evaluated)
    state = {k: v for k, v in widget.get_state().items() if not k.startswith("_")}
    page = harness.mount("compare", state)
    page.wait_for_selector("section[data-panel=history][data-state=rendered]")
    page.click("button[data-tab=evaluation]")
    page.wait_for_selector("section[data-panel=evaluation][data-state=rendered]")
    # Two runs' curves, then the dashed chance line.
    drawn = page.evaluate(
        "sel => [...document.querySelectorAll(sel)].map(p => p.__data__.datum.run ?? null)",
        CURVES,
    )
    assert sorted(r for r in drawn if r) == ["strong", "weak"]
    assert len(drawn) == 3
    harness.offline.screenshot("compare_evaluation", full_page=True)
    # A click on a curve's stroke selects that run.
    index = drawn.index("strong")
    x, y = page.evaluate(
        """([sel, i]) => {
            const path = document.querySelectorAll(sel)[i];
            const p = path.getPointAtLength(path.getTotalLength() * 0.3);
            const m = path.getScreenCTM();
            return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f];
        }""",
        [CURVES, index],
    )
    page.mouse.click(x, y)
    page.wait_for_function(
        "ids => JSON.stringify(model.get('selected_ids')) === JSON.stringify(ids)",
        arg=[evaluated[1]],
    )
    assert harness.offline.errors == []
    assert harness.offline.blocked == []
    widget.close()
