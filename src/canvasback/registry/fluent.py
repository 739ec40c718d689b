"""The registry's module-level calls (``mlflow.register_model`` and friends)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvasback.registry.client import client

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from canvasback.registry.entities import ModelVersion, PagedList


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 0,
    *,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Register a logged model as the next version of ``name`` (created if needed).

    ``model_uri`` is what ``log_model`` returned (``models:/m-<id>``), a
    ``runs:/<run_id>/<path>`` URI, or a registered version (``models:/Name@champion``).
    """
    del await_registration_for  # registration is complete when this returns
    return client().register_model(model_uri, name, tags=tags)


def search_registered_models(
    filter_string: str | None = None,
    max_results: int = 100,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> PagedList:
    """Registered models that match a filter (MLflow's grammar, plus OR and parentheses)."""
    return client().search_registered_models(filter_string, max_results, order_by, page_token)


def search_model_versions(
    filter_string: str | None = None,
    max_results: int = 10_000,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> PagedList:
    """Model versions that match a filter (``name = 'churn' AND version_number > 2``)."""
    return client().search_model_versions(filter_string, max_results, order_by, page_token)
