"""Where a widget's runs come from: a store given in any form, runs given in any form."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from canvasback import query
from canvasback.store import Store
from canvasback.tracking import current
from canvasback.tracking.client import Client
from canvasback.tracking.experiments import ExperimentNotFoundError

if TYPE_CHECKING:
    import os


def resolve_client(store: str | os.PathLike[str] | Client | Store | None) -> Client:
    """A client of a store folder, a Store or a Client; None is the current store."""
    if store is None:
        return current.client()
    if isinstance(store, Client):
        return store
    if isinstance(store, Store):
        return Client(store.address)
    return Client(store)


def resolve_store(store: object, runs: object = None) -> Store:
    """The store to read: ``store`` if given, else the one a run table shows, else current."""
    if store is None:
        store = getattr(runs, "store", None)  # a run table that exposes its store
    return resolve_client(store).store  # type: ignore[arg-type]


def run_ids(runs: object) -> list[str]:
    """Run ids from ids, a DataFrame with ``run_id``, runs, or a table's selection."""
    if runs is None:
        return []
    if isinstance(runs, str):
        return [runs]
    if isinstance(runs, pd.DataFrame):
        if "run_id" not in runs.columns:
            msg = "a DataFrame of runs needs a 'run_id' column (as search_runs returns)"
            raise ValueError(msg)
        return [str(r) for r in dict.fromkeys(runs["run_id"])]
    if hasattr(runs, "selected_ids"):
        return [str(r) for r in runs.selected_ids]
    if isinstance(runs, pd.Series):
        return [str(r) for r in dict.fromkeys(runs)]
    try:
        items = list(runs)  # type: ignore[call-overload]
    except TypeError:
        msg = f"runs must be run ids, a DataFrame or a run table, not {type(runs).__name__}"
        raise TypeError(msg) from None
    ids = []
    for item in items:
        info = getattr(item, "info", None)
        ids.append(str(getattr(info, "run_id", None) or getattr(item, "run_id", None) or item))
    return list(dict.fromkeys(ids))


def experiment_ids(client: Client, experiment: object) -> list[str]:
    """Experiment ids from names, ids or Experiment objects (None: every experiment)."""
    if experiment is None:
        return []
    single = isinstance(experiment, str | int) or hasattr(experiment, "experiment_id")
    items = [experiment] if single else list(experiment)  # type: ignore[call-overload]
    known = query.experiment_ids(client.store.read())
    out: list[str] = []
    for item in items:
        found = getattr(item, "experiment_id", None)
        if found is None and isinstance(item, int):
            found = str(item)
        elif found is None:
            found = client.experiment_id_for(str(item))
            if found is None and str(item) in known:
                found = str(item)
        if found is None or str(found) not in known:
            msg = f"No experiment {item!r} (by name or id) in store {client.store.url!r}"
            raise ExperimentNotFoundError(msg)
        out.append(str(found))
    return list(dict.fromkeys(out))
