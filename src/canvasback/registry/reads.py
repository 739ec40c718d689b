"""The model registry's reads: models, versions, aliases and their history, and searches.

Rows come back as dicts with the registry views' column names; the registry's calls
make MLflow's entities of them. Searches take MLflow's registry filter grammar (plus
``OR`` and parentheses) over the registry's views; every value is a bound parameter.
The registry panel's own reads are :mod:`canvasback.registry.panel_reads`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from canvasback.query import filter as run_filter
from canvasback.query.filter_sql import compile_filter
from canvasback.query.search import check_page_size
from canvasback.query.tag_columns import TaggedColumns
from canvasback.registry import tables
from canvasback.store.read import relations

if TYPE_CHECKING:
    from collections.abc import Sequence

    from canvasback.store.read.catalog import Catalog

Row = dict[str, Any]

# The registry's own tables (not views): rows there are only ever added.
MODEL_ROWS: Final = relations.rows(tables.REGISTERED_MODELS.name)
VERSION_ROWS: Final = relations.rows(tables.MODEL_VERSIONS.name)
ALIAS_ROWS: Final = relations.rows(tables.MODEL_ALIASES.name)

MODEL_FILTERS: Final = run_filter.Grammar(
    ("name", "description", "creation_timestamp", "last_updated_timestamp"),
    frozenset(("creation_timestamp", "last_updated_timestamp")),
    {"timestamp": "last_updated_timestamp"},
    frozenset(("tag",)),
)
"""``search_registered_models``' filters and order: MLflow's attributes and ``tags.``."""
VERSION_FILTERS: Final = run_filter.Grammar(
    (
        "name",
        "version_number",
        "run_id",
        "source_path",
        "current_stage",
        "user_id",
        "description",
        "creation_timestamp",
        "last_updated_timestamp",
    ),
    frozenset(("version_number", "creation_timestamp", "last_updated_timestamp")),
    {"version": "version_number", "source": "source_path", "timestamp": "last_updated_timestamp"},
    frozenset(("tag", "dataset")),
)
"""``search_model_versions``' filters and order: MLflow's attributes and ``tags.``, and
``datasets.name``/``digest``/``context`` of the datasets the source run logged (the
versions trained on a dataset), as ``search_runs`` takes them."""

_LATEST_ALIASES: Final = f"""
    SELECT * FROM {ALIAS_ROWS} WHERE list_contains(?, model_id)
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


# The columns of the views searched: rows come back as tuples (no Arrow on the way,
# which costs more than a page of rows takes to read), made dicts by these names.
_MODEL_FIELDS: Final = (
    "model_id",
    "name",
    "description",
    "creation_time",
    "last_updated_time",
    "user_id",
)
_VERSION_FIELDS: Final = (
    "name",
    "version",
    "model_id",
    "creation_time",
    "last_updated_time",
    "description",
    "user_id",
    "current_stage",
    "source",
    "run_id",
    "status",
)


def _search(
    catalog: Catalog,
    view: tuple[str, str, tuple[str, ...]],
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
    name, alias, fields = view
    sql = (
        f"SELECT {', '.join(f'{alias}.{f}' for f in fields)} FROM {name} {alias} "
        f"{' '.join(columns.joins)} WHERE {where} "
        f"ORDER BY {', '.join([*order, *default_order])}{limit} OFFSET {int(offset):d}"
    )
    found = catalog.rows(sql, [*columns.params, *params])
    return [dict(zip(fields, row, strict=True)) for row in found]


def rows_of(catalog: Catalog, sql: str, params: list[Any]) -> list[Row]:
    """The rows of a query as dicts of column values."""
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
        ("registered_models", "m", _MODEL_FIELDS),
        MODEL_FILTERS,
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
        ("model_versions", "v", _VERSION_FIELDS),
        VERSION_FILTERS,
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
    rows = rows_of(catalog, "SELECT * FROM registered_models WHERE model_id = ?", [model_id])
    return rows[0] if rows else None


def model_written(catalog: Catalog, model_id: str) -> bool:
    """Whether a registered model's row is in the store (deleted or not)."""
    return bool(catalog.rows(f"SELECT 1 FROM {MODEL_ROWS} WHERE model_id = ? LIMIT 1", [model_id]))


def model_log_facts(catalog: Catalog, model_id: str) -> tuple[dict[str, str], bool]:
    """A model's rename events (slot key -> name), and whether its deletion is written."""
    names: dict[str, str] = {}
    deleted = False
    for kind, key, value in catalog.rows(
        f"SELECT kind, key, value FROM {relations.FACTS} "
        "WHERE experiment_id = ? AND entity_id = ? AND kind IN (?, ?)",
        [
            tables.PARTITION,
            model_id,
            tables.EVENT_MODEL_NAME,
            tables.EVENT_MODEL_LIFECYCLE,
        ],
    ):
        if kind == tables.EVENT_MODEL_NAME:
            names[key] = value
        else:
            deleted = deleted or value == "deleted"
    return names, deleted


def versions_of(catalog: Catalog, model_ids: list[str]) -> list[Row]:
    """Every live version of these models, oldest first."""
    return rows_of(
        catalog,
        "SELECT * FROM model_versions WHERE list_contains(?, model_id) ORDER BY name, version",
        [model_ids],
    )


def version_row(catalog: Catalog, model_id: str, version: int) -> Row | None:
    """One live version of a model, None if it is absent or deleted."""
    rows = rows_of(
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


# Tags of the versions of models (parameter: the model ids), straight from the resolved
# events (a version's entity is "<model id>/<version>"): the caller keeps the live
# versions' tags; the views would resolve every version.
_VERSION_TAGS: Final = (
    f"SELECT entity_id, key, value FROM {relations.FACTS} "
    "WHERE experiment_id = ? AND kind = ? AND value IS NOT NULL "
    "AND list_contains(?, split_part(entity_id, '/', 1))"
)


def _version_of(entity: str) -> tuple[str, int]:
    """(model id, version) of a version's entity id ("<model id>/<version>")."""
    model_id, _, version = entity.partition("/")
    return model_id, int(version)


def version_tags(catalog: Catalog, model_ids: list[str]) -> dict[tuple[str, int], dict[str, str]]:
    """Tags of the versions of models: (model id, version) -> {key: value}."""
    out: dict[tuple[str, int], dict[str, str]] = {}
    for entity, key, value in catalog.rows(
        f"{_VERSION_TAGS} ORDER BY key", [tables.PARTITION, tables.EVENT_VERSION_TAG, model_ids]
    ):
        out.setdefault(_version_of(entity), {})[key] = value
    return out


def version_details(
    catalog: Catalog, model_ids: list[str]
) -> tuple[dict[tuple[str, int], dict[str, str]], dict[tuple[str, int], list[str]]]:
    """Tags and current aliases of the versions of models, by (model id, version), at once.

    An alias may point at a deleted version: the caller looks up live versions only.
    """
    tags: dict[tuple[str, int], dict[str, str]] = {}
    aliases: dict[tuple[str, int], list[str]] = {}
    # One query: each costs more to start than these rows take to read.
    for alias, entity, key, value in catalog.rows(
        f"SELECT false, * FROM ({_VERSION_TAGS}) UNION ALL "
        f"SELECT true, model_id || '/' || version, alias, NULL FROM ({_LATEST_ALIASES}) "
        "WHERE version IS NOT NULL ORDER BY 1, 3",
        [tables.PARTITION, tables.EVENT_VERSION_TAG, model_ids, model_ids],
    ):
        if alias:
            aliases.setdefault(_version_of(entity), []).append(key)
        else:
            tags.setdefault(_version_of(entity), {})[key] = value
    return tags, aliases


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
        [model_ids, tables.PARTITION, tables.EVENT_VERSION_LIFECYCLE],
    ):
        out.setdefault(model_id, {})[alias] = version
    return out


def version_by_alias(catalog: Catalog, model_id: str, alias: str) -> Row | None:
    """The live version an alias of a model points at, None if it points nowhere."""
    rows = rows_of(
        catalog,
        f"SELECT v.* FROM (SELECT version FROM {ALIAS_ROWS} WHERE model_id = ? AND alias = ? "
        "ORDER BY timestamp DESC, writer DESC, seq DESC LIMIT 1) a "
        "JOIN model_versions v ON v.model_id = ? AND v.version = a.version",
        [model_id, alias, model_id],
    )
    return rows[0] if rows else None


def alias_history(catalog: Catalog, model_id: str, alias: str | None = None) -> list[Row]:
    """Every move of a model's aliases (or of one alias), oldest first."""
    return rows_of(
        catalog,
        "SELECT * FROM alias_history WHERE model_id = ? AND (? IS NULL OR alias = ?) "
        "ORDER BY timestamp, alias",
        [model_id, alias, alias],
    )


def version_numbers_written(catalog: Catalog, model_id: str) -> set[int]:
    """Every version number of a model that has a row, deleted ones included."""
    rows = catalog.rows(f"SELECT version FROM {VERSION_ROWS} WHERE model_id = ?", [model_id])
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
    return rows_of(
        catalog,
        "SELECT * FROM model_versions WHERE list_contains(?, run_id) ORDER BY name, version",
        [run_ids],
    )


def alias_guards(catalog: Catalog, model_id: str) -> list[Row]:
    """A model's protections and gates in force (``kind``, ``key``, JSON ``value``, time).

    Its facts of those kinds that hold a value, by kind and key: straight from the
    resolved facts, as the caller knows the model is live (the ``protected_aliases``
    and ``alias_gates`` views would resolve every model first).
    """
    return rows_of(
        catalog,
        f"SELECT kind, key, value, timestamp FROM {relations.FACTS} "
        "WHERE experiment_id = ? AND entity_id = ? AND kind IN (?, ?) AND value IS NOT NULL "
        "ORDER BY kind, key",
        [tables.PARTITION, model_id, tables.EVENT_ALIAS_PROTECTION, tables.EVENT_ALIAS_GATE],
    )


def json_object(text: str) -> dict[str, Any]:
    """A fact's JSON object; {} for text that is not one (written by hand, or damaged)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def lineage_rows(catalog: Catalog, model_id: str, version: int) -> list[Row]:
    """A version's rows of the ``lineage`` view: one per dataset its source run logged."""
    return rows_of(
        catalog,
        "SELECT * FROM lineage WHERE model_id = ? AND version = ? "
        "ORDER BY dataset_context, dataset_name, dataset_digest",
        [model_id, version],
    )
