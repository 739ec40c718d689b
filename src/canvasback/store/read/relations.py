"""The catalog's named relations: the one place their names are spelled.

What a layer above may read (the query layer, and the views a layer declares, see
``declarations.py``), besides the public views by their own names (``runs``,
``params``, ... and every declared view; ``catalog_tables.py``):

``RUNS_WIDE``
    One row per run: its attributes (``schema.RUN_ATTRIBUTES``, the status as stored:
    ``liveness.status_sql`` gives it as shown), ``last_seen`` and ``heartbeat_ms``,
    and one column per metric, param and tag key, named by ``Catalog.key_column``.
    Searches scan it; ``Catalog.position_of`` and ``Catalog.wide_page`` page it.
``FACTS``
    The resolved events: for each (``entity_id``, ``kind``, ``key``) the latest event's
    ``experiment_id``, ``value``, ``timestamp``, ``writer`` and ``seq``.
``rows(table)``
    A keyed table's rows as merged, one per natural key, with the partition they were
    written to as ``experiment_id`` (a declared table's, e.g. ``rows("model_aliases")``).

Everything else here is the read side's own: no layer above names it, and user SQL
reaches none of it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FACTS", "RUNS_WIDE", "rows"]

RUNS_WIDE: Final = "_wide_v"
FACTS: Final = "_state"


def rows(table: str) -> str:
    """The in-memory table of a keyed table's merged rows (``runs`` -> ``_runs``)."""
    return f"_{table}"


# -- the read side's own ---------------------------------------------------------------
WIDE: Final = "_wide"
"""The wide rows the catalog built in memory (runs newer than the snapshot, or all)."""
WIDE_BASE: Final = "_wide_base"
"""The snapshot's wide rows: its memory-mapped Arrow file, registered by this name."""
LATEST: Final = "_latest_metrics"
"""The latest value of every (run, metric key), merged in memory."""
SHADOW: Final = "_shadow"
"""Ids of the runs whose snapshot rows were copied into memory (and are hidden)."""
HYDRATE: Final = "_hydrate"
"""The ids a hydration copies, as a temp table for the time of one copy."""


def union_view(table: str) -> str:
    """The view of a run-level table's snapshot rows and memory rows (``_params_v``)."""
    return f"{table}_v"
