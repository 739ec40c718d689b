"""Whole batches checked column by column: ``log_history`` and ``log_batch``.

Checking a column at C speed (``set(map(type, values)) == {float}``) and falling back
to per-value checks only when that fails is what lets a batch of a million points log
in well under a second; every value is still checked before anything is buffered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvasback.tracking import validation

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from canvasback.tracking.entities import Metric


def as_list(key: str, values: Sequence[Any]) -> list[Any]:
    """A series as a list (lists, numpy and pyarrow arrays, pandas series)."""
    tolist = getattr(values, "tolist", None)  # numpy and pyarrow arrays, pandas series
    if callable(tolist):
        values = tolist()
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        msg = (
            f"Invalid history for {key!r}: {values!r} is not a sequence; "
            "log_history takes a list or array of values per key"
        )
        raise validation.InvalidInputError(msg)
    return list(values)


def history_columns(
    run_id: str,
    series: Mapping[str, list[Any]],
    steps: list[Any],
    timestamps: list[Any],
    seen: set[str],
) -> list[list[Any]] | None:
    """Metric columns (run_id, key, step, timestamp, value) of whole series, checked."""
    if not series or not steps:
        return None
    for key in set(series) - seen:
        validation.validate_key("metric", key)
    if not validation.int64_column(steps):
        steps = [validation.metric_step(", ".join(series), x) for x in steps]
    if not validation.int64_column(timestamps):
        timestamps = [validation.timestamp_ms(", ".join(series), x) for x in timestamps]
    keys: list[str] = []
    values: list[Any] = []
    for key, column in series.items():
        if set(map(type, column)) != {float}:
            column = [validation.metric_value(key, x) for x in column]  # noqa: PLW2901
        keys.extend([key] * len(column))
        values.extend(column)
    seen.update(series)
    k = len(series)
    return [[run_id] * len(values), keys, steps * k, timestamps * k, values]


METRIC_FIELDS = ("key", "value", "timestamp", "step")


def metric_columns(
    run_id: str, metrics: Iterable[Metric], seen: set[str]
) -> list[Sequence[Any]] | None:
    """A batch of metrics as checked columns (run_id, key, step, timestamp, value).

    Column-wise, because checking whole columns at C speed (``all(type(x) is float ...)``)
    is what lets a batch of a million points log in well under a second.
    """
    batch = list(metrics)
    if not batch:
        return None
    try:
        keys, values, timestamps, steps = (list(c) for c in zip(*batch, strict=True))
    except (TypeError, ValueError):  # not 4-tuples: MLflow-style objects with attributes
        bad = next((m for m in batch if not all(hasattr(m, a) for a in METRIC_FIELDS)), None)
        if bad is not None:
            msg = (
                f"Invalid metric {bad!r} in log_batch: give Metric(key, value, timestamp, "
                "step) objects or (key, value, timestamp, step) tuples"
            )
            raise validation.InvalidInputError(msg) from None
        keys = [m.key for m in batch]
        values = [m.value for m in batch]
        timestamps = [m.timestamp for m in batch]
        steps = [m.step for m in batch]
    for key in set(keys) - seen:
        validation.validate_key("metric", key)
    if set(map(type, values)) != {float}:
        values = [validation.metric_value(k, x) for k, x in zip(keys, values, strict=True)]
    if not validation.int64_column(steps):
        steps = [validation.metric_step(k, x) for k, x in zip(keys, steps, strict=True)]
    if not validation.int64_column(timestamps):
        timestamps = [validation.timestamp_ms(k, x) for k, x in zip(keys, timestamps, strict=True)]
    seen.update(keys)
    return [[run_id] * len(batch), keys, steps, timestamps, values]


def key_values(what: str, items: Iterable[Any]) -> dict[str, Any]:
    """Params or tags of a batch: ``Param``/``RunTag`` objects or ``(key, value)`` pairs."""
    out: dict[str, Any] = {}
    for item in items:
        if hasattr(item, "key") and hasattr(item, "value"):
            out[item.key] = item.value
        elif isinstance(item, tuple | list) and len(item) == 2:  # noqa: PLR2004 - a pair
            out[item[0]] = item[1]
        else:
            msg = (
                f"Invalid {what} {item!r} in log_batch: give {what.title()}(key, value) "
                "objects or (key, value) pairs"
            )
            raise validation.InvalidInputError(msg)
    return out
