"""The SQL each query function sends, compared with its snapshot in ``snapshots/``.

Each case calls functions of ``canvasback.query`` on the small store of ``conftest.py``
(fixed run ids, names, times and values) and records every statement they send the
catalog, with its parameters: the catalog logs them at DEBUG on
``canvasback.store.read.statements``. The record is compared with
``tests/query/snapshots/<case>.sql``, so that any change to a query shows in review as
a change to its snapshot.

After a deliberate change, write the snapshots again and review their diff with it::

    CANVASBACK_UPDATE_SNAPSHOTS=1 python -m pytest tests/query/test_sql_snapshots.py

Without the variable a missing or different snapshot fails, and so does a snapshot
that no case writes. A snapshot holds the SQL as sent, but for what differs from one
store to the next, written as a name: the wide run table's key columns (``k0``, ``k1``,
... numbered as keys are found) as ``{metrics.acc}``, a run set's order table as
``<order>``, and the store's files as ``<files>``.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import logging
import os
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from canvasback import query
from canvasback.query import downsample, experiment_search, run_stats
from canvasback.query.filter import parse_filter
from canvasback.query.run_set import RunSet, SortKey, parse_column
from canvasback.store.read.cursors import STATEMENTS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("CANVASBACK_UPDATE_SNAPSHOTS") == "1"

CASES: dict[str, Callable[..., Callable[[], object]]] = {}


def case(prepare: Callable[..., Callable[[], object]]) -> Callable[..., Callable[[], object]]:
    """A case: takes the fixture it names (the store, or a run set over it), returns the
    calls to record."""
    CASES[prepare.__name__] = prepare
    return prepare


# -- the cases: each prepares what its calls need, and returns the calls ---------------
@case
def search_runs_with_a_filter_and_order_by(logged):
    """search_runs: a filter with OR and parentheses, two sort keys, a page of 10."""
    catalog = logged.catalog()
    return lambda: query.search_runs(
        catalog,
        logged.root,
        experiment_ids=[logged.EXPERIMENT],
        filter_string="metrics.acc > 0.5 and (params.opt = 'adam' or tags.team LIKE 'n%')",
        run_view_type="ACTIVE_ONLY",
        max_results=10,
        order_by=["metrics.loss DESC", "params.lr"],
    )


@case
def select_runs_by_dataset_and_status(logged):
    """select_runs: every experiment and lifecycle, a dataset filter, a page at offset 1."""
    catalog = logged.catalog()
    return lambda: query.select_runs(
        catalog,
        experiment_ids=None,
        filter_string="datasets.context = 'train' or status != 'FINISHED'",
        run_view_type="ALL",
        order_by=["start_time", "tags.team DESC"],
        limit=2,
        offset=1,
    )


@case
def runs_frame_of_given_runs(logged):
    """runs_frame: given runs, in the order given."""
    catalog = logged.catalog()
    return lambda: query.runs_frame(catalog, logged.root, ["run-b", "run-a"])


@case
def search_experiments_by_name_and_tags(logged):
    """search_experiments: attributes and two tag keys (two joins), ordered, limited."""
    catalog = logged.catalog()
    return lambda: query.search_experiments(
        catalog,
        logged.root,
        view="ALL",
        filter_string="name LIKE 'q%' and tags.owner = 'ana' or tags.team IS NULL",
        order_by=["tags.owner DESC", "last_update_time"],
        max_results=5,
    )


@case
def an_experiment_s_row_and_events(logged):
    """experiment_written, experiment_changes."""
    catalog = logged.catalog()

    def calls() -> object:
        return (
            experiment_search.experiment_written(catalog, logged.EXPERIMENT),
            experiment_search.experiment_changes(catalog, logged.EXPERIMENT),
        )

    return calls


@case
def a_run_s_reads(logged):
    """run_info, run_data, run_experiment, metric_history, latest_metric_rows, rows in files."""
    catalog = logged.catalog()
    paths = catalog.metric_paths_for_run("run-a")

    def calls() -> object:
        return (
            query.run_info(catalog, "run-a", logged.root),
            query.run_data(catalog, "run-a"),
            query.run_experiment(catalog, "run-a"),
            query.metric_history(catalog, "run-a", "acc", logged.EXPERIMENT),
            query.latest_metric_rows(catalog, "run-a"),
            query.metric_rows_in_files(catalog, paths, "run-a", ["loss"]),
        )

    return calls


@case
def what_exists(logged):
    """existing_run_ids, experiment_ids, runs_with_tag, runs_with_artifact."""
    catalog = logged.catalog()

    def calls() -> object:
        return (
            query.existing_run_ids(catalog, ["run-a", "nope"]),
            query.experiment_ids(catalog),
            query.runs_with_tag(catalog, ["run-a", "run-b"], "team"),
            query.runs_with_artifact(catalog, ["run-a", "run-b"], "roc_curve_plot.json"),
        )

    return calls


@pytest.fixture
def run_set(logged):
    runs = RunSet(logged.store)
    runs.refresh()
    runs.load([logged.EXPERIMENT])
    yield runs
    runs.close()


@case
def a_run_set_rebuilt_and_paged(run_set):
    """RunSet: rebuilt with a filter and two sort keys, then ids, a page, rows by id."""
    columns = [parse_column(n) for n in ("run_name", "metrics.acc", "params.lr", "tags.none")]

    def calls() -> object:
        run_set.rebuild(
            parse_filter("metrics.acc >= 0.5 and params.opt = 'adam'"),
            [
                SortKey(parse_column("params.lr"), descending=True),
                SortKey(parse_column("run_name"), descending=False),
            ],
        )
        return (
            run_set.ids(0, 2),
            run_set.page(0, 2, columns),
            run_set.order_of(["run-c", "run-b"]),
            run_set.rows_of(["run-c"], columns),
        )

    return calls


@case
def the_newest_runs_of_a_sorted_run_set(run_set):
    """RunSet.newest: the newest runs that pass the filter, whatever the sort."""
    by_name = SortKey(parse_column("run_name"), descending=False)
    run_set.rebuild(parse_filter("params.opt = 'adam'"), [by_name])
    return lambda: run_set.newest(2)


@case
def the_columns_a_run_set_could_show(run_set):
    """RunSet.available: every key column, counted and typed in one scan."""
    return lambda: run_set.available(run_set.scope)


@case
def header_summaries(run_set):
    """run_stats.summaries: histograms, top values, a numeric param with few values."""
    run_set.rebuild(None, [])
    kinds = [
        (parse_column("metrics.acc"), "histogram"),
        (parse_column("start_time"), "histogram"),
        (parse_column("params.lr"), "histogram"),
        (parse_column("params.opt"), "top"),
    ]
    return lambda: run_stats.summaries(run_set, kinds)


@case
def groups_with_metric_statistics(run_set):
    """run_stats.groups: by a param, min/mean/max of two metrics."""
    run_set.rebuild(parse_filter("status != 'KILLED'"), [])
    metrics = [parse_column("metrics.acc"), parse_column("metrics.loss")]
    return lambda: run_stats.groups(run_set, parse_column("params.opt"), metrics)


@case
def a_run_s_detail(run_set):
    """run_stats.run_detail: attributes, params, tags, metrics, artifacts, datasets, and
    the sparklines' downsampled histories."""
    return lambda: run_stats.run_detail(run_set, "run-a")


@case
def a_metric_history_downsampled(logged):
    """downsample: two runs, two keys, relative time, a zoomed range."""
    catalog = logged.catalog()
    return lambda: downsample.downsample(
        catalog,
        ["run-a", "run-b"],
        ["acc", "loss"],
        x="relative_time",
        max_points=64,
        x_range=(0.0, 1.0),
    )


# -- recording and comparing -----------------------------------------------------------
class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        sql, params = record.args  # type: ignore[misc]
        self.statements.append((sql, params))


@contextlib.contextmanager
def recorded() -> Iterator[list[tuple[str, object]]]:
    """The statements sent to any catalog while the block runs."""
    recorder, level = _Recorder(), STATEMENTS.level
    STATEMENTS.addHandler(recorder)
    STATEMENTS.setLevel(logging.DEBUG)
    try:
        yield recorder.statements
    finally:
        STATEMENTS.removeHandler(recorder)
        STATEMENTS.setLevel(level)


def _names(logged, run_set: RunSet | None) -> list[tuple[re.Pattern[str], str]]:
    """What differs between stores, and the name a snapshot gives it."""
    catalog = logged.catalog()
    columns = {catalog.key_column(name): name for name in catalog.key_columns()}
    names = [(re.compile(rf"\b{re.escape(c)}\b"), f"{{{n}}}") for c, n in columns.items() if c]
    if run_set is not None:
        names.append((re.compile(re.escape(run_set.order)), "<order>"))
    store_file = re.escape(str(logged.root)) + r"[^']*"
    names.append((re.compile(rf"'{store_file}'(?:, '{store_file}')*"), "<files>"))
    return names


def render(
    doc: str, statements: list[tuple[str, object]], names: list[tuple[re.Pattern[str], str]]
) -> str:
    lines = [f"-- {line}".rstrip() for line in textwrap.dedent(doc).strip().splitlines()]
    for i, (sql, params) in enumerate(statements, 1):
        lines += [
            "",
            f"-- statement {i} of {len(statements)}",
            textwrap.dedent(sql).strip(),
            f"-- parameters: {params!r}",
        ]
    text = "\n".join(lines) + "\n"
    for pattern, name in names:
        text = pattern.sub(name, text)
    return text


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_sql_of_each_query_function_is_its_snapshot(name, logged, request):
    prepare = CASES[name]
    (fixture,) = inspect.signature(prepare).parameters
    given = request.getfixturevalue(fixture)
    run_set = given if isinstance(given, RunSet) else None
    calls = prepare(given)
    with recorded() as statements:
        calls()
    assert statements, f"{name} sent no statement"
    text = render(prepare.__doc__ or name, statements, _names(logged, run_set))
    path = SNAPSHOTS / f"{name}.sql"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
        return
    assert path.is_file(), (
        f"no snapshot {path.name}: write it with CANVASBACK_UPDATE_SNAPSHOTS=1, then review it"
    )
    stored = path.read_text()
    diff = "".join(
        difflib.unified_diff(
            stored.splitlines(keepends=True),
            text.splitlines(keepends=True),
            f"snapshots/{path.name}",
            "now",
        )
    )
    assert text == stored, (
        f"the SQL of {name} changed; if that is meant, run with CANVASBACK_UPDATE_SNAPSHOTS=1 "
        f"and review the diff of tests/query/snapshots/:\n{diff}"
    )


def test_every_snapshot_has_its_case():
    stale = sorted(p.stem for p in SNAPSHOTS.glob("*.sql") if p.stem not in CASES)
    assert not stale, f"snapshots no case writes (delete them): {stale}"
