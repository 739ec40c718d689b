"""The model registry's reads: models, versions, aliases and their history.

Rows come back as dicts with the registry views' column names; the registry package
makes MLflow's entities of them. Searches take MLflow's registry filter grammar (plus
``OR`` and parentheses); every value is a bound parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from canvasback.query import filter as run_filter
from canvasback.query.filter_sql import compile_filter
from canvasback.query.search import check_page_size
from canvasback.query.tag_columns import TaggedColumns
from canvasback.registry import tables as registry_tables
from canvasback.store import liveness
from canvasback.store.read import relations
from canvasback.store.read.catalog_tables import quote_identifier

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa

    from canvasback.store.read.catalog import Catalog

Row = dict[str, Any]

# The registry's own tables (not views): rows there are only ever added.
_MODELS: Final = relations.rows(registry_tables.REGISTERED_MODELS.name)
_VERSIONS: Final = relations.rows(registry_tables.MODEL_VERSIONS.name)
_ALIASES: Final = relations.rows(registry_tables.MODEL_ALIASES.name)

_LATEST_ALIASES: Final = f"""
    SELECT * FROM {_ALIASES} WHERE list_contains(?, model_id)
    QUALIFY row_number() OVER (
        PARTITION BY model_id, alias ORDER BY timestamp DESC, writer DESC, seq DESC) = 1
"""

_MODEL_COLUMNS: Final = {
    "name": "m.name",
    "description": "m.description",
    "creation_timestamp": "m.creation_time",
    "last_updated_timestamp": "m.last_updated_time",
}
_VERSION_COLUMNS: Final = {
    "name": "v.name",
    "version_number": "v.version",
    "run_id": "v.run_id",
    "source_path": "v.source",
    "current_stage": "v.current_stage",
    "user_id": "v.user_id",
    "description": "v.description",
    "creation_timestamp": "v.creation_time",
    "last_updated_timestamp": "v.last_updated_time",
}


def _search(
    catalog: Catalog,
    select: str,
    grammar: run_filter.Grammar,
    columns: TaggedColumns,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    default_order: list[str],
    max_results: int | None,
    offset: int,
) -> list[Row]:
    check_page_size("max_results", max_results)
    expr = run_filter.parse_filter(filter_string, grammar)
    keys = run_filter.parse_order_by(order_by, grammar)
    where, params = "TRUE", list[object]()
    if expr is not None:
        where, params = compile_filter(expr, columns)
    order = [
        f"{columns(k.entity, k.key)} {'ASC' if k.ascending else 'DESC'} NULLS LAST" for k in keys
    ]
    limit = "" if max_results is None else f" LIMIT {int(max_results):d}"
    sql = (
        f"{select} {' '.join(columns.joins)} WHERE {where} "
        f"ORDER BY {', '.join([*order, *default_order])}{limit} OFFSET {int(offset):d}"
    )
    return _rows(catalog, sql, [*columns.params, *params])


def _rows(catalog: Catalog, sql: str, params: list[Any]) -> list[Row]:
    rows: list[Row] = catalog.arrow(sql, params).to_pylist()
    return rows


def search_registered_models(
    catalog: Catalog,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = None,
    offset: int = 0,
) -> list[Row]:
    """Registered models that match (by name unless ``order_by`` says otherwise)."""
    columns = TaggedColumns(_MODEL_COLUMNS, "registered_model_tags", "{t}.model_id = m.model_id")
    return _search(
        catalog,
        "SELECT m.* FROM registered_models m",
        run_filter.REGISTERED_MODELS,
        columns,
        filter_string,
        order_by,
        ["m.name"],
        max_results,
        offset,
    )


def search_model_versions(
    catalog: Catalog,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = None,
    offset: int = 0,
) -> list[Row]:
    """Model versions that match (newest version of each model first, by default)."""
    columns = TaggedColumns(
        _VERSION_COLUMNS,
        "model_version_tags",
        "{t}.model_id = v.model_id AND {t}.version = v.version",
    )
    return _search(
        catalog,
        "SELECT v.* FROM model_versions v",
        run_filter.MODEL_VERSIONS,
        columns,
        filter_string,
        order_by,
        ["v.name", "v.version DESC"],
        max_results,
        offset,
    )


def model_names(catalog: Catalog) -> list[str]:
    """Every registered model's name, sorted (for errors that say what exists)."""
    return [r[0] for r in catalog.rows("SELECT name FROM registered_models ORDER BY name")]


def model_row(catalog: Catalog, model_id: str) -> Row | None:
    """A live registered model by id, None if it is absent or deleted."""
    rows = _rows(catalog, "SELECT * FROM registered_models WHERE model_id = ?", [model_id])
    return rows[0] if rows else None


def model_written(catalog: Catalog, model_id: str) -> bool:
    """Whether a registered model's row is in the store (deleted or not)."""
    return bool(catalog.rows(f"SELECT 1 FROM {_MODELS} WHERE model_id = ? LIMIT 1", [model_id]))


def model_log_facts(catalog: Catalog, model_id: str) -> tuple[dict[str, str], bool]:
    """A model's rename events (slot key -> name), and whether its deletion is written."""
    names: dict[str, str] = {}
    deleted = False
    for kind, key, value in catalog.rows(
        f"SELECT kind, key, value FROM {relations.FACTS} "
        "WHERE experiment_id = ? AND entity_id = ? AND kind IN (?, ?)",
        [
            registry_tables.PARTITION,
            model_id,
            registry_tables.EVENT_MODEL_NAME,
            registry_tables.EVENT_MODEL_LIFECYCLE,
        ],
    ):
        if kind == registry_tables.EVENT_MODEL_NAME:
            names[key] = value
        else:
            deleted = deleted or value == "deleted"
    return names, deleted


def versions_of(catalog: Catalog, model_ids: list[str]) -> list[Row]:
    """Every live version of these models, oldest first."""
    return _rows(
        catalog,
        "SELECT * FROM model_versions WHERE list_contains(?, model_id) ORDER BY name, version",
        [model_ids],
    )


def version_row(catalog: Catalog, model_id: str, version: int) -> Row | None:
    """One live version of a model, None if it is absent or deleted."""
    rows = _rows(
        catalog,
        "SELECT * FROM model_versions WHERE model_id = ? AND version = ?",
        [model_id, version],
    )
    return rows[0] if rows else None


def model_tags(catalog: Catalog, model_ids: list[str]) -> dict[str, dict[str, str]]:
    """Tags of models: model id -> {key: value}."""
    out: dict[str, dict[str, str]] = {}
    for model_id, key, value in catalog.rows(
        "SELECT model_id, key, value FROM registered_model_tags "
        "WHERE list_contains(?, model_id) ORDER BY key",
        [model_ids],
    ):
        out.setdefault(model_id, {})[key] = value
    return out


def version_tags(catalog: Catalog, model_ids: list[str]) -> dict[tuple[str, int], dict[str, str]]:
    """Tags of the versions of models: (model id, version) -> {key: value}."""
    out: dict[tuple[str, int], dict[str, str]] = {}
    # Straight from the resolved events (a version's entity is "<model id>/<version>"):
    # the caller keeps the live versions' tags; the views would resolve every version.
    for entity, key, value in catalog.rows(
        f"SELECT entity_id, key, value FROM {relations.FACTS} "
        "WHERE experiment_id = ? AND kind = ? AND value IS NOT NULL "
        "AND list_contains(?, split_part(entity_id, '/', 1)) ORDER BY key",
        [registry_tables.PARTITION, registry_tables.EVENT_VERSION_TAG, model_ids],
    ):
        model_id, _, version = entity.partition("/")
        out.setdefault((model_id, int(version)), {})[key] = value
    return out


def aliases_of(catalog: Catalog, model_ids: list[str]) -> dict[str, dict[str, int]]:
    """Current aliases of models: model id -> {alias: version}."""
    out: dict[str, dict[str, int]] = {}
    # The models' alias rows first, then the latest of each: the window sees only those.
    for model_id, alias, version in catalog.rows(
        f"SELECT a.model_id, a.alias, a.version FROM ({_LATEST_ALIASES}) a "
        "WHERE a.version IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
        f"{relations.FACTS} d WHERE d.experiment_id = ? AND d.kind = ? "
        "AND d.entity_id = a.model_id || '/' || a.version AND d.value = 'deleted') "
        "ORDER BY a.alias",
        [model_ids, registry_tables.PARTITION, registry_tables.EVENT_VERSION_LIFECYCLE],
    ):
        out.setdefault(model_id, {})[alias] = version
    return out


def version_by_alias(catalog: Catalog, model_id: str, alias: str) -> Row | None:
    """The live version an alias of a model points at, None if it points nowhere."""
    rows = _rows(
        catalog,
        f"SELECT v.* FROM (SELECT version FROM {_ALIASES} WHERE model_id = ? AND alias = ? "
        "ORDER BY timestamp DESC, writer DESC, seq DESC LIMIT 1) a "
        "JOIN model_versions v ON v.model_id = ? AND v.version = a.version",
        [model_id, alias, model_id],
    )
    return rows[0] if rows else None


def alias_history(catalog: Catalog, model_id: str, alias: str | None = None) -> list[Row]:
    """Every move of a model's aliases (or of one alias), oldest first."""
    return _rows(
        catalog,
        "SELECT * FROM alias_history WHERE model_id = ? AND (? IS NULL OR alias = ?) "
        "ORDER BY timestamp, alias",
        [model_id, alias, alias],
    )


def version_numbers_written(catalog: Catalog, model_id: str) -> set[int]:
    """Every version number of a model that has a row, deleted ones included."""
    rows = catalog.rows(f"SELECT version FROM {_VERSIONS} WHERE model_id = ?", [model_id])
    return {r[0] for r in rows}


def versions_in_stage(catalog: Catalog, model_id: str, stage: str) -> list[int]:
    """Numbers of a model's live versions in a stage."""
    return [
        r[0]
        for r in catalog.rows(
            "SELECT version FROM model_versions WHERE model_id = ? AND current_stage = ? "
            "ORDER BY version",
            [model_id, stage],
        )
    ]


def versions_of_run(catalog: Catalog, run_ids: list[str]) -> list[Row]:
    """Model versions registered from any of these runs."""
    return _rows(
        catalog,
        "SELECT * FROM model_versions WHERE list_contains(?, run_id) ORDER BY name, version",
        [run_ids],
    )


# -- the registry panel's reads ------------------------------------------------------
def registry_signature(catalog: Catalog) -> tuple[int, ...]:
    """A value that changes whenever any registry fact does (counts and sums: cheap).

    Models, versions and alias moves are rows that are only ever added; every other fact
    (description, stage, tag, name, deletion) replaces an event of the registry's
    partition with a newer one, which changes the sum of their timestamps.
    """
    row = catalog.rows(
        f"SELECT (SELECT count(*) FROM {_MODELS}), "
        f"(SELECT count(*) FROM {_VERSIONS}), "
        f"(SELECT count(*) FROM {_ALIASES}), "
        f"(SELECT count(*) FROM {relations.FACTS} WHERE experiment_id = ?), "
        f"(SELECT coalesce(sum(timestamp), 0)::BIGINT FROM {relations.FACTS} "
        "WHERE experiment_id = ?)",
        [registry_tables.PARTITION, registry_tables.PARTITION],
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
    models = _rows(
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
    rows = _rows(
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
