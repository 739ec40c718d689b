"""MLflow 3's fluent calls on logged models, over the current store.

``get_logged_model``, ``search_logged_models`` and ``set_logged_model_tags``
(``import canvasback as mlflow`` has them); ``logged_model_reads`` does the work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvasback.tracking import current, logged_model_reads
from canvasback.tracking.current import client
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from canvasback.tracking.logged_model_reads import LoggedModel


def get_logged_model(model_id: str) -> LoggedModel:
    """A logged model by id (``models:/<model_id>``)."""
    return logged_model_reads.get(client(), model_id)


def set_logged_model_tags(model_id: str, tags: Mapping[str, Any]) -> None:
    """Set tags on a logged model."""
    logged_model_reads.set_tags(client(), model_id, tags)


def order_clauses(order_by: Sequence[str | Mapping[str, Any]] | None) -> list[str] | None:
    """``order_by`` as clauses: MLflow gives ``{"field_name": ..., "ascending": ...}``."""
    if order_by is None:
        return None
    clauses = []
    for item in order_by:
        if isinstance(item, str):
            clauses.append(item)
        elif isinstance(item, dict) and isinstance(item.get("field_name"), str):
            direction = "ASC" if item.get("ascending", True) else "DESC"
            clauses.append(f"{item['field_name']} {direction}")
        else:
            msg = (
                f"Invalid order_by item {item!r}: a clause such as 'metrics.acc DESC' or "
                "{'field_name': 'metrics.acc', 'ascending': False}"
            )
            raise InvalidInputError(msg)
    return clauses


def search_logged_models(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str | Mapping[str, Any]] | None = None,
    output_format: str = "pandas",
) -> Any:  # noqa: ANN401  # a DataFrame, or a list of LoggedModel for output_format="list"
    """Logged models of the experiments (the current one by default) that match.

    ``filter_string`` as ``search_runs``' (``metrics.``, ``params.``, ``tags.`` and the
    attributes ``name``, ``status``, ``model_type``, ``source_run_id``,
    ``creation_timestamp``...); newest first unless ``order_by`` says otherwise.
    """
    if output_format not in ("pandas", "list"):
        msg = f"Invalid output_format {output_format!r}: allowed are 'pandas' and 'list'"
        raise InvalidInputError(msg)
    c = client()
    ids = experiment_ids if experiment_ids is not None else [current.current_experiment_id(c)]
    found = logged_model_reads.search(c, ids, filter_string, order_clauses(order_by), max_results)
    if output_format == "list":
        return found
    import pandas as pd  # noqa: PLC0415  # only a frame needs it

    columns = list(logged_model_reads.LoggedModel.__dataclass_fields__)
    return pd.DataFrame([m.to_dictionary() for m in found], columns=columns)
