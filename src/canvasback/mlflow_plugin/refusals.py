"""What the plugin does not do, method by method, and why; and what MLflow does for it.

canvasback keeps experiments, runs, logged models and the model registry. MLflow's
stores also declare its GenAI side (traces, assessments, evaluation datasets, scorers,
labeling, issues, prompts) and its server's configuration (AI Gateway, MCP servers,
skills): the plugin refuses those, each with the reason below, raising MLflow's
not-implemented error so that callers that fall back on it still do.

Reads of those GenAI records that MLflow's web UI makes on an experiment's pages
(searches and lists: traces, trace metrics, sessions, scorers, evaluation datasets,
issues, label schemas, review queues) are not refused but answered empty
(``EMPTY_TRACKING``): the store holds no such record, since every call that would make
one is refused, so the empty answer is the true one; the UI then shows its "nothing
yet" state rather than an error it asks again for every few seconds. A read of one
record by its id stays refused, saying why.

``INHERITED_*`` lists the methods MLflow's base classes implement over the methods the
plugin does implement (``log_metric`` over ``log_batch``, ``search_runs`` over
``_search_runs``, ...): they are neither overridden nor refused.
``tests/mlflow_plugin/test_completeness.py`` checks that every public method of MLflow's
base classes is implemented, inherited from this list, or refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking.gateway import GatewayStoreMixin
from mlflow.store.tracking.mcp_server_registry import MCPServerRegistryMixin
from mlflow.store.tracking.skill_registry import SkillRegistryMixin

if TYPE_CHECKING:
    from collections.abc import Callable

_TRACES: Final = (
    "MLflow Tracing's traces, spans and assessments (GenAI) are not kept by a canvasback "
    "store; log traces to an MLflow tracking server"
)
_ISSUES: Final = "issues are GenAI trace triage, which a canvasback store does not keep"
_EVAL_DATASETS: Final = (
    "GenAI evaluation datasets (records in a tracking database) are not kept by a "
    "canvasback store; a run's datasets are (log_input)"
)
_SCORERS: Final = "GenAI scorers judge traces, which a canvasback store does not keep"
_LABELING: Final = "GenAI labeling sessions and review queues work on traces, not kept here"
_GATEWAY: Final = (
    "the AI Gateway's secrets, endpoints and budgets are a tracking server's "
    "configuration, not tracking data"
)
_MCP: Final = "the MCP server registry is a tracking server's, not tracking data"
_SKILLS: Final = "the skill registry is a tracking server's, not tracking data"
_PROMPTS: Final = (
    "the GenAI prompt registry is out of scope for canvasback's registry (registered "
    "models, versions, aliases, stages and tags are in)"
)


def _public(mixin: type) -> list[str]:
    return [n for n, v in vars(mixin).items() if not n.startswith("_") and callable(v)]


REFUSED_TRACKING: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "start_trace",
            "delete_traces",
            "get_trace_info",
            "get_trace",
            "batch_get_traces",
            "batch_get_trace_infos",
            "archive_traces",
            "resolve_trace_archival_config",
            "get_online_trace_details",
            "set_trace_tag",
            "delete_trace_tag",
            "get_assessment",
            "create_assessment",
            "update_assessment",
            "delete_assessment",
            "log_spans",
            "log_spans_async",
            "link_traces_to_run",
            "unlink_traces_from_run",
            "link_prompts_to_trace",
            "calculate_trace_filter_correlation",
        ),
        _TRACES,
    ),
    **dict.fromkeys(("create_issue", "get_issue", "update_issue"), _ISSUES),
    **dict.fromkeys(
        (
            "create_dataset",
            "get_dataset",
            "delete_dataset",
            "upsert_dataset_records",
            "delete_dataset_records",
            "set_dataset_tags",
            "delete_dataset_tag",
            "get_dataset_experiment_ids",
            "add_dataset_to_experiments",
            "remove_dataset_from_experiments",
        ),
        _EVAL_DATASETS,
    ),
    **dict.fromkeys(
        (
            "register_scorer",
            "get_scorer",
            "list_scorer_versions",
            "delete_scorer",
            "upsert_online_scoring_config",
            "get_online_scoring_configs",
            "get_active_online_scorers",
        ),
        _SCORERS,
    ),
    **dict.fromkeys(
        (
            "create_label_schema",
            "get_label_schema",
            "get_label_schema_by_name",
            "update_label_schema",
            "delete_label_schema",
            "create_review_queue",
            "get_or_create_user_queue",
            "get_review_queue",
            "get_review_queue_by_name",
            "update_review_queue",
            "delete_review_queue",
            "add_items_to_review_queue",
            "remove_items_from_review_queue",
            "list_review_queue_items",
            "set_review_queue_item_status",
        ),
        _LABELING,
    ),
    **dict.fromkeys(_public(GatewayStoreMixin), _GATEWAY),
    **dict.fromkeys(_public(MCPServerRegistryMixin), _MCP),
    **dict.fromkeys(_public(SkillRegistryMixin), _SKILLS),
}


def _no_traces() -> tuple[list[object], None]:
    return [], None


def _empty_page() -> PagedList[object]:
    return PagedList([], None)


def _none() -> list[object]:
    return []


EMPTY_TRACKING: Final[dict[str, Callable[[], object]]] = {
    "search_traces": _no_traces,  # (trace infos, next page token)
    "query_trace_metrics": _empty_page,
    "find_completed_sessions": _none,
    "list_scorers": _none,
    "search_datasets": _empty_page,
    "search_issues": _empty_page,
    "list_label_schemas": _empty_page,
    "list_review_queues": _empty_page,
}
"""GenAI reads answered empty: the store keeps none of these records (module docstring)."""

INHERITED_TRACKING: Final = frozenset(
    {
        # over log_batch
        "log_metric",
        "log_param",
        "set_tag",
        "log_batch_async",
        "log_metric_async",
        "log_param_async",
        "set_tag_async",
        "end_async_logging",
        "flush_async_logging",
        "shut_down_async_logging",
        # over get_metric_history
        "get_metric_history_bulk_interval",
        "get_metric_history_bulk_interval_from_steps",
        # over _search_runs
        "search_runs",
        # over get_logged_model and set_logged_model_tags
        "set_model_versions_tags",
        # over get_experiment
        "filter_active_experiment_ids",
        # over list_scorers (empty)
        "list_scorers_across_experiments",
        # properties: no workspaces, no trace archival
        "supports_workspaces",
        "supports_trace_archival",
    }
)

REFUSED_REGISTRY: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "create_prompt",
            "search_prompts",
            "delete_prompt",
            "set_prompt_tag",
            "delete_prompt_tag",
            "get_prompt",
            "create_prompt_version",
            "get_prompt_version",
            "delete_prompt_version",
            "get_prompt_version_by_alias",
            "set_prompt_alias",
            "delete_prompt_alias",
            "search_prompt_versions",
            "link_prompts_to_trace",
            "set_prompt_version_tag",
            "delete_prompt_version_tag",
            "link_prompt_version_to_model",
            "link_prompt_version_to_run",
        ),
        _PROMPTS,
    ),
}

INHERITED_REGISTRY: Final = frozenset(
    {
        "copy_model_version",  # over create_registered_model and create_model_version
        "supports_workspaces",  # a property: no workspaces
    }
)

_TRACE_FILES: Final = (
    "trace data and attachments belong to traces, which a canvasback store does not keep"
)

REFUSED_ARTIFACTS: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "download_trace_data_to_file",
            "download_trace_data",
            "download_archived_trace_data",
            "download_trace_attachment_to_file",
            "download_trace_attachment",
            "upload_trace_data",
            "upload_archived_trace_data",
            "upload_archived_trace_data_bytes",
            "upload_attachment",
        ),
        _TRACE_FILES,
    ),
    "delete_artifacts": (
        "a run keeps its artifacts (they are indexed in the store); delete the run and "
        "compact(purge_deleted=True) to drop them"
    ),
}

INHERITED_ARTIFACTS: Final = frozenset(
    {
        "download_artifacts",  # over list_artifacts and _download_file
        "flush_async_logging",  # of MLflow's own thread pool
        "max_workers",  # a property: MLflow's setting
    }
)
