"""MLflow's ``mlflow.data``: describe a dataset, then ``log_input`` it against a run."""

from __future__ import annotations

from canvasback.tracking.datasets import Dataset, from_numpy, from_pandas

__all__ = ["Dataset", "from_numpy", "from_pandas"]
