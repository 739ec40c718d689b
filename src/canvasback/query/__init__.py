"""The query layer: every read of the store is a named function here.

It sits between the layers that ask (the tracking API, the registry, the widgets, the
importers) and the store: it imports the store and nothing above it. Callers get Arrow
tables, DataFrames or Python values and never hold SQL; the catalog's connection and
lock stay in the store, and its relations are named through ``store/read/relations.py``.
(The registry's reads of models, versions and aliases are its own:
:mod:`canvasback.registry.reads`.)

- :mod:`.filter_lexer`, :mod:`.filter`, :mod:`.filter_sql`: the search grammar: lex,
  parse, compile to SQL with bound parameters;
- :mod:`.runs`: single runs and experiments, metric histories, what exists;
- :mod:`.search`: ``search_runs``' filter, order and page over the wide run table;
- :mod:`.experiment_search`: ``search_experiments``' filter and order;
- :mod:`.tag_columns`: a filter's keys as a view's columns and tag joins;
- :mod:`.downsample`: the min/max-preserving downsampler of histories (stored and live);
- :mod:`.run_set`: a run table's runs, filtered, sorted and paged in a cursor of its own;
- :mod:`.run_stats`: header summaries, groups and run detail over a run set;
- :mod:`.metric_goal`: which way is better for a metric (a sweep's goal, else its name);
- :mod:`.filter_hints`: what to say of a filter naming a key no run has.
"""

from __future__ import annotations

from canvasback.query.experiment_search import search_experiments
from canvasback.query.runs import (
    existing_run_ids,
    experiment_ids,
    latest_metric_rows,
    metric_history,
    metric_points,
    metric_rows_in_files,
    run_data,
    run_experiment,
    run_info,
    runs_with_artifact,
    runs_with_tag,
)
from canvasback.query.search import (
    SEARCHED_TABLES,
    runs_frame,
    search_runs,
    search_runs_table,
    select_runs,
)

__all__ = [
    "SEARCHED_TABLES",
    "existing_run_ids",
    "experiment_ids",
    "latest_metric_rows",
    "metric_history",
    "metric_points",
    "metric_rows_in_files",
    "run_data",
    "run_experiment",
    "run_info",
    "runs_frame",
    "runs_with_artifact",
    "runs_with_tag",
    "search_experiments",
    "search_runs",
    "search_runs_table",
    "select_runs",
]
