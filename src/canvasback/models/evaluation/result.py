"""What ``evaluate`` returns: MLflow's ``EvaluationResult``, and how it shows in a notebook.

``metrics`` maps MLflow's metric names to values, ``artifacts`` each artifact's name to
an :class:`EvaluationArtifact` (its ``uri``, a ``runs:/`` URI, and its ``content``), and
``run_id`` names the run they were logged on. In a notebook the result shows its metrics
and its charts, the SVGs logged with the run as images: plain HTML, so it needs no
widget, no network and no kernel to be seen again in a saved notebook.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pandas as pd

    from canvasback.models.evaluation.plots import RenderedChart

_HTML_COLUMNS: Final = 2


class EvaluationArtifact:
    """An artifact ``evaluate`` logged: where it is (``uri``) and what it holds (``content``)."""

    def __init__(self, uri: str, content: Any) -> None:  # noqa: ANN401
        self._uri = uri
        self._content = content

    @property
    def uri(self) -> str:
        """The artifact's URI, ``runs:/<run_id>/<file>``."""
        return self._uri

    @property
    def content(self) -> Any:  # noqa: ANN401
        """What the artifact holds (a chart, a table)."""
        return self._content

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri={self.uri!r})"


class ChartEvaluationArtifact(EvaluationArtifact):
    """A plot: logged as PNG (``uri``), SVG and its Vega-Lite spec (``uris``); an Altair chart.

    ``content`` is the chart itself: ``canvasback.ChartView(artifact.content)`` shows it
    as a live chart, ``artifact.png`` and ``artifact.svg`` are the images logged.
    """

    def __init__(self, uris: dict[str, str], rendered: RenderedChart) -> None:
        super().__init__(uris["png"], rendered.chart)
        self.uris = uris
        self.rendered = rendered

    @property
    def png(self) -> bytes:
        """The PNG logged."""
        return self.rendered.png

    @property
    def svg(self) -> str:
        """The SVG logged."""
        return self.rendered.svg

    @property
    def spec(self) -> dict[str, Any]:
        """The Vega-Lite spec logged (its rows inline)."""
        return self.rendered.spec


class CsvEvaluationArtifact(EvaluationArtifact):
    """A table logged as CSV (MLflow's class of the same name); ``content`` is the DataFrame."""

    @property
    def content(self) -> pd.DataFrame:
        """The table."""
        frame: pd.DataFrame = self._content
        return frame


class EvaluationResult:
    """Metrics and artifacts of one evaluation, and the run that holds them."""

    def __init__(
        self,
        metrics: dict[str, float],
        artifacts: dict[str, EvaluationArtifact],
        run_id: str | None = None,
    ) -> None:
        self._metrics = metrics
        self._artifacts = artifacts
        self._run_id = run_id

    @property
    def metrics(self) -> dict[str, float]:
        """Metric name -> value, as logged on the run."""
        return self._metrics

    @property
    def artifacts(self) -> dict[str, EvaluationArtifact]:
        """Artifact name (``roc_curve_plot``, ``per_class_metrics``, ...) -> artifact."""
        return self._artifacts

    @property
    def run_id(self) -> str | None:
        """The run the metrics and artifacts were logged on."""
        return self._run_id

    @property
    def charts(self) -> dict[str, Any]:
        """Artifact name -> Altair chart, for each plot."""
        return {
            name: artifact.content
            for name, artifact in self._artifacts.items()
            if isinstance(artifact, ChartEvaluationArtifact)
        }

    def __repr__(self) -> str:
        return (
            f"EvaluationResult(run_id={self._run_id!r}, metrics={len(self._metrics)}, "
            f"artifacts={sorted(self._artifacts)})"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{value:.6g}</td></tr>"
            for name, value in sorted(self._metrics.items())
        )
        charts = {
            name: a for name, a in self._artifacts.items() if isinstance(a, ChartEvaluationArtifact)
        }
        # Each SVG as an image of its own: the ids inside two SVGs of one page would clash
        # (a legend's gradient taken from another chart), and an image runs no script.
        cells = "".join(
            f'<img alt="{html.escape(name)}" style="max-width:100%" '
            f'src="data:image/svg+xml;base64,{base64.b64encode(a.svg.encode()).decode()}">'
            for name, a in charts.items()
        )
        columns = min(_HTML_COLUMNS, max(len(charts), 1))
        run = html.escape(self._run_id or "")
        return (
            '<div class="cb-evaluation" style="font:12px system-ui,sans-serif">'
            f'<div style="font-weight:600;margin:4px 0">Evaluation · run {run}</div>'
            '<div style="display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap">'
            '<table style="border-collapse:collapse">'
            f"<thead><tr><th>metric</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>"
            f'<div style="display:grid;grid-template-columns:repeat({columns},auto);gap:12px">'
            f"{cells}</div></div></div>"
        )
