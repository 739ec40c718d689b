"""Datasets a run used: MLflow's ``mlflow.data`` records, built from pandas or numpy.

A dataset is described, not copied: a name, a digest of its contents, where it came
from, its schema and a small profile. ``log_input`` records one against a run, with a
context (``training``, ``evaluation``, ...); ``datasets.name``/``digest``/``context``
filters find the runs that used it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from canvasback.tracking import validation

if TYPE_CHECKING:
    import pandas as pd

_DIGEST_ROWS: Final = 10_000  # rows hashed from each end, as MLflow samples large frames


@dataclass(frozen=True)
class Dataset:
    """A dataset's description, as ``mlflow.data`` builds it."""

    name: str
    digest: str
    source: str = ""
    source_type: str = "code"
    schema: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    targets: str | None = None

    def to_json(self) -> tuple[str, str]:
        """Schema and profile as the JSON text the store keeps."""
        return json.dumps(self.schema, sort_keys=True), json.dumps(self.profile, sort_keys=True)


def from_pandas(
    df: pd.DataFrame,
    source: str | None = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
) -> Dataset:
    """A dataset of a DataFrame: columns and dtypes as its schema, rows and cells counted."""
    import pandas as pd  # noqa: PLC0415  # the caller has pandas already

    if not isinstance(df, pd.DataFrame):
        msg = f"from_pandas needs a pandas DataFrame, not {type(df).__name__}"
        raise TypeError(msg)
    if targets is not None and targets not in df.columns:
        columns = ", ".join(map(str, df.columns))
        msg = f"targets {targets!r} is not a column of the DataFrame ({columns})"
        raise ValueError(msg)
    sample = (
        df
        if len(df) <= 2 * _DIGEST_ROWS
        else pd.concat([df.head(_DIGEST_ROWS), df.tail(_DIGEST_ROWS)])
    )
    hashed = pd.util.hash_pandas_object(sample, index=False).to_numpy().tobytes()
    schema = {"columns": [{"name": str(c), "type": str(t)} for c, t in df.dtypes.items()]}
    profile = {"num_rows": len(df), "num_elements": int(df.size)}
    return Dataset(
        name=name or "dataset",
        digest=digest or _digest(hashed, str(df.shape)),
        source=source or "",
        source_type="local" if source else "code",
        schema=schema,
        profile=profile,
        targets=targets,
    )


def from_numpy(
    features: Any,  # noqa: ANN401  # an array, or a dict of arrays
    source: str | None = None,
    targets: Any = None,  # noqa: ANN401  # an array
    name: str | None = None,
    digest: str | None = None,
) -> Dataset:
    """A dataset of numpy arrays (or a dict of them): shapes and dtypes as its schema."""
    import numpy as np  # noqa: PLC0415  # the caller has numpy already

    arrays = features if isinstance(features, dict) else {"features": features}
    if targets is not None:
        arrays = {**arrays, "targets": targets}
    hasher = hashlib.sha256()
    schema_columns = []
    elements = 0
    for key, value in arrays.items():
        array = np.asarray(value)
        flat = array.reshape(-1)
        head = flat[:_DIGEST_ROWS]
        tail = flat[-_DIGEST_ROWS:]
        hasher.update(f"{key}:{array.shape}:{array.dtype}".encode())
        hasher.update(np.ascontiguousarray(head).tobytes() + np.ascontiguousarray(tail).tobytes())
        schema_columns.append({"name": key, "type": str(array.dtype), "shape": list(array.shape)})
        elements += int(array.size)
    return Dataset(
        name=name or "dataset",
        digest=digest or hasher.hexdigest()[:8],
        source=source or "",
        source_type="local" if source else "code",
        schema={"tensors": schema_columns},
        profile={"num_elements": elements},
        targets="targets" if targets is not None else None,
    )


def _digest(data: bytes, shape: str) -> str:
    return hashlib.sha256(data + shape.encode()).hexdigest()[:8]


def input_row(run_id: str, dataset: Dataset, context: str) -> tuple[object, ...]:
    """The ``inputs`` table's row of a dataset a run used."""
    schema, profile = dataset.to_json()
    name = validation.tag_value("dataset name", dataset.name)
    return (
        run_id,
        name,
        dataset.digest,
        context,
        dataset.source_type,
        dataset.source,
        schema,
        profile,
        time.time_ns() // 1_000_000,
    )
