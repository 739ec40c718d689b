"""The registry panel's reads: model summaries, pages of versions, a change signature.

A page of versions comes with its source runs' metrics and params; the runs a linked
table offers to register come with their model folders.

Like :mod:`canvasback.registry.reads`, each takes a refreshed catalog and returns rows,
Arrow tables or values; the panel (``widgets/registry.py``) decides when to read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from canvasback.query.search import check_page_size
from canvasback.registry import tables
from canvasback.registry.reads import ALIAS_ROWS, MODEL_ROWS, VERSION_ROWS, Row, rows_of
from canvasback.store import liveness
from canvasback.store.read import relations
from canvasback.store.read.catalog_tables import quote_identifier

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa

    from canvasback.store.read.catalog import Catalog

_VERSION_DIGITS: Final = 18
"""Digits of the longest version number a key may name (a BIGINT holds every such)."""


def registry_signature(catalog: Catalog) -> tuple[int, ...]:
    """A value that changes whenever any registry fact does (counts and sums: cheap).

    Models, versions, alias moves, hooks and their deliveries' attempts are rows that
    are only ever added; every other fact (description, stage, tag, name, deletion)
    replaces an event of the registry's partition with a newer one, which changes the
    sum of their timestamps.
    """
    # One row of one-row counts, cross-joined: at 1,000 versions about 2.3 ms, where the
    # same counts as scalar subqueries of one SELECT took 3.9 (the facts scanned twice).
    row = catalog.rows(
        f"SELECT * FROM (SELECT count(*) FROM {MODEL_ROWS}), "
        f"(SELECT count(*) FROM {VERSION_ROWS}), "
        f"(SELECT count(*) FROM {ALIAS_ROWS}), "
        f"(SELECT count(*) FROM {relations.rows(tables.REGISTRY_HOOKS.name)}), "
        f"(SELECT count(*) FROM {relations.rows(tables.HOOK_DELIVERIES.name)}), "
        f"(SELECT count(*), coalesce(sum(timestamp), 0)::BIGINT FROM {relations.FACTS} "
        "WHERE experiment_id = ?)",
        [tables.PARTITION],
    )[0]
    return tuple(int(v) for v in row)


def model_summaries(catalog: Catalog) -> list[Row]:
    """Every registered model with its number of versions, newest version and stages."""
    # Two scans joined here: one query joining the two views evaluates the models' view
    # twice (the versions' view joins it too), about three times slower.
    counts = {
        model_id: (count, latest, stages)
        for model_id, count, latest, stages in catalog.rows(
            "SELECT model_id, count(*), max(version), "
            "coalesce(list(DISTINCT current_stage ORDER BY current_stage) "
            "FILTER (current_stage <> 'None'), []) FROM model_versions GROUP BY model_id"
        )
    }
    models = rows_of(
        catalog,
        "SELECT model_id, name, description, creation_time, last_updated_time, user_id "
        "FROM registered_models ORDER BY lower(name), name",
        [],
    )
    for model in models:
        count, latest, stages = counts.get(model["model_id"], (0, None, []))
        model.update(version_count=count, latest_version=latest, stages=list(stages))
    return models


def source_run_keys(catalog: Catalog, model_id: str) -> tuple[list[str], list[str]]:
    """Metric and param keys of a model's source runs, most widely logged first.

    Params whose value differs between the versions come before those that do not:
    they are what tells one version from another.
    """
    runs = "SELECT run_id FROM model_versions WHERE model_id = ? AND run_id IS NOT NULL"
    metrics = catalog.rows(
        f"SELECT key FROM latest_metrics WHERE run_id IN ({runs}) "
        "GROUP BY key ORDER BY count(DISTINCT run_id) DESC, key",
        [model_id],
    )
    params = catalog.rows(
        f"SELECT key FROM params WHERE run_id IN ({runs}) "
        "GROUP BY key ORDER BY count(DISTINCT value) > 1 DESC, count(DISTINCT run_id) DESC, key",
        [model_id],
    )
    return [r[0] for r in metrics], [r[0] for r in params]


def version_page(
    catalog: Catalog,
    model_id: str,
    metric_keys: Sequence[str],
    param_keys: Sequence[str],
    offset: int = 0,
    limit: int = 50,
    only: Sequence[int] | None = None,
) -> pa.Table:
    """A page of a model's versions, newest first, with their aliases, tags and source run.

    The run columns are its name, status and experiment, then ``metrics.<key>`` (the
    latest value) and ``params.<key>`` for each key asked for (null where the run lacks
    it, or the version has no run). ``only`` keeps just those version numbers.
    """
    check_page_size("limit", limit)
    keys = []
    for prefix, wanted in (("metrics", metric_keys), ("params", param_keys)):
        for key in wanted:
            name = f"{prefix}.{key}"
            physical = catalog.key_column(name)
            source = "NULL" if physical is None else f"r.{physical}"
            keys.append(f"{source} AS {quote_identifier(name)}")
    key_sql = "".join(f", {k}" for k in keys)
    # Each view narrowed to the model first, then joined: half the time of a subquery
    # per row over the alias and tag views.
    return catalog.arrow(
        "WITH v AS (SELECT * FROM model_versions WHERE model_id = ? "
        "AND (?::BIGINT[] IS NULL OR list_contains(?::BIGINT[], version))), "
        "a AS (SELECT version, list(alias ORDER BY alias) AS aliases FROM aliases "
        "WHERE model_id = ? GROUP BY version), "
        "t AS (SELECT version, list({'key': key, 'value': value} ORDER BY key) AS tags "
        "FROM model_version_tags WHERE model_id = ? GROUP BY version) "
        "SELECT v.version, v.current_stage, v.description, v.creation_time, "
        "v.last_updated_time, v.user_id, v.source, v.run_id, "
        "coalesce(a.aliases, []) AS aliases, coalesce(t.tags, []) AS tags, "
        f"r.run_name, {liveness.status_sql('r')} AS run_status, r.experiment_id, "
        f"r.lifecycle_stage AS run_lifecycle{key_sql} "
        "FROM v LEFT JOIN a ON a.version = v.version LEFT JOIN t ON t.version = v.version "
        f"LEFT JOIN {relations.RUNS_WIDE} r ON r.run_id = v.run_id "
        f"ORDER BY v.version DESC LIMIT {int(limit):d} OFFSET {int(offset):d}",
        [model_id, _numbers(only), _numbers(only), model_id, model_id],
    )


def _numbers(only: Sequence[int] | None) -> list[int] | None:
    return None if only is None else [int(n) for n in only]


def version_count(catalog: Catalog, model_id: str, only: Sequence[int] | None = None) -> int:
    """How many live versions a model has (of ``only``, if given)."""
    return int(
        catalog.rows(
            "SELECT count(*) FROM model_versions WHERE model_id = ? "
            "AND (?::BIGINT[] IS NULL OR list_contains(?::BIGINT[], version))",
            [model_id, _numbers(only), _numbers(only)],
        )[0][0]
    )


def model_folders(catalog: Catalog, run_ids: Sequence[str]) -> list[Row]:
    """The runs asked for (in that order) with their names and logged model folders.

    A model folder is an artifact folder that holds an ``MLmodel`` file; ``models`` is
    their paths, sorted (``""`` for a model logged at the run's artifact root).
    """
    rows = rows_of(
        catalog,
        f"SELECT r.run_id, r.run_name, {liveness.status_sql('r')} AS status, "
        "coalesce((SELECT list(DISTINCT CASE WHEN a.path = 'MLmodel' THEN '' "
        "ELSE a.path[:-length('/MLmodel') - 1] END ORDER BY 1) "
        "FROM artifacts a WHERE a.run_id = r.run_id "
        "AND (a.path = 'MLmodel' OR a.path LIKE '%/MLmodel')), []) AS models "
        f"FROM {relations.RUNS_WIDE} r WHERE list_contains(?, r.run_id)",
        [list(run_ids)],
    )
    order = {run_id: i for i, run_id in enumerate(run_ids)}
    return sorted(rows, key=lambda r: order[r["run_id"]])


def versions_by_key(catalog: Catalog, keys: Sequence[str]) -> dict[str, str | None]:
    """Live versions named ``"<model>/<version>"``: key -> the source run id (or None)."""
    if not keys:
        return {}
    rows = catalog.rows(
        "SELECT name || '/' || version AS key, run_id FROM model_versions "
        "WHERE list_contains(?, name || '/' || version)",
        [list(keys)],
    )
    return {str(key): run_id for key, run_id in rows}


def dataset_inputs(catalog: Catalog, run_id: str) -> list[Row]:
    """The datasets a run logged as inputs, with their schema and profile (JSON text)."""
    return rows_of(
        catalog,
        "SELECT name, digest, context, source_type, source, schema, profile FROM datasets "
        "WHERE run_id = ? ORDER BY context, name, digest",
        [run_id],
    )


def versions_on_dataset(catalog: Catalog, digest: str) -> list[Row]:
    """The live versions whose source run logged the dataset ``digest``, with what for.

    The versions ``search_model_versions("datasets.digest = '<digest>'")`` finds, read
    with the digest bound as a parameter: one row per version and context.
    """
    return rows_of(
        catalog,
        "SELECT DISTINCT v.name, v.version, v.run_id, r.run_name, d.context "
        "FROM model_versions v JOIN datasets d ON d.run_id = v.run_id "
        f"LEFT JOIN {relations.RUNS_WIDE} r ON r.run_id = v.run_id "
        "WHERE d.digest = ? ORDER BY lower(v.name), v.name, v.version, d.context",
        [digest],
    )


def version_by_key(catalog: Catalog, key: str) -> Row | None:
    """The live version named ``"<model>/<version>"`` (its ``model_versions`` row), or None."""
    name, _, number = key.rpartition("/")
    if not number.isdigit() or len(number) > _VERSION_DIGITS:
        return None
    found = rows_of(
        catalog,
        "SELECT * FROM model_versions WHERE name = ? AND version = ?",
        [name, int(number)],
    )
    return found[0] if found else None
