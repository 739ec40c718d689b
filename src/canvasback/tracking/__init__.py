"""The tracking API: runs, experiments and their search, over a store.

``canvasback.tracking.MlflowClient`` is :class:`~canvasback.tracking.client.Client`, under
the name MLflow code imports it by.
"""

from __future__ import annotations

from canvasback.tracking.client import Client
from canvasback.tracking.client import Client as MlflowClient

__all__ = ["Client", "MlflowClient"]
