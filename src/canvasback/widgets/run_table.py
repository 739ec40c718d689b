"""``RunTable``: the store's runs as a sortable, filterable, virtual-scrolling table.

Small state lives in synced traits (filter, sort, columns, selection); the front end
asks for rows a page at a time (``{"kind": "page", "offset", "limit", "columns"}``) and
gets Arrow IPC bytes back, so 100,000 runs never cross the comm at once. Python turns
every request into bound-parameter SQL; the browser never sends SQL.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

import traitlets

from canvasback import query
from canvasback.query import filter_hints, run_stats
from canvasback.query.filter import BoolOp, FilterError, parse_filter
from canvasback.query.run_set import Column, RunSet, SortKey, parse_column
from canvasback.widgets import _static
from canvasback.widgets._base import BaseWidget, RpcReply, arrow_ipc_bytes, rpc
from canvasback.widgets._sources import experiment_ids, resolve_client, run_ids
from canvasback.widgets._table_html import table_html, tsv

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

    import pandas as pd

    from canvasback.query.filter import Expr
    from canvasback.store import Store
    from canvasback.tracking.client import Client

__all__ = ["RunTable", "runs"]

_LOG = logging.getLogger(__name__)

DEFAULT_ATTRIBUTES: Final = ("run_name", "status", "start_time")
DEFAULT_PER_ENTITY: Final = 8
MAX_PAGE: Final = 1000
STATIC_ROWS: Final = 50
# The traits whose change means a different set of rows, hence a rebuild.
_QUERY_TRAITS: Final = ("experiment_ids", "filter", "summary_filters", "sort")


class RunTable(_static.StaticRepr, BaseWidget):
    """The runs of a store as an interactive table (use :func:`runs` to make one).

    Sort by any column (click a header), filter with the ``search_runs`` grammar, choose
    columns, group by a param or tag, select runs; ``table.selected`` is a DataFrame of
    the selected runs. Assigning the traits from Python updates the view, and the other
    way round.
    """

    _shared_bundle = "run_table"

    experiment_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Experiments shown; empty means every experiment of the store."""
    filter = traitlets.Unicode("").tag(sync=True)
    """A ``search_runs`` filter, e.g. ``metrics.acc > 0.9 and params.opt = 'adam'``."""
    summary_filters = traitlets.List(traitlets.Dict()).tag(sync=True)
    """Clauses added from the column summaries: ``{"column", "clause", "label"}``."""
    sort = traitlets.List(traitlets.Dict()).tag(sync=True)
    """Sort keys, first first: ``{"column": "metrics.acc", "descending": True}``."""
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Visible columns: ``metrics.<key>``, ``params.<key>``, ``tags.<key>``, attributes."""
    available_columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    """Every column the store offers: ``{"name", "entity", "type"}``."""
    group_by = traitlets.Unicode("").tag(sync=True)
    """A param, tag or attribute column to group by; empty for the flat table."""
    selected_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected_shown = traitlets.Int(0).tag(sync=True)
    """How many of the selected runs match the filter; the others are hidden by it."""
    total = traitlets.Int(0).tag(sync=True)
    """How many runs match the filter."""
    error = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    """Why the filter was not applied: ``{"reason", "position", "text", "source"}``."""
    hint = traitlets.Unicode("").tag(sync=True)
    """Why the filter may match nothing: the keys it names that no run has, the closest."""
    generation = traitlets.Int(0).tag(sync=True)
    """Bumped whenever the rows change, so the front end drops the pages it holds."""
    height = traitlets.Int(440).tag(sync=True)
    """Largest height of the scrolling rows in pixels (fewer rows take less)."""
    column_widths = traitlets.Dict(value_trait=traitlets.Int()).tag(sync=True)
    """Column name -> width in pixels, for the columns resized in the header."""

    def __init__(
        self,
        *,
        store: str | os.PathLike[str] | Client | Store | None = None,
        **kwargs: Any,  # noqa: ANN401 - trait values of any type
    ) -> None:
        self._runs = RunSet(resolve_client(store).store)
        self._ready = False
        self._filter_expr: Expr | None = None
        self._built: tuple[object, ...] | None = None
        self._loads = 0
        self._known_shown: int | None = None
        super().__init__(**kwargs)
        self._runs.refresh()
        self._load_columns(default=not kwargs.get("columns"))
        self._load()
        self._ready = True
        self._rebuild()

    @classmethod
    def _accepted_kwargs(cls) -> set[str]:
        return {*super()._accepted_kwargs(), "store"}

    # -- Python API ------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The store the table reads (``compare(table)`` charts from the same one)."""
        return self._runs.store

    @property
    def selected(self) -> pd.DataFrame:
        """The selected runs (in table order) with MLflow's ``search_runs`` columns."""
        ids = self._runs.order_of(list(self.selected_ids)) if self.selected_ids else []
        return query.runs_frame(self._runs.catalog, self._runs.store.address, ids)

    @selected.setter
    def selected(self, runs: pd.DataFrame | Iterable[str] | str | None) -> None:
        self.selected_ids = run_ids(runs)

    def newest_ids(self, limit: int) -> list[str]:
        """The ``limit`` newest runs the table shows (its filters apply), newest first."""
        return self._runs.newest(limit)

    def refresh(self) -> None:
        """Reload from the store: runs logged since show up; the selection stays."""
        self._runs.refresh()
        self._load_columns(default=False)
        self._load()
        self._rebuild()

    def to_html(self, max_rows: int = STATIC_ROWS) -> str:
        """The first ``max_rows`` rows as a static HTML table (every text escaped)."""
        columns = self._visible_columns()
        table = self._runs.page(0, max_rows, columns)
        types = {c.name: self._column_type(c) for c in columns}
        return table_html(table, columns, types, total=self.total, filter_text=self.filter)

    def _static_html(self) -> str | None:
        # A saved notebook opened without a kernel (or on GitHub) still shows the runs.
        return self.to_html()

    def close(self) -> None:
        """Close the widget and release its DuckDB cursor."""
        self._runs.close()
        super().close()

    # -- state -> query --------------------------------------------------------------
    @traitlets.observe(*_QUERY_TRAITS)
    def _on_query_change(self, change: dict[str, Any]) -> None:
        if not self._ready:
            return
        if change["name"] == "experiment_ids":
            self._load_columns(default=False)
            self._load()
        self._rebuild()

    def _load(self) -> None:
        """Take the scope for the next rebuild (every run's columns are read in place)."""
        self._runs.load(list(self.experiment_ids))
        self._loads += 1

    def _rebuild(self) -> None:
        errors: list[dict[str, Any]] = []
        try:
            self._filter_expr = parse_filter(self.filter)
        except FilterError as exc:  # keep showing the last filter that parsed
            errors.append(_filter_error(exc, "filter"))
        operands: list[Expr] = [] if self._filter_expr is None else [self._filter_expr]
        for item in self.summary_filters:
            try:
                expr = parse_filter(str(item.get("clause", "")))
            except FilterError as exc:
                errors.append(_filter_error(exc, "summary"))
                continue
            if expr is not None:
                operands.append(expr)
        sort_keys: list[SortKey] = []
        for item in self.sort:
            try:
                column = parse_column(str(item.get("column", "")))
            except ValueError as exc:
                errors.append({"reason": str(exc), "position": None, "text": "", "source": "sort"})
                continue
            sort_keys.append(SortKey(column, descending=bool(item.get("descending"))))
        combined: Expr | None = None
        if len(operands) == 1:
            combined = operands[0]
        elif operands:
            combined = BoolOp("AND", tuple(operands))
        # The same rows as now (an edit that only broke the filter): keep the pages shown.
        signature = (self._loads, combined, tuple(sort_keys))
        known = {c["name"] for c in self.available_columns}
        with self.hold_sync():
            # set_trait: the Dict trait allows None, which its type annotation does not say.
            self.set_trait("error", errors[0] if errors else None)
            self.hint = filter_hints.missing_key_hint(combined, known)
            if signature != self._built:
                self.total = self._runs.rebuild(combined, sort_keys)
                self._built = signature
                self.generation += 1
                self._count_selected_shown()

    @traitlets.observe("selected_ids")
    def _on_selection_change(self, _change: dict[str, Any]) -> None:
        if self._ready and self._known_shown is None:
            self._count_selected_shown()

    def _set_selection(self, ids: list[str], shown: int) -> None:
        """Select ``ids``, of which ``shown`` pass the filter: known, so not counted."""
        self._known_shown = shown
        try:
            self.selected_ids = ids
        finally:
            self._known_shown = None
        self.selected_shown = shown

    def _count_selected_shown(self) -> None:
        self.selected_shown = self._runs.count_shown(list(self.selected_ids))

    def _load_columns(self, *, default: bool) -> None:
        available = self._runs.available(list(self.experiment_ids))
        self.available_columns = available
        if default:
            names = [c["name"] for c in available]
            chosen = list(DEFAULT_ATTRIBUTES)
            for prefix in ("metrics.", "params."):
                chosen += [n for n in names if n.startswith(prefix)][:DEFAULT_PER_ENTITY]
            self.columns = chosen

    def _info(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.available_columns if c["name"] == name), None)

    def _column_type(self, column: Column) -> str:
        info = self._info(column.name)
        if info is not None:
            return str(info["type"])
        return "number" if column.entity == "metric" else "text"

    def _visible_columns(self, names: Iterable[str] | None = None) -> list[Column]:
        out: list[Column] = []
        for name in self.columns if names is None else names:
            try:
                out.append(parse_column(str(name)))
            except ValueError:
                _LOG.debug("canvasback: skipping unknown column %r", name)
        return out

    # -- requests from the front end -------------------------------------------------
    @rpc("page")
    def _page(self, request: dict[str, Any]) -> RpcReply:
        offset = max(int(request.get("offset", 0)), 0)
        limit = min(max(int(request.get("limit", 100)), 0), MAX_PAGE)
        columns = self._visible_columns(request.get("columns"))
        table = self._runs.page(offset, limit, columns)
        reply = {
            "offset": offset,
            "count": table.num_rows,
            "total": self.total,
            "generation": self.generation,
        }
        return reply, [arrow_ipc_bytes(table)]

    @rpc("summaries")
    def _summaries(self, request: dict[str, Any]) -> RpcReply:
        wanted: list[tuple[Column, str]] = []
        for column in self._visible_columns(request.get("columns")):
            kind = run_stats.summary_kind(column, self._column_type(column))
            wanted.append((column, kind))
        result = run_stats.summaries(self._runs, wanted)
        return {"generation": self.generation, "summaries": result}, []

    @rpc("groups")
    def _groups(self, request: dict[str, Any]) -> RpcReply:
        group_by = parse_column(str(request.get("group_by") or self.group_by))
        if group_by.entity == "metric" or group_by.key == "run_id":
            msg = f"cannot group by {group_by.name}: choose a param, a tag or an attribute"
            raise ValueError(msg)
        metrics = [c for c in self._visible_columns(request.get("columns")) if c.entity == "metric"]
        table, count = run_stats.groups(self._runs, group_by, metrics)
        reply = {"generation": self.generation, "groups": count, "count": table.num_rows}
        return reply, [arrow_ipc_bytes(table)]

    @rpc("detail")
    def _detail(self, request: dict[str, Any]) -> RpcReply:
        points = min(max(int(request.get("max_points", run_stats.SPARK_POINTS)), 2), 1000)
        detail, histories = run_stats.run_detail(self._runs, str(request["run_id"]), points)
        return detail, [arrow_ipc_bytes(histories)]

    @rpc("select")
    def _select(self, request: dict[str, Any]) -> RpcReply:
        # Ranges and "all" are resolved here: the front end holds only the pages it shows.
        if request.get("mode") == "range":
            start, stop = sorted((int(request["start"]), int(request["end"])))
            ids = self._runs.ids(start, stop + 1)
        else:
            ids = self._runs.ids()
        # Every run of `ids` is shown, so how many selected runs are shown follows.
        before = self.selected_ids
        if request.get("remove"):
            # Unselect these; the selected runs the filter hides stay selected.
            dropped = set(ids)
            kept = [i for i in before if i not in dropped]
            self._set_selection(kept, self.selected_shown - (len(before) - len(kept)))
        elif request.get("add"):
            seen = set(before)
            added = [i for i in ids if i not in seen]
            self._set_selection([*before, *added], self.selected_shown + len(added))
        else:
            self._set_selection(ids, len(ids))
        return {"count": len(self.selected_ids)}, []

    @rpc("copy")
    def _copy(self, request: dict[str, Any]) -> RpcReply:
        # The selected rows the table shows, with its visible columns, for a spreadsheet.
        columns = self._visible_columns(request.get("columns"))
        table = self._runs.rows_of(list(self.selected_ids), columns)
        types = {c.name: self._column_type(c) for c in columns}
        text = tsv(table, [c.name for c in columns], types)
        return {"text": text, "count": table.num_rows}, []

    @rpc("refresh")
    def _refresh(self, _request: dict[str, Any]) -> RpcReply:
        self.refresh()
        return {"total": self.total, "generation": self.generation}, []


def _filter_error(exc: FilterError, source: str) -> dict[str, Any]:
    return {"reason": exc.reason, "position": exc.position, "text": exc.text, "source": source}


def runs(
    experiment: object = None,
    filter: str | None = None,  # noqa: A002 - search_runs' word for it
    store: str | os.PathLike[str] | Client | Store | None = None,
    **traits: Any,  # noqa: ANN401 - further trait values (columns, sort, height, ...)
) -> RunTable:
    """A :class:`RunTable` of a store's runs.

    Parameters
    ----------
    experiment
        An experiment name or id, an ``Experiment``, or a list of them; None shows the
        runs of every experiment.
    filter
        A ``search_runs`` filter, e.g. ``"metrics.acc > 0.9"``.
    store
        A store folder or a ``Client``; None is the current store (``set_store``).
    **traits
        Initial ``columns``, ``sort``, ``group_by``, ``selected_ids`` or ``height``.

    Examples
    --------
    >>> table = canvasback.runs("digits-sgd", filter="metrics.val_acc > 0.9")  # doctest: +SKIP
    >>> table.selected  # the runs clicked in the table, as a DataFrame  # doctest: +SKIP

    """
    client = resolve_client(store)
    ids = experiment_ids(client, experiment)
    return RunTable(store=client, experiment_ids=ids, filter=filter or "", **traits)
