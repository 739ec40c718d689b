"""The params of runs side by side, and which of them differ.

A comparison table is only a chart in the loose sense: the widget renders it as HTML.
These helpers decide what it holds, so that the widget, its static view and a user
calling them directly agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["differing", "params_diff", "params_table"]


def params_table(
    runs: pd.DataFrame,
    labels: dict[str, str] | None = None,
    params: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Params as rows, runs as columns (headed by their labels); values as text.

    ``runs`` has the columns of ``search_runs`` (``run_id``, ``params.<key>``). A param
    a run did not log is None.
    """
    ids = [str(r) for r in runs["run_id"]]
    labels = labels or {}
    keys = (
        list(params)
        if params is not None
        else sorted(c.removeprefix("params.") for c in runs.columns if c.startswith("params."))
    )
    data = {
        labels.get(run_id, run_id): [
            _text(runs[f"params.{key}"].iloc[i]) if f"params.{key}" in runs.columns else None
            for key in keys
        ]
        for i, run_id in enumerate(ids)
    }
    return pd.DataFrame(data, index=pd.Index(keys, name="param"), columns=list(data), dtype=object)


def differing(table: pd.DataFrame) -> list[str]:
    """Params (rows of :func:`params_table`) whose value is not the same in every run.

    A param that some runs did not log differs from one they did.
    """
    return [
        str(key)
        for key, row in table.iterrows()
        if len({"\x00missing" if value is None else value for value in row}) > 1
    ]


def params_diff(
    runs: pd.DataFrame,
    labels: dict[str, str] | None = None,
    *,
    diff_only: bool = True,
) -> pd.DataFrame:
    """:func:`params_table`, keeping only the params that differ when ``diff_only``."""
    table = params_table(runs, labels)
    if not diff_only:
        return table
    return table.loc[differing(table)]


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return None
    return str(value)
