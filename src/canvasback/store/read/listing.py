"""What a refresh lists: every table's changes, in the order that keeps a run with its rows.

Tables are listed before any is loaded, those whose rows name runs before the runs
(``declarations.listing_order``): a reader that sees a run's params or tags then sees
its ``runs`` row too, unless its writer wrote that row later. On a local disk a
listing is a few stats, and the steps go one after another (:func:`in_order`).

On object storage each listing is a round trip, so every table is listed at once
(:func:`at_once`), beside the snapshots' manifests. The order's promise needs a step's
tables listed only after the steps before it had answered when those steps found
something new: then the steps after the first that changed are listed again, one
after another. A reader of a store that did not change since its last refresh (a warm
search) so waits for one round trip, and one that finds new files for as many as the
order has steps, as before.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from canvasback.store import declarations
from canvasback.store.read.segments import Changes

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from canvasback.store.read.segments import TableIndex


def in_order(
    indexes: Mapping[str, TableIndex],
    offer_again: Callable[[dict[str, Changes]], None],
    only: Collection[str] | None = None,
) -> dict[str, Changes]:
    """Every table's changes (``only``: of those tables), listed one after another in order.

    If a listing fails, the changes found before it go to ``offer_again``.
    """
    listed: dict[str, Changes] = {}
    try:
        for table in declarations.listing_order():
            if only is not None and table not in only:
                continue
            listed[table] = indexes[table].refresh()
    except BaseException:
        offer_again(listed)
        raise
    return listed


def at_once(
    indexes: Mapping[str, TableIndex],
    pool: ThreadPoolExecutor,
    offer_again: Callable[[dict[str, Changes]], None],
    only: Collection[str] | None = None,
) -> dict[str, Changes]:
    """Every table's changes, listed at once; the steps after a change listed again in order.

    ``only``: of those tables alone (the order between them is kept). ``pool`` has a
    thread for every table (and more for work beside it). If a listing fails, the
    changes the others found go to ``offer_again`` (the next refresh must find them)
    and the first error is raised, once every listing has ended.
    """
    phases = [
        kept
        for phase in declarations.listing_phases()
        if (kept := tuple(t for t in phase if only is None or t in only))
    ]
    listed = _listed(indexes, pool, [t for phase in phases for t in phase], offer_again)
    changed = next((i for i, phase in enumerate(phases) if any(listed[t] for t in phase)), None)
    if changed is None:
        return listed
    try:
        for phase in phases[changed + 1 :]:
            again = _listed(indexes, pool, phase, offer_again)
            for table, changes in again.items():
                listed[table] = then(listed[table], changes)
    except BaseException:
        offer_again(listed)
        raise
    return listed


def _listed(
    indexes: Mapping[str, TableIndex],
    pool: ThreadPoolExecutor,
    tables: Sequence[str],
    offer_again: Callable[[dict[str, Changes]], None],
) -> dict[str, Changes]:
    futures: list[Future[Changes]] = [pool.submit(indexes[t].refresh) for t in tables]
    wait(futures)  # each table's listing ends, whether another's fails or not
    done = zip(tables, futures, strict=True)
    listed = {t: f.result() for t, f in done if f.exception() is None}
    if len(listed) < len(tables):
        offer_again(listed)
        for future in futures:
            future.result()  # raises the first listing's error
    return listed


def then(first: Changes, later: Changes) -> Changes:
    """The changes of two listings of one table, one after the other, as one.

    A file that came in the first and went in the later (or went, then came back) did
    not change for a reader that applies both at once.
    """
    new = [r for r in first.new if r not in later.gone]
    new += [r for r in later.new if r not in first.gone]
    gone = [r for r in first.gone if r not in later.new]
    gone += [r for r in later.gone if r not in first.new]
    return Changes(new, gone, {**first.sidecars, **later.sidecars})
