"""How a layer above the store declares its own tables and views; the store names none.

A layer that keeps data of its own in the store (the model registry does) gives a
:class:`Declaration` to :func:`declare`:

- ``tables``: its tables (:class:`~canvasback.store.schema.Table`), each a folder of
  segments like the store's own, written with ``Writer.append``, and merged by its
  natural key; whole tables (no ``run_column``) are read into memory whole, run-scoped
  ones stay on disk in a snapshot, as the store's own do;
- ``partition``: where its rows and its events are written (a name that starts with
  ``_``, so never an experiment id);
- ``event_kinds``: the kinds of its events, resolved last-writer-wins like every fact;
- ``views``: ``(name, SQL)`` over the catalog's named relations (``read/relations.py``)
  and the views made before them, made in this order when a catalog opens; a name
  that starts with ``_`` is the layer's own, every other is a public view, which
  ``canvasback.sql`` sees;
- ``keep_runs``: a SELECT of the run ids (its first column; NULLs are passed over)
  whose rows a purge of deleted runs keeps (the registry's: the runs that registered
  model versions come from).

Declarations, not a discovery of the folders on disk: merging a table's segments needs
its natural key and whether its rows belong to runs, which no file says. So the set of
declarations must be the same in every process that opens a store, and complete before
any catalog is made (:func:`tables` fixes it): a layer declares at import, and the
package root imports every layer that declares before any store can be opened
(importing ``canvasback.store`` runs it first). A folder that no declaration names is
left alone: no catalog reads it, no compaction merges or purges it, no snapshot holds it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from canvasback.store import layout
from canvasback.store.schema import CORE, EVENT_KINDS

if TYPE_CHECKING:
    from canvasback.store.schema import Table

# The store's own tables that name runs, listed before the declared ones, then the
# runs, then what runs name: see :func:`listing_order`.
_LISTED_FIRST: Final = ("params", "metrics", "events", "artifacts", "inputs")
_LISTED_LAST: Final = ("runs", "experiments")


@dataclass(frozen=True)
class Declaration:
    """What a layer above keeps in the store (see the module's docstring)."""

    name: str
    partition: str
    tables: tuple[Table, ...]
    event_kinds: frozenset[str] = frozenset()
    views: tuple[tuple[str, str], ...] = ()
    keep_runs: str | None = None

    def __post_init__(self) -> None:
        problems = [] if self.partition.startswith("_") else ["its partition must start with _"]
        if self.partition == layout.HEARTBEAT_PARTITION:
            problems.append(f"the partition {self.partition!r} is the writers'")
        problems += [f"table {t.name!r} has no natural key" for t in self.tables if not t.keys]
        if problems:
            msg = f"declaration {self.name!r}: {'; '.join(problems)}"
            raise ValueError(msg)


_DECLARED: dict[str, Declaration] = {}
_LOCK = threading.Lock()
_fixed = False  # a catalog or a compaction has read the declarations: no more may come


def declare(declaration: Declaration) -> None:
    """Add a layer's tables, events and views to every store this process opens.

    Declaring the same object again does nothing. A second declaration of a name, a
    table, a partition or an event kind that is already declared is refused, and so is
    any declaration once a catalog has been made in this process (it would read the
    store without it).
    """
    with _LOCK:
        if _DECLARED.get(declaration.name) is declaration:
            return
        clashes = _clashes(declaration)
        if clashes:
            msg = f"declaration {declaration.name!r} clashes: {'; '.join(clashes)}"
            raise ValueError(msg)
        if _fixed:
            msg = (
                f"declaration {declaration.name!r} comes after a store was read in this "
                "process; declare a layer's tables when it is imported"
            )
            raise RuntimeError(msg)
        _DECLARED[declaration.name] = declaration


def _clashes(new: Declaration) -> list[str]:
    others = list(_DECLARED.values())
    clashes = [f"a declaration named {new.name!r} exists"] if new.name in _DECLARED else []
    names = {t.name for t in CORE} | {t.name for d in others for t in d.tables}
    clashes += [f"table {t.name!r} exists" for t in new.tables if t.name in names]
    clashes += [
        f"partition {new.partition!r} is {d.name!r}'s"
        for d in others
        if d.partition == new.partition
    ]
    kinds = EVENT_KINDS.union(*(d.event_kinds for d in others))
    clashes += [f"event kind {k!r} exists" for k in sorted(new.event_kinds & kinds)]
    return clashes


def declared() -> tuple[Declaration, ...]:
    """Every declaration, in the order they were made."""
    return tuple(_DECLARED.values())


def tables() -> tuple[Table, ...]:
    """Every table: the store's own, then the declared ones; fixes the declarations."""
    global _fixed  # noqa: PLW0603  # once per process, under the lock
    with _LOCK:
        _fixed = True
        return (*CORE, *(t for d in _DECLARED.values() for t in d.tables))


def table(name: str) -> Table:
    """One table by name; ``KeyError`` names the tables there are."""
    for candidate in (*CORE, *(t for d in declared() for t in d.tables)):
        if candidate.name == name:
            return candidate
    known = ", ".join(t.name for t in (*CORE, *(t for d in declared() for t in d.tables)))
    msg = f"no table {name!r} in the store (tables: {known})"
    raise KeyError(msg)


def known(name: str) -> bool:
    """Whether a folder name is a table's."""
    return name in table_names()


def table_names() -> frozenset[str]:
    """The names of every table (without fixing the declarations)."""
    return frozenset(t.name for t in (*CORE, *(t for d in declared() for t in d.tables)))


def listing_order() -> tuple[str, ...]:
    """The order a reader lists the tables in, all before it loads any.

    Rows that name a run (or an experiment) are listed before the table of the runs
    (experiments) they name: a run's row goes out in its first flush, so a reader that
    sees a run's params, tags or metrics sees the run too, unless that flush wrote them
    before the run's row (a snapshot then lists the run as one it holds rows of but no
    row). A declaration lists a table before the tables that name it; they are listed
    in the reverse order, after the store's tables that name runs.
    """
    declared_tables = [t.name for d in declared() for t in d.tables]
    return (*_LISTED_FIRST, *reversed(declared_tables), *_LISTED_LAST)


def listing_phases() -> tuple[tuple[str, ...], ...]:
    """:func:`listing_order` in steps: the tables of one step may be listed at once.

    The store's tables that name runs name nothing else, and no table names the first
    declared one in the order (it comes before the tables it names): they go together,
    first; then each of the others alone, in order. A store on object storage lists a
    step's tables in parallel (each a round trip to the server).
    """
    order = listing_order()
    first = len(_LISTED_FIRST) + (len(order) > len(_LISTED_FIRST) + len(_LISTED_LAST))
    return (order[:first], *((t,) for t in order[first:]))


def views() -> tuple[tuple[str, str], ...]:
    """Every declared view, ``(name, SQL)``, in the order they are made."""
    return tuple(v for d in declared() for v in d.views)


def keep_runs() -> tuple[str, ...]:
    """SELECTs of the run ids a purge of deleted runs keeps."""
    return tuple(d.keep_runs for d in declared() if d.keep_runs)
