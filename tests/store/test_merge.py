"""Merging new files into the catalog: a file loaded twice changes nothing."""

from __future__ import annotations

from tests.store.test_snapshots import log_runs, read, state

import canvasback


def test_a_compacted_file_partly_in_the_snapshot_adds_only_the_rows_it_lacks(store):
    log_runs(3)
    canvasback.compact(grace_seconds=0)
    catalog = read(store)
    epoch = catalog.wide_epoch
    log_runs(2, start=3)
    # Compacted with the snapshot's files; the new runs' files stay for the grace period.
    canvasback.compact(grace_seconds=300, snapshot=False)
    catalog.refresh()
    # The snapshot's runs were not touched: no row of theirs was merged again.
    assert catalog.wide_epoch == epoch
    assert state(catalog) == state(read(store, use_snapshots=False))
    assert len(state(catalog)["runs"]) == 5
