"""The params of runs side by side, and which of them differ.

Beside the params, the tags that say how each run was made (the code version and the
environment that ``canvasback.projects`` records) get rows of their own, ``code ·
git.commit`` or ``env · python``: a diff-only table then shows what changed in the code
or the environment between two runs, next to the params that changed.

A comparison table is only a chart in the loose sense: the widget renders it as HTML.
These helpers decide what it holds, so that the widget, its static view and a user
calling them directly agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["PROVENANCE", "differing", "params_diff", "params_table", "provenance_table"]

# Tag prefixes of a run's code version and environment, and the label of their rows.
PROVENANCE: Final = (("canvasback.source.", "code"), ("canvasback.env.", "env"))


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


def provenance_table(runs: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Code-version and environment tags as rows (``code · git.commit``), runs as columns."""
    ids = [str(r) for r in runs["run_id"]]
    labels = labels or {}
    rows: dict[str, str] = {}
    for prefix, label in PROVENANCE:
        columns = sorted(str(c) for c in runs.columns if str(c).startswith(f"tags.{prefix}"))
        for column in columns:
            rows[f"{label} · {column.removeprefix(f'tags.{prefix}')}"] = column
    data = {
        labels.get(run_id, run_id): [_text(runs[column].iloc[i]) for column in rows.values()]
        for i, run_id in enumerate(ids)
    }
    return pd.DataFrame(
        data, index=pd.Index(list(rows), name="param"), columns=list(data), dtype=object
    )


def differing(table: pd.DataFrame) -> list[str]:
    """Params (rows of :func:`params_table`) whose value is not the same in every run.

    A param that some runs did not log differs from one they did.
    """
    # Rows as arrays: a row as a Series would infer pandas' string dtype and read None as
    # NaN, and no two NaNs are equal.
    return [
        str(key)
        for key, row in zip(table.index, table.to_numpy(dtype=object), strict=True)
        if len({"\x00missing" if _text(value) is None else value for value in row}) > 1
    ]


def params_diff(
    runs: pd.DataFrame,
    labels: dict[str, str] | None = None,
    *,
    diff_only: bool = True,
) -> pd.DataFrame:
    """:func:`params_table` and :func:`provenance_table`; only what differs when ``diff_only``."""
    table = with_provenance(params_table(runs, labels), runs, labels)
    if not diff_only:
        return table
    return table.loc[differing(table)]


def with_provenance(
    table: pd.DataFrame, runs: pd.DataFrame, labels: dict[str, str] | None
) -> pd.DataFrame:
    """The params table followed by the provenance rows (when the runs have any)."""
    extra = provenance_table(runs, labels)
    if extra.empty:
        return table
    return pd.concat([table, extra]) if len(table) else extra


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return None
    return str(value)
