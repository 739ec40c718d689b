"""The evaluation's charts, built from the plots' rows and rendered to files.

Each plot becomes three artifacts under MLflow's artifact name (``roc_curve_plot``,
``confusion_matrix``, ...): the Vega-Lite spec with its rows (``.json``), an SVG and a
PNG, both rendered by vl-convert with no browser and no network. The JSON is what other
tools read back (``canvasback.models.evaluation.curves`` takes a run's curves from it);
the images are what a person opens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from canvasback.charts import evaluation as charts

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ARTIFACT_NAMES: Final = {
    "confusion_matrix": "confusion_matrix",
    "roc": "roc_curve_plot",
    "pr": "precision_recall_curve_plot",
    "calibration": "calibration_curve_plot",
    "feature_importance": "feature_importance_plot",
    "residuals": "residuals_plot",
    "predicted_vs_actual": "predicted_vs_actual_plot",
}
"""Each plot's artifact name: MLflow's where MLflow draws the plot."""

MAX_FEATURES: Final = 20
PNG_SCALE: Final = 2.0  # sharp on high-density screens and in slides, as chart exports


@dataclass(frozen=True)
class RenderedChart:
    """One plot: its chart, its spec (rows inline), and the spec rendered as SVG and PNG."""

    plot: str
    chart: Any
    spec: dict[str, Any]
    svg: str
    png: bytes

    def files(self, name: str) -> dict[str, bytes]:
        """File name -> bytes of the three artifacts of this chart, named ``name``."""
        return {
            f"{name}.json": json.dumps(self.spec, separators=(",", ":")).encode(),
            f"{name}.svg": self.svg.encode(),
            f"{name}.png": self.png,
        }


def importance_rows(values: Sequence[float], names: Sequence[str]) -> pd.DataFrame:
    """The most important features first, at most :data:`MAX_FEATURES` of them."""
    rows = pd.DataFrame({"feature": list(names), "importance": list(values)})
    return rows.sort_values("importance", ascending=False).head(MAX_FEATURES)


def build(
    plot: str,
    rows: pd.DataFrame,
    *,
    classes: Sequence[str] = (),
    subtitle: str | None = None,
    value_title: str = "importance",
) -> Any:  # noqa: ANN401 - an Altair chart
    """The chart of one plot's rows."""
    if plot in charts.CURVE_PLOTS:
        return charts.curve_chart(rows, plot, subtitle=subtitle)
    if plot == "confusion_matrix":
        return charts.confusion_matrix_chart(rows, classes, subtitle=subtitle)
    if plot == "residuals":
        return charts.residuals_chart(rows, subtitle=subtitle)
    if plot == "predicted_vs_actual":
        return charts.predicted_vs_actual_chart(rows, subtitle=subtitle)
    return charts.feature_importance_chart(rows, value_title=value_title, subtitle=subtitle)


def render(built: Mapping[str, Any]) -> dict[str, RenderedChart]:
    """Every chart as its spec, SVG and PNG (plot -> rendered)."""
    import vl_convert  # noqa: PLC0415 - starts a JavaScript engine: only once there are charts

    out: dict[str, RenderedChart] = {}
    for plot, chart in built.items():
        # Unvalidated: the specs are canvasback's own, validated by its tests; checking
        # them against Vega-Lite's schema here took a third of a warm evaluation.
        spec = chart.to_dict(validate=False)
        svg: str = vl_convert.vegalite_to_svg(spec)
        # The PNG from the SVG already drawn: the same picture, a third of the time.
        png: bytes = vl_convert.svg_to_png(svg, scale=PNG_SCALE)
        out[plot] = RenderedChart(plot, chart, spec, svg, png)
    return out
