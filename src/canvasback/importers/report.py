"""What an import carried over, what it found already there, and what it could not keep."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImportReport:
    """The outcome of one import; ``str(report)`` is the text the command prints."""

    source: str
    store: str
    experiments: int = 0
    runs: int = 0
    """Runs written by this import (resumed ones included)."""
    runs_resumed: int = 0
    """Runs an earlier, interrupted import had begun, finished by this one."""
    runs_already: int = 0
    """Runs an earlier import had finished: left as they were."""
    points: int = 0
    params: int = 0
    tags: int = 0
    datasets: int = 0
    artifacts: int = 0
    logged_models: int = 0
    registered_models: int = 0
    versions: int = 0
    aliases: int = 0
    experiment_ids: dict[str, str] = field(default_factory=dict)
    """Source experiment id -> canvasback's, for every experiment of the source."""
    not_carried: list[str] = field(default_factory=list)
    """What could not be carried over, one line per item, naming what and where."""

    def skip(self, what: str) -> None:
        """Note something the import could not carry over."""
        self.not_carried.append(what)

    @property
    def renumbered(self) -> dict[str, str]:
        """The experiments whose id in canvasback differs from the source's."""
        return {k: v for k, v in self.experiment_ids.items() if k and k != v}

    def __str__(self) -> str:
        lines = [
            f"Imported {self.source} into {self.store}:",
            (
                f"  {self.experiments} experiment(s), {self.runs} run(s) written "
                f"({self.runs_resumed} resumed), {self.runs_already} already imported"
            ),
            (
                f"  {self.points} metric point(s), {self.params} param(s), {self.tags} "
                f"tag(s), {self.datasets} dataset input(s), {self.artifacts} artifact file(s)"
            ),
            (
                f"  {self.logged_models} logged model(s), {self.registered_models} registered "
                f"model(s), {self.versions} version(s), {self.aliases} alias(es)"
            ),
        ]
        lines += [
            f"  experiment {old} is experiment {new} here"
            for old, new in sorted(self.renumbered.items())
        ]
        if self.not_carried:
            lines.append(f"Not carried over ({len(self.not_carried)}):")
            lines += [f"  - {what}" for what in self.not_carried]
        return "\n".join(lines)
