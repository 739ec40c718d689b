"""The one query layer: every read of the store is a named function here.

Callers (the tracking API, the registry, the widgets) get Arrow tables, DataFrames or
Python values and never hold SQL; the catalog's connection and lock stay in the store.

- :mod:`.runs`: single runs and experiments, metric histories, what exists;
- :mod:`.search`: ``search_runs``' filter, order and page over the wide run table;
- :mod:`.experiment_search`: ``search_experiments``' filter and order;
- :mod:`.downsample`: the min/max-preserving downsampler of histories (stored and live);
- :mod:`.run_set`: a run table's runs, filtered, sorted and paged in a cursor of its own;
- :mod:`.run_stats`: header summaries, groups and run detail over a run set.
"""

from __future__ import annotations

from canvasback.tracking.queries.experiment_search import search_experiments
from canvasback.tracking.queries.runs import (
    existing_run_ids,
    experiment_ids,
    latest_metric_rows,
    metric_history,
    metric_rows_in_files,
    run_data,
    run_info,
    runs_with_tag,
)
from canvasback.tracking.queries.search import (
    runs_frame,
    search_runs,
    select_runs,
)

__all__ = [
    "existing_run_ids",
    "experiment_ids",
    "latest_metric_rows",
    "metric_history",
    "metric_rows_in_files",
    "run_data",
    "run_info",
    "runs_frame",
    "runs_with_tag",
    "search_experiments",
    "search_runs",
    "select_runs",
]
