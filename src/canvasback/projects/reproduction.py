"""Reproduce a run: launch its notebook or entry point again with the same params.

The answer is a :class:`Comparison` of the two runs: what differs in code version,
environment (tags, and the installed packages artifact line by line), params and final
metrics. :func:`diff_runs` compares any two runs the same way.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from canvasback.projects import capture, launch, notebooks, runner
from canvasback.projects.project_file import ProjectError

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.tracking.client import Client
    from canvasback.tracking.run import Run

SECTIONS: Final = ("code", "environment", "params", "metrics")
REPRODUCES_TAG: Final = "canvasback.reproduces"
# Tags that always differ between two runs and say nothing of how they were made.
_VOLATILE: Final = frozenset({capture.SOURCE_PREFIX + "copy", capture.ENV_PREFIX + "packages"})


@dataclass(frozen=True)
class Difference:
    """One key whose value is not the same in both runs (None: absent)."""

    section: str
    key: str
    original: str | None
    reproduced: str | None


@dataclass
class Comparison:
    """What differs between a run and its reproduction (or any two runs)."""

    original_run_id: str
    reproduced_run_id: str
    differences: list[Difference] = field(default_factory=list)

    def section(self, name: str) -> list[Difference]:
        """The differences of one section: code, environment, params or metrics."""
        return [d for d in self.differences if d.section == name]

    @property
    def same(self) -> bool:
        """Whether nothing differs."""
        return not self.differences

    def __repr__(self) -> str:
        head = f"Comparison of run {self.original_run_id} and run {self.reproduced_run_id}"
        if self.same:
            return f"{head}: nothing differs"
        lines = [head]
        for name in SECTIONS:
            found = self.section(name)
            lines.append(f"  {name}: " + ("same" if not found else f"{len(found)} differ"))
            lines.extend(f"    {d.key}: {d.original!r} -> {d.reproduced!r}" for d in found)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = (
            f"Run {html.escape(self.original_run_id)} and its reproduction "
            f"{html.escape(self.reproduced_run_id)}"
        )
        if self.same:
            return f"<div><p>{head}: nothing differs.</p></div>"
        body = "".join(
            f"<tr><td>{html.escape(d.section)}</td><td>{html.escape(d.key)}</td>"
            f"<td>{html.escape(_shown(d.original))}</td>"
            f"<td>{html.escape(_shown(d.reproduced))}</td></tr>"
            for d in self.differences
        )
        return (
            f"<div><p>{head}: {len(self.differences)} differences.</p><table><thead><tr>"
            "<th>section</th><th>key</th><th>original</th><th>reproduced</th></tr></thead>"
            f"<tbody>{body}</tbody></table></div>"
        )


def _shown(value: str | None) -> str:
    return "—" if value is None else value


def reproduce(
    run_id: str, *, store: str | Path | None = None, capture_parts: object = None
) -> Comparison:
    """Run the notebook or entry point of ``run_id`` again with its params; the differences.

    The new run goes to the same experiment, tagged ``canvasback.reproduces``. A run
    that ``run_notebook`` or ``run_project`` did not launch cannot be run again: the
    error says what its source was.
    """
    c = runner._client(store)  # noqa: SLF001  # the module's own way to the store
    original = c.get_run(run_id)
    tags, params = original.data.tags, original.data.params
    experiment = c.get_experiment(original.info.experiment_id).name
    options: dict[str, object] = {
        "store": c.store.url,
        "capture_parts": capture_parts,
        "parent_run_id": original.info.parent_run_id,
    }
    name = f"{original.info.run_name} (reproduced)"[:250]
    values = _launch_params(tags, params)
    if "canvasback.project.path" in tags:
        project = tags["canvasback.project.path"]
        entry = tags.get("canvasback.project.entry_point")
        again = runner.run_project(project, entry, values, experiment, name, **options)  # type: ignore[arg-type]
    elif "canvasback.notebook.path" in tags:
        path = tags["canvasback.notebook.path"]
        again = notebooks.run_notebook(path, values, experiment, name, **options)  # type: ignore[arg-type]
    else:
        source = tags.get(capture.SOURCE_PREFIX + "path") or tags.get("mlflow.source.name", "?")
        msg = (
            f"Run {run_id} was not launched by run_notebook or run_project (its source is "
            f"{source!r}), so canvasback cannot run it again. Launch it with one of them."
        )
        raise ProjectError(msg)
    c.set_tag(again.run_id, REPRODUCES_TAG, run_id)
    return diff_runs(original.run_id, again.run_id, client=c)


def _launch_params(tags: dict[str, str], params: dict[str, str]) -> dict[str, object]:
    """The params the launcher gave the run (recorded as JSON), else the run's params."""
    try:
        recorded = json.loads(tags.get(launch.PARAMS_TAG, ""))
    except ValueError:  # not recorded, or cut at the tag length limit
        return dict(params)
    return dict(recorded) if isinstance(recorded, dict) else dict(params)


def diff_runs(run_a: str, run_b: str, *, client: Client | None = None) -> Comparison:
    """What differs between two runs: code, environment, params, final metrics."""
    c = client or runner._client(None)  # noqa: SLF001
    a, b = c.get_run(run_a), c.get_run(run_b)
    out = Comparison(a.run_id, b.run_id)
    for section, pick in (("code", _code_tags), ("environment", _env_tags)):
        out.differences += _differ(section, pick(a.data.tags), pick(b.data.tags))
    out.differences += _packages(c, a, b)
    out.differences += _differ("params", a.data.params, b.data.params)
    metrics_a = {k: _number(v) for k, v in a.data.metrics.items()}
    metrics_b = {k: _number(v) for k, v in b.data.metrics.items()}
    out.differences += _differ("metrics", metrics_a, metrics_b)
    return out


def _number(value: float) -> str:
    return repr(value) if math.isfinite(value) else str(value)


def _code_tags(tags: dict[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in tags.items() if k.startswith(capture.SOURCE_PREFIX) and k not in _VOLATILE
    }


def _env_tags(tags: dict[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in tags.items() if k.startswith(capture.ENV_PREFIX) and k not in _VOLATILE
    }


def _differ(section: str, a: dict[str, str], b: dict[str, str]) -> list[Difference]:
    return [
        Difference(section, key, a.get(key), b.get(key))
        for key in sorted({*a, *b})
        if a.get(key) != b.get(key)
    ]


def _packages(c: Client, a: Run, b: Run) -> list[Difference]:
    """Installed packages whose version differs (or that only one run had)."""
    found = [_requirements(c, run) for run in (a, b)]
    if found[0] is None or found[1] is None:
        return []
    return _differ("environment", *found)  # type: ignore[arg-type]  # both checked above


def _requirements(c: Client, run: Run) -> dict[str, str] | None:
    if capture.ENV_PREFIX + "packages" not in run.data.tags:
        return None
    try:
        local = c.download_artifacts(run.run_id, capture.PACKAGES_ARTIFACT)
        with open(local, encoding="utf-8") as fh:  # noqa: PTH123  # a plain local path
            lines = fh.read().splitlines()
    except (OSError, LookupError):
        return None
    out = {}
    for line in lines:
        name, sep, version = line.partition("==")
        if sep:
            out[f"package {name}"] = version
    return out
