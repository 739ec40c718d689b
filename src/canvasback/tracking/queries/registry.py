"""The model registry's reads: models, versions, aliases and their history.

Rows come back as dicts with the registry views' column names; the registry package
makes MLflow's entities of them. Searches take MLflow's registry filter grammar (plus
``OR`` and parentheses); every value is a bound parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from canvasback.tracking import filter as run_filter
from canvasback.tracking.filter_sql import compile_filter
from canvasback.tracking.queries.search import check_page_size

if TYPE_CHECKING:
    from collections.abc import Sequence

    from canvasback.store.reader import Catalog

Row = dict[str, Any]

_LATEST_ALIASES: Final = """
    SELECT * FROM _model_aliases WHERE list_contains(?, model_id)
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


class _Columns:
    """SQL of a registry filter's keys: view columns, and tags joined as needed."""

    def __init__(self, attributes: dict[str, str], tags: str, on: str) -> None:
        self.attributes = attributes
        self.tags, self.on = tags, on
        self.joins: list[str] = []
        self.params: list[Any] = []
        self._aliases: dict[str, str] = {}

    def __call__(self, entity: str, key: str) -> str:
        if entity == "attribute":
            return self.attributes[key]
        alias = self._aliases.get(key)
        if alias is None:
            alias = self._aliases[key] = f"t{len(self._aliases)}"
            self.joins.append(
                f"LEFT JOIN (SELECT * FROM {self.tags} WHERE key = ?) {alias} "
                f"ON {self.on.format(t=alias)}"
            )
            self.params.append(key)
        return f"{alias}.value"


def _search(
    catalog: Catalog,
    select: str,
    grammar: run_filter.Grammar,
    columns: _Columns,
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
    columns = _Columns(_MODEL_COLUMNS, "registered_model_tags", "{t}.model_id = m.model_id")
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
    columns = _Columns(
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
    for model_id, version, key, value in catalog.rows(
        "SELECT model_id, version, key, value FROM model_version_tags "
        "WHERE list_contains(?, model_id) ORDER BY key",
        [model_ids],
    ):
        out.setdefault((model_id, version), {})[key] = value
    return out


def aliases_of(catalog: Catalog, model_ids: list[str]) -> dict[str, dict[str, int]]:
    """Current aliases of models: model id -> {alias: version}."""
    out: dict[str, dict[str, int]] = {}
    # The models' alias rows first, then the latest of each: the window sees only those.
    for model_id, alias, version in catalog.rows(
        f"SELECT a.model_id, a.alias, a.version FROM ({_LATEST_ALIASES}) a "
        "WHERE a.version IS NOT NULL AND EXISTS (SELECT 1 FROM model_versions v "
        "WHERE v.model_id = a.model_id AND v.version = a.version) ORDER BY a.alias",
        [model_ids],
    ):
        out.setdefault(model_id, {})[alias] = version
    return out


def version_by_alias(catalog: Catalog, model_id: str, alias: str) -> Row | None:
    """The live version an alias of a model points at, None if it points nowhere."""
    rows = _rows(
        catalog,
        "SELECT v.* FROM (SELECT version FROM _model_aliases WHERE model_id = ? AND alias = ? "
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
    rows = catalog.rows("SELECT version FROM _model_versions WHERE model_id = ?", [model_id])
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
