"""The registry panel's static view: models, versions, guards, hooks, lineage, history.

A saved notebook opened without a kernel shows what the panel showed: every text (model
names, descriptions, tags, run names, hook targets, delivery errors) goes through
:func:`_static.html_table`, which escapes it. Each alias's protection and gates, the
model's hooks and its versions' failed deliveries, and the selected version's lineage
(datasets, run, logged model, aliases) are tables too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from canvasback.widgets import _static
from canvasback.widgets._base import table_from_ipc_bytes


class Shown(Protocol):
    """What the panel shows (its traits), as far as the static view needs it."""

    model: str
    models: list[dict[str, Any]]
    versions: bytes
    version_total: int
    metric_keys: list[str]
    param_keys: list[str]
    available_metrics: list[str]
    available_params: list[str]
    history: list[dict[str, Any]]
    alias_guards: list[dict[str, Any]]
    hooks: list[dict[str, Any]]
    failed_deliveries: dict[str, list[dict[str, Any]]]
    lineage: dict[str, Any]


def when(ms: object) -> str | None:
    """Milliseconds since the epoch as ``YYYY-MM-DD HH:MM`` UTC."""
    if not isinstance(ms, int):
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def _number(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


def _aliases(aliases: dict[str, str]) -> str:
    return ", ".join(f"@{a} → v{v}" for a, v in sorted(aliases.items()))


def _tags(tags: Any) -> str:  # noqa: ANN401 - a dict or Arrow's list of key/value structs
    pairs = tags.items() if isinstance(tags, dict) else ((t["key"], t["value"]) for t in tags)
    return ", ".join(f"{k}={v}" for k, v in pairs)


def _models(panel: Shown) -> _static.Section:
    rows = [
        [
            m["name"],
            m["version_count"],
            _aliases(m["aliases"]),
            ", ".join(m["stages"]),
            _tags(m["tags"]),
            m["description"],
            when(m["last_updated_time"]),
        ]
        for m in panel.models
    ]
    header = ["model", "versions", "aliases", "stages", "tags", "description", "updated"]
    return _static.table_section("Registered models", header, rows)


def _versions(panel: Shown) -> _static.Section | None:
    if not panel.versions:
        return None
    rows = table_from_ipc_bytes(panel.versions).to_pylist()
    metrics = [f"metrics.{k}" for k in panel.metric_keys if k in panel.available_metrics]
    params = [f"params.{k}" for k in panel.param_keys if k in panel.available_params]
    header = ["version", "stage", "aliases", "run", *metrics, *params, "tags", "description"]
    body = [
        [
            f"v{r['version']}",
            r["current_stage"],
            ", ".join(f"@{a}" for a in r["aliases"]),
            r["run_name"] or r["run_id"] or r["source"],
            *(_number(r.get(c)) for c in (*metrics, *params)),
            _tags(r["tags"]),
            r["description"],
            when(r["creation_time"]),
        ]
        for r in rows
    ]
    header.append("created")
    shown = f"{len(rows)} of {panel.version_total}" if panel.version_total > len(rows) else ""
    note = f"Newest first; {shown} shown." if shown else None
    return _static.table_section(f"Versions of {panel.model}", header, body, note=note)


def _history(panel: Shown) -> _static.Section | None:
    if not panel.history:
        return None
    rows = [
        [
            when(h["timestamp"]),
            f"@{h['alias']}",
            "—" if h["from_version"] is None else f"v{h['from_version']}",
            "removed" if h["to_version"] is None else f"v{h['to_version']}",
            h["user_id"],
            f"forced: {h.get('overrode') or ''}" if h.get("forced") else "",
        ]
        for h in reversed(panel.history)
    ]
    header = ["when (UTC)", "alias", "from", "to", "by", "forced"]
    return _static.table_section("Alias history", header, rows, note="Newest first.")


def _guards(panel: Shown) -> _static.Section | None:
    if not panel.alias_guards:
        return None
    rows = []
    for guard in panel.alias_guards:
        held = guard["protected"]
        gates = [
            f"{g['gate']}: {'a Python check' if g['python'] else g['filter']}"
            + (" (force passes it)" if g["allow_force"] else "")
            for g in guard["gates"]
        ]
        rows.append(
            [
                f"@{guard['alias']}",
                "—" if guard["version"] is None else f"v{guard['version']}",
                "" if held is None else f"protected by {held['user_id']}: {held['reason'] or ''}",
                "; ".join(gates),
            ]
        )
    header = ["alias", "version", "protected", "gates"]
    return _static.table_section("Aliases, protection and gates", header, rows)


def _hooks(panel: Shown) -> _static.Section | None:
    if not panel.hooks:
        return None
    rows = []
    for hook in panel.hooks:
        signed = "no"
        if hook["signed"]:
            signed = f"${hook['secret_env']}" if hook["secret_env"] else "yes"
        rows.append(
            [
                ", ".join(hook["events"]),
                "every model" if hook["every_model"] else panel.model,
                hook["target"],
                signed,
                hook["user_id"],
                when(hook["creation_time"]),
            ]
        )
    header = ["events", "of", "target", "signed", "added by", "added (UTC)"]
    return _static.table_section("Hooks", header, rows)


def _failed_deliveries(panel: Shown) -> _static.Section | None:
    failed = panel.failed_deliveries
    if not failed:
        return None
    rows = [
        [f"v{version}", f["hook"], f["event"], when(f["timestamp"]), f["attempts"], f["error"]]
        for version in sorted(failed, key=int, reverse=True)
        for f in failed[version]
    ]
    header = ["version", "hook", "event", "when (UTC)", "attempts", "error"]
    note = "Send them again with client.retry_hooks() or canvasback hooks retry."
    return _static.table_section("Failed hook deliveries", header, rows, note=note)


def _lineage(panel: Shown) -> _static.Section | None:
    found = panel.lineage
    if not found:
        return None
    rows: list[list[object]] = [
        [f"dataset ({d['context'] or 'input'})", d["name"], f"{d['digest']} · {d['source']}"]
        for d in found["datasets"]
    ]
    run = found["run"]
    if run is not None:
        commit = f" · commit {run['git_commit']}" if run["git_commit"] else ""
        rows.append(["run", run["run_name"] or run["run_id"], f"{run['run_id']}{commit}"])
    if found["logged_model_id"]:
        rows.append(["logged model", found["logged_model_id"], found["artifact_path"] or ""])
    rows.append(["version", f"{found['name']} v{found['version']}", found["source"]])
    rows += [["alias", f"@{a}", "points here now"] for a in found["aliases"]]
    rows += [["alias", f"@{a}", "pointed here before"] for a in found["past_aliases"]]
    title = f"Lineage of {found['name']} v{found['version']}"
    return _static.table_section(title, ["node", "name", "detail"], rows)


def panel_html(panel: Shown) -> str:
    """The static HTML of a registry panel."""
    count = len(panel.models)
    note = f"{count} registered model{'s' * (count != 1)}" if count else "No registered models yet."
    sections = (
        [
            _models(panel),
            _versions(panel),
            _guards(panel),
            _hooks(panel),
            _failed_deliveries(panel),
            _lineage(panel),
            _history(panel),
        ]
        if count
        else []
    )
    return _static.static_html("Model registry", sections, note=note)
