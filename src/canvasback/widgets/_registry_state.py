"""What the registry panel shows, read from the catalog as trait values.

Pure reads through :mod:`canvasback.registry.reads` and ``panel_reads``: the panel
decides when to read and sets the traits; this module decides what they hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from canvasback.query.filter import FilterError
from canvasback.registry import gates, panel_reads, protection, reads
from canvasback.widgets._base import arrow_ipc_bytes

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog

DEFAULT_KEYS: Final = 4
"""Metric and param columns shown when none are chosen (the most logged first)."""
MAX_HISTORY: Final = 1000
"""Alias moves sent to the front end (the newest); ``client.get_alias_history`` has all."""
_MOVE_FIELDS: Final = (
    "alias",
    "from_version",
    "to_version",
    "timestamp",
    "user_id",
    "host",
    "forced",
    "overrode",
)


def models(catalog: Catalog) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every model (name, description, counts, stages, aliases, tags) and name -> id."""
    summaries = panel_reads.model_summaries(catalog)
    ids = [m["model_id"] for m in summaries]
    aliases = reads.aliases_of(catalog, ids)
    tags = reads.model_tags(catalog, ids)
    shown = [
        {
            **{k: v for k, v in m.items() if k != "model_id"},
            "aliases": {a: str(v) for a, v in aliases.get(m["model_id"], {}).items()},
            "tags": tags.get(m["model_id"], {}),
        }
        for m in summaries
    ]
    return shown, {m["name"]: m["model_id"] for m in summaries}


def versions(
    catalog: Catalog,
    model_id: str | None,
    *,
    page: int,
    page_size: int,
    metric_keys: Sequence[str],
    param_keys: Sequence[str],
    version_filter: str = "",
) -> dict[str, Any]:
    """The traits of one model's page of versions, its columns and its alias history.

    ``version_filter`` is a ``search_model_versions`` filter (``tags.validated = 'yes'``);
    one that does not parse leaves every version shown and says why in ``filter_error``.
    """
    if model_id is None:
        return {
            "versions": b"",
            "version_total": 0,
            "history": [],
            "available_metrics": [],
            "available_params": [],
            "filter_error": "",
        }
    only, filter_error = None, ""
    if version_filter.strip():
        try:
            found = reads.search_model_versions(catalog, version_filter)
        except (FilterError, ValueError) as exc:
            filter_error = str(exc)
        else:
            only = [int(r["version"]) for r in found if r["model_id"] == model_id]
    metrics, params = panel_reads.source_run_keys(catalog, model_id)
    if not metric_keys or not set(metric_keys) & set(metrics):
        metric_keys = metrics[:DEFAULT_KEYS]
    if not param_keys or not set(param_keys) & set(params):
        param_keys = params[:DEFAULT_KEYS]
    total = panel_reads.version_count(catalog, model_id, only)
    page = min(page, max((total - 1) // page_size, 0))
    table = panel_reads.version_page(
        catalog,
        model_id,
        [k for k in metric_keys if k in metrics],
        [k for k in param_keys if k in params],
        offset=page * page_size,
        limit=page_size,
        only=only,
    )
    history = reads.alias_history(catalog, model_id)[-MAX_HISTORY:]
    return {
        "available_metrics": metrics,
        "available_params": params,
        "metric_keys": list(metric_keys),
        "param_keys": list(param_keys),
        "page": page,
        "versions": arrow_ipc_bytes(table),
        "version_total": total,
        "history": [{k: r[k] for k in _MOVE_FIELDS} for r in history],
        "filter_error": filter_error,
    }


def table_runs(catalog: Catalog, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Runs to register: name, status, model folders, and versions made from them."""
    if not run_ids:
        return []
    registered: dict[str, list[str]] = {}
    for version in reads.versions_of_run(catalog, list(run_ids)):
        registered.setdefault(version["run_id"], []).append(
            f"{version['name']} v{version['version']}"
        )
    return [
        {**row, "registered": registered.get(row["run_id"], [])}
        for row in panel_reads.model_folders(catalog, run_ids)
    ]


def runs_of(keys: Sequence[str], runs: Mapping[str, str | None]) -> list[str]:
    """The source runs of the versions ``keys``, in order, each once."""
    return list(dict.fromkeys(r for k in keys if (r := runs.get(k))))


def alias_guards(store: Store, catalog: Catalog, model_id: str, name: str) -> list[dict[str, Any]]:
    """Each alias of a model that is set, protected or gated: its version, protection, gates.

    Gates are the stored filters and the Python checks registered in this process (the
    kernel: the one whose moves the panel makes).
    """
    facts = reads.alias_guards(catalog, model_id)
    protected = protection.from_facts(facts, name)
    found = gates.from_facts(facts, name) + gates.registered_of_model(store, model_id)
    current = reads.aliases_of(catalog, [model_id]).get(model_id, {})
    shown = []
    for alias in sorted(set(current) | set(protected) | {g.alias for g in found}):
        held = protected.get(alias)
        shown.append(
            {
                "alias": alias,
                "version": None if alias not in current else int(current[alias]),
                "protected": None
                if held is None
                else {
                    "user_id": held.user_id,
                    "host": held.host,
                    "timestamp": held.timestamp,
                    "reason": held.reason,
                },
                "gates": [
                    {
                        "gate": g.gate,
                        "filter": g.filter_string,
                        "python": g.check is not None,
                        "allow_force": g.allow_force,
                    }
                    for g in sorted(found, key=lambda g: g.gate)
                    if g.alias == alias
                ],
            }
        )
    return shown
