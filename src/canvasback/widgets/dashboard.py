"""``dashboard()``: a run table, a comparison and the registry, linked by selection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets

from canvasback.widgets import _static
from canvasback.widgets._sources import resolve_client
from canvasback.widgets.compare import Compare
from canvasback.widgets.registry import RegistryPanel
from canvasback.widgets.run_table import RunTable, runs

if TYPE_CHECKING:
    import os

    from canvasback.store import Store
    from canvasback.tracking.client import Client


class Dashboard(_static.StaticRepr, ipywidgets.VBox):  # type: ignore[misc]
    """A :class:`RunTable`, a :class:`RegistryPanel` and a :class:`Compare`, linked.

    Selecting rows in the table (click, shift-click, ctrl-click) redraws the charts; with
    none selected they show the table's newest runs, and say so, as ``compare(table)``
    does. ``dashboard.selected`` is the selection as a DataFrame. The registry panel
    registers the runs selected in the table, and selecting two or more versions there
    selects their source runs in the table, and so charts them.
    """

    def __init__(
        self, table: RunTable, compare: Compare, registry: RegistryPanel | None = None
    ) -> None:
        children = [table] if registry is None else [table, registry]
        super().__init__(children=[*children, compare])
        self.table = table
        self.compare = compare
        self.registry = registry

    def __repr__(self) -> str:
        return f"<Dashboard of {self.table.total} runs, {len(self.compare.run_ids)} compared>"

    @property
    def selected(self) -> Any:  # noqa: ANN401  # a pandas DataFrame
        """The runs selected in the table, with ``search_runs`` columns."""
        return self.table.selected

    def refresh(self) -> None:
        """Reload the table (and so the charts) and the registry from the store."""
        self.table.refresh()
        if self.registry is not None:
            self.registry.refresh()

    def _static_keys(self) -> list[str]:
        # Either live view (the table's or the charts') stands for the whole dashboard.
        keys = [self.table._static_key, self.compare._static_key]  # noqa: SLF001  # same package
        if self.registry is not None:
            keys.append(self.registry._static_key)  # noqa: SLF001
        return keys

    def _speakers(self) -> list[Any]:
        # The box is plain ipywidgets; its parts are the views that wait for Python.
        return [self.table, self.compare, *([] if self.registry is None else [self.registry])]

    def _static_html(self) -> str | None:
        parts = [self.table.to_html()]
        registry_html = None if self.registry is None else self.registry._static_html()  # noqa: SLF001
        if registry_html:
            parts.append(registry_html)
        chart_html = self.compare._static_html()  # noqa: SLF001  # same package
        if chart_html:
            parts.append(chart_html)
        return "\n".join(parts)


def dashboard(
    experiment: object = None,
    filter: str | None = None,  # noqa: A002  # search_runs' word for it
    metrics: list[str] | None = None,
    store: str | os.PathLike[str] | Client | Store | None = None,
    *,
    model: str | None = None,
    registry: bool = True,
) -> Dashboard:
    """A run table, comparison charts and the model registry, linked by selection.

    Parameters
    ----------
    experiment
        An experiment name or id (or a list); None shows every experiment.
    filter
        A ``search_runs`` filter for the table.
    metrics
        Metric keys to chart; by default the first few the runs logged.
    store
        A store folder or a ``Client``; None is the current store.
    model
        The registered model the registry panel opens (by default the first).
    registry
        Whether to show the registry panel.

    """
    client = resolve_client(store)
    table = runs(experiment, filter=filter, store=client)
    compare = Compare(table, store=client, **({"metrics": metrics} if metrics else {}))
    panel = RegistryPanel(store=client, table=table, model=model or "") if registry else None
    return Dashboard(table, compare, panel)
