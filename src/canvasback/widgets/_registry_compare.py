"""Two versions side by side, as the registry panel shows them: what differs.

Their source runs' params (only the keys whose values differ), metrics, the evaluation
results ``canvasback.evaluate`` recorded on each version (its summary tag and the
evaluation run's metrics), a short lineage (datasets, code version, logged model), and
for each gated alias of the model, whether the version passes its gates now: what a move
of that alias onto it would meet (the move itself checks them again, in Python).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Final

from canvasback import query
from canvasback.models import evaluation
from canvasback.registry import gates, lineage, panel_reads, reads

if TYPE_CHECKING:
    from collections.abc import Sequence

    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog

COMPARED: Final = 2
"""Versions compared: the last two selected."""


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """Values as JSON holds them: a NaN or an infinity as its text."""
    return {
        k: str(v) if isinstance(v, float) and not math.isfinite(v) else v
        for k, v in sorted(values.items())
    }


def _evaluation(catalog: Catalog, tags: dict[str, str]) -> dict[str, Any] | None:
    summary, run_id = tags.get(evaluation.SUMMARY_TAG), tags.get(evaluation.RUN_TAG)
    if summary is None and run_id is None:
        return None
    metrics = query.run_data(catalog, run_id)["metrics"] if run_id else {}
    return {"summary": summary, "run_id": run_id, "metrics": _shown(metrics)}


def _gate_checks(store: Store, catalog: Catalog, row: reads.Row) -> dict[str, list[dict[str, Any]]]:
    """Each gated alias of the version's model: its gates, and why each fails (None: passes)."""
    name, model_id = row["name"], row["model_id"]
    by_alias = defaultdict(list)
    found = gates.from_facts(reads.alias_guards(catalog, model_id), name)
    for gate in found + gates.registered_of_model(store, model_id):
        by_alias[gate.alias].append(gate)
    checks = {}
    for alias, alias_gates in sorted(by_alias.items()):
        failed = {
            f.gate.gate: f.why
            for f in gates.failures(alias_gates, gates.candidate(store, catalog, row, alias))
        }
        checks[alias] = [{"gate": g.gate, "why": failed.get(g.gate)} for g in alias_gates]
    return checks


def _side(store: Store, catalog: Catalog, key: str, row: reads.Row) -> dict[str, Any]:
    found = lineage.of_row(store, catalog, row)
    data = query.run_data(catalog, found.run_id) if found.run_id else {}
    tags = reads.version_tags(catalog, [row["model_id"]]).get((row["model_id"], row["version"]))
    return {
        "key": key,
        "name": row["name"],
        "version": int(row["version"]),
        "stage": row["current_stage"],
        "run_id": found.run_id,
        "run_name": found.run_name,
        "aliases": list(found.aliases),
        "params": data.get("params", {}),
        "metrics": _shown(data.get("metrics", {})),
        "evaluation": _evaluation(catalog, tags or {}),
        "datasets": [
            {"name": d.name, "digest": d.digest, "context": d.context} for d in found.datasets
        ],
        "git_commit": found.git_commit,
        "logged_model_id": found.logged_model_id,
        "gate_checks": _gate_checks(store, catalog, row),
    }


def comparison(store: Store, catalog: Catalog, keys: Sequence[str]) -> dict[str, Any]:
    """The last two of the selected versions ``keys`` side by side; {} for fewer."""
    pair = list(keys)[-COMPARED:]
    rows = [panel_reads.version_by_key(catalog, key) for key in pair]
    if len(pair) < COMPARED or any(row is None for row in rows):
        return {}
    sides = [_side(store, catalog, key, row) for key, row in zip(pair, rows, strict=True) if row]
    params = sorted(set().union(*(s["params"] for s in sides)))
    differing = [k for k in params if len({s["params"].get(k) for s in sides}) > 1]
    metrics = sorted(set().union(*(s["metrics"] for s in sides)))
    return {
        "versions": [{k: v for k, v in s.items() if k not in ("params", "metrics")} for s in sides],
        "params": [{"key": k, "values": [s["params"].get(k) for s in sides]} for k in differing],
        "same_params": len(params) - len(differing),
        "metrics": [{"key": k, "values": [s["metrics"].get(k) for s in sides]} for k in metrics],
    }
