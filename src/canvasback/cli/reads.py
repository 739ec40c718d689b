"""Reading a store from the terminal: ``runs``, ``sql`` and ``models``, as rich tables.

``runs`` filters and orders as ``search_runs`` (the same grammar, parsed, never pasted
into SQL); ``sql`` runs a query under ``canvasback.sql``'s rules (read-only: a statement
that writes a file or changes a setting is refused); ``models`` lists the registry.
None of them writes to the store.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

import click

from canvasback.cli import tables
from canvasback.cli.stores import Refused, store_folder, store_option
from canvasback.exceptions import MlflowException

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pyarrow as pa

    from canvasback._config import StoreAddress
    from canvasback.registry import Client as RegistryClient
    from canvasback.registry.entities import ModelVersion
    from canvasback.tracking.client import Client

F = TypeVar("F", bound="Callable[..., object]")

_ALL: Final = 100_000  # every model and version a registry holds, in one page
SHOWN_RUNS: Final = 100  # rows a terminal table shows unless --max says otherwise
EXPERIMENT: Final = "experiment"  # the column of experiment names the runs table adds


def first_line(exc: BaseException) -> str:
    """An error's message, its first line (a filter error's caret line stays out)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_selection(max_default: int | None) -> Callable[[F], F]:
    """The options that choose runs, as ``search_runs`` takes them."""
    upto = f"at most N runs (default {max_default})" if max_default else "at most N runs"

    def decorate(command: F) -> F:
        for option in reversed(
            [
                click.option(
                    "-x",
                    "--experiment",
                    "experiments",
                    multiple=True,
                    metavar="NAME",
                    help="An experiment's name or id; repeat for several (default: all).",
                ),
                click.option(
                    "-f",
                    "--filter",
                    "filter_string",
                    default=None,
                    metavar="FILTER",
                    help="search_runs' filter: \"metrics.acc > 0.9 and params.lr = '0.01'\".",
                ),
                click.option(
                    "-o",
                    "--order-by",
                    "order_by",
                    multiple=True,
                    metavar="KEY",
                    help='"metrics.acc DESC"; repeat for ties (default: newest first).',
                ),
                click.option(
                    "-n", "--max", "max_results", type=int, default=max_default, help=upto
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


@dataclass(frozen=True)
class Selection:
    """Runs chosen from a store, with their experiments' names, and whether more matched."""

    table: pa.Table
    experiment_names: dict[str, str]
    more: bool


def select_runs(
    client: Client,
    experiments: Sequence[str],
    filter_string: str | None,
    order_by: Sequence[str],
    max_results: int | None,
) -> Selection:
    """The runs the options choose (one more than ``max_results``, to tell if more match)."""
    from canvasback import query  # noqa: PLC0415
    from canvasback.store import schema  # noqa: PLC0415

    known = query.search_experiments(client.store.read(), client.store.address, view="ALL")
    names = {str(e["experiment_id"]): str(e["name"]) for e in known}
    ids = [_experiment_id(client, value, names) for value in experiments] or list(names)
    if max_results is not None and max_results < 0:
        msg = f"--max {max_results}: a count of runs, 0 or more"
        raise Refused(msg)
    limit = schema.INT64_MAX if max_results is None else max_results + 1
    try:
        table = client.search_runs_table(
            ids, filter_string=filter_string, order_by=list(order_by) or None, max_results=limit
        )
    except MlflowException as exc:
        raise Refused(first_line(exc)) from None
    more = max_results is not None and table.num_rows > max_results
    return Selection(table.slice(0, max_results) if more else table, names, more)


def _experiment_id(client: Client, value: str, names: dict[str, str]) -> str:
    by_name = {name: experiment_id for experiment_id, name in names.items()}
    if value in by_name:
        return by_name[value]
    if value in names:
        return value
    listed = ", ".join(repr(n) for n in sorted(by_name)) or "none"
    msg = f"no experiment named {value!r} in store {client.store.url!r} (it has {listed})"
    raise Refused(msg)


@click.command(short_help="List runs, filtered and ordered as search_runs.")
@run_selection(SHOWN_RUNS)
@click.option(
    "-c",
    "--columns",
    default=None,
    metavar="A,B,...",
    help="The columns to show, e.g. run_name,metrics.acc,params.lr "
    "(default: id, name, experiment, status, start time, metrics and params).",
)
@store_option(create=False)
def runs(
    experiments: tuple[str, ...],
    filter_string: str | None,
    order_by: tuple[str, ...],
    max_results: int,
    columns: str | None,
    store: str | None,
) -> int:
    """List a store's runs as a table, filtered and ordered as search_runs does.

    \b
    canvasback runs -x digits-sgd -o "metrics.val_acc DESC" -n 5
    canvasback runs -f "params.alpha < 0.001 and status = 'FINISHED'" -c run_name,metrics.val_acc
    """  # noqa: D301  # \b is click's mark for a paragraph kept as written
    from canvasback.tracking.client import Client  # noqa: PLC0415

    root = store_folder(store, create=False)
    chosen = select_runs(Client(root), experiments, filter_string, order_by, max_results)
    table = chosen.table
    ids = table.column("experiment_id").to_pylist()
    shown = {EXPERIMENT: [chosen.experiment_names.get(i, i) for i in ids]}
    available = [EXPERIMENT, *table.column_names]
    names = _columns(columns, table.column_names, available, experiments=len(set(ids)))
    values = {**table.to_pydict(), **shown}
    numeric = [
        n.startswith("metrics.") or (n in table.column_names and _is_number(table, n))
        for n in names
    ]
    rows = list(zip(*(values[n] for n in names), strict=True)) if names else []
    count = f"{len(rows)} run{'s' * (len(rows) != 1)}"
    caption = f"{count}; more match (raise --max)" if chosen.more else count
    tables.show(names, rows, title=f"Runs in {root}", caption=caption, numeric=numeric)
    return 0


def _is_number(table: pa.Table, name: str) -> bool:
    import pyarrow as pa  # noqa: PLC0415

    kind = table.schema.field(name).type
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _columns(
    asked: str | None, present: list[str], available: list[str], *, experiments: int
) -> list[str]:
    """The columns asked for (each one a column the runs have), or the default ones.

    By default: the run's id, name and status, its metrics and params, its start; and
    its experiment's name when the runs come from more than one.
    """
    if asked is None:
        keys = [c for c in present if c.startswith(("metrics.", "params."))]
        where = [EXPERIMENT] if experiments > 1 else []
        return ["run_id", "run_name", *where, "status", *keys, "start_time"]
    names = [c.strip() for c in asked.split(",") if c.strip()]
    missing = [c for c in names if c not in available]
    if missing or not names:
        what = f"no column {missing[0]!r}" if missing else "no column named"
        msg = f"--columns {asked!r}: {what}; the runs have {', '.join(available)}"
        raise Refused(msg)
    return names


@click.command(short_help="Query the store in read-only SQL; print the rows.")
@click.argument("query", metavar="QUERY")
@click.option("-n", "--max", "max_rows", type=int, default=SHOWN_RUNS, help="At most N rows.")
@store_option(create=False)
def sql(query: str, max_rows: int, store: str | None) -> int:
    """Run QUERY, DuckDB SQL, over the store's views and print its rows as a table.

    The views are canvasback.sql's: runs, params, metrics, latest_metrics, tags,
    experiments, experiment_tags, artifacts, datasets, and the registry's
    (registered_models, model_versions, aliases, ...). The same rules hold: queries
    read any file you can, and a statement that writes a file, loads an extension or
    changes a setting (COPY, ATTACH, INSTALL, SET, ...) is refused.

    \b
    canvasback sql "SELECT key, max(value) FROM latest_metrics GROUP BY key"
    """  # noqa: D301  # \b is click's mark for a paragraph kept as written
    import duckdb  # noqa: PLC0415

    from canvasback.tracking.client import Client  # noqa: PLC0415

    root = store_folder(store, create=False)
    if max_rows < 0:
        msg = f"--max {max_rows}: a count of rows, 0 or more"
        raise Refused(msg)
    try:
        relation = Client(root).sql(query)
        table = relation.limit(max_rows + 1).to_arrow_table() if relation is not None else None
    except (MlflowException, duckdb.Error) as exc:
        raise Refused(first_line(exc)) from None
    if table is None:  # a statement with no rows to show (SET VARIABLE ...)
        return 0
    more = table.num_rows > max_rows
    count = f"{min(table.num_rows, max_rows)} row{'s' * (table.num_rows != 1)}"
    tables.show_arrow(
        table.slice(0, max_rows), caption=f"{count}; more (raise --max)" if more else count
    )
    return 0


@click.command(short_help="List registered models, or one model's versions.")
@click.argument("name", required=False, metavar="[NAME]")
@store_option(create=False)
def models(name: str | None, store: str | None) -> int:
    """List the registry's models (latest version, aliases), or the versions of NAME.

    \b
    canvasback models
    canvasback models digits
    """  # noqa: D301  # \b is click's mark for a paragraph kept as written
    from canvasback.registry import Client  # noqa: PLC0415

    root = store_folder(store, create=False)
    client = Client(root)
    if name is None:
        _show_models(client, root)
    else:
        _show_versions(client, name)
    return 0


def _show_models(client: RegistryClient, root: StoreAddress) -> None:
    found = client.search_registered_models(max_results=_ALL)
    if not found:
        click.echo(f"No registered models in {root}.")
        return
    counts = Counter(v.name for v in client.search_model_versions(max_results=_ALL))
    rows: list[tuple[object, ...]] = [
        (
            m.name,
            counts[m.name],
            max((int(v.version) for v in m.latest_versions), default=None),
            _aliases(m.aliases),
            m.description,
            _time(m.last_updated_timestamp or m.creation_timestamp),
        )
        for m in found
    ]
    columns = ["name", "versions", "latest", "aliases", "description", "updated"]
    numeric = [c in {"versions", "latest"} for c in columns]
    tables.show(columns, rows, title=f"Registered models in {root}", numeric=numeric)


def _show_versions(client: RegistryClient, name: str) -> None:
    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        raise Refused(first_line(exc)) from None
    quoted = name.replace("'", "''")  # the filter grammar's own quoting: parsed, not pasted
    versions = client.search_model_versions(f"name = '{quoted}'", max_results=_ALL)
    rows = [_version_row(v) for v in versions]
    columns = ["version", "aliases", "stage", "status", "run_id", "created", "description"]
    title = f"{model.name}: {model.description}" if model.description else model.name
    tables.show(columns, rows, title=title, numeric=[c == "version" for c in columns])


def _version_row(v: ModelVersion) -> tuple[object, ...]:
    return (
        int(v.version),
        ", ".join(f"@{a}" for a in sorted(v.aliases)),
        v.current_stage,
        v.status,
        v.run_id,
        _time(v.creation_timestamp),
        v.description,
    )


def _aliases(aliases: dict[str, str]) -> str:
    return ", ".join(f"@{alias}: {version}" for alias, version in sorted(aliases.items()))


def _time(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
