"""What a sweep returns: its parent run, each point (or trial) and how it ended, the best."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from canvasback.projects.sweep_points import PointResult, point_text

__all__ = ["SweepResult"]


@dataclass
class SweepResult:
    """The summary of a sweep: its parent run, each point, and the best one."""

    parent_run_id: str
    points: list[PointResult]
    metric: str | None = None
    mode: str = "min"
    run_ids: list[str] = field(default_factory=list)
    study: str | None = None
    """A searching sweep's Optuna study (its name in the journal beside the store)."""

    @property
    def finished(self) -> int:
        """Points whose run FINISHED."""
        return sum(p.status == "FINISHED" for p in self.points)

    @property
    def pruned(self) -> int:
        """Trials their pruner stopped early (their runs ended KILLED)."""
        return sum(p.pruned for p in self.points)

    @property
    def failed(self) -> int:
        """Points whose run did not finish (FAILED, KILLED, or never started), not pruned."""
        return len(self.points) - self.finished - self.pruned

    @property
    def best_params(self) -> dict[str, object] | None:
        """The params of the best point (None when no point finished with the metric)."""
        best = self.best
        return None if best is None else dict(best.params)

    @property
    def best(self) -> PointResult | None:
        """The finished point with the lowest (``mode="min"``) or highest metric."""
        scored = [
            p
            for p in self.points
            if p.status == "FINISHED" and p.metric is not None and not math.isnan(p.metric)
        ]
        if not scored:
            return None
        pick = min if self.mode == "min" else max
        return pick(scored, key=lambda p: p.metric if p.metric is not None else math.nan)

    def summary(self) -> str:
        """One line: counts, and the best point."""
        text = f"sweep {self.parent_run_id}: {self.finished} finished, {self.failed} failed"
        if self.pruned:
            text += f", {self.pruned} pruned"
        best = self.best
        if best is not None and self.metric:
            text += f"; best {self.metric} = {best.metric:g} at {point_text(best.params)}"
            text += f" (run {best.run_id})"
        return text

    def __repr__(self) -> str:
        lines = [self.summary()]
        for p in sorted(self.points, key=lambda p: p.index):
            value = "" if p.metric is None else f" {self.metric}={p.metric:g}"
            error = f"  {p.error}" if p.error else ""
            status = "PRUNED" if p.pruned else p.status
            lines.append(f"  #{p.index} {status:<8} {point_text(p.params)}{value}{error}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    p.index,
                    "PRUNED" if p.pruned else p.status,
                    point_text(p.params),
                    "" if p.metric is None else f"{p.metric:g}",
                    p.run_id or "",
                    p.error or "",
                )
            )
            + "</tr>"
            for p in sorted(self.points, key=lambda p: p.index)
        )
        head = "".join(
            f"<th>{html.escape(h)}</th>"
            for h in ("#", "status", "params", self.metric or "metric", "run", "error")
        )
        return (
            f"<div><p>{html.escape(self.summary())}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
        )
