"""The read catalog: what a fresh process sees, reads from several threads at once."""

from __future__ import annotations

import json
import threading

import pytest
from tests.store.segment_files import VIEW_QUERIES, fill, snapshot

import canvasback


def test_a_fresh_process_sees_everything(store, run_python):
    ids = fill(runs=3, steps=10)
    with canvasback.start_run(run_name="unflushed-at-read") as run:
        canvasback.log_metric("loss", 5.0, step=99)
    canvasback.delete_run(ids[0])
    canvasback.flush()
    expected = snapshot(canvasback.sql)
    result = run_python(
        """
        import json, sys
        import canvasback as cb

        cb.set_store(sys.argv[1])
        queries = json.loads(sys.argv[2])
        print(json.dumps({k: [list(r) for r in cb.sql(q).fetchall()] for k, q in queries.items()}))
        """,
        store,
        json.dumps(VIEW_QUERIES),
    )
    seen = {
        name: sorted((tuple(r) for r in rows), key=lambda r: tuple(map(str, r)))
        for name, rows in json.loads(result.stdout).items()
    }
    assert seen == expected
    assert run.run_id in {r[0] for r in seen["runs"]}
    deleted = [r for r in seen["runs"] if r[0] == ids[0]]
    assert deleted[0][6] == "deleted"


@pytest.mark.usefixtures("store")
def test_sql_in_one_thread_while_another_reads():
    """A notebook reads from several threads (widgets, the cell): the catalog must cope."""
    run = canvasback.start_run()
    errors: list[BaseException] = []
    done = threading.Event()

    def query_loop():
        while not done.is_set():
            try:
                canvasback.sql("SELECT count(*) FROM metrics").fetchall()
            except Exception as exc:  # noqa: BLE001  # collected and asserted on below
                errors.append(exc)
                return

    thread = threading.Thread(target=query_loop)
    thread.start()
    try:
        for step in range(150):
            canvasback.log_metric("m", float(step), step=step)
            assert canvasback.get_run(run.run_id).data.metrics == {"m": float(step)}
    finally:
        done.set()
        thread.join()
    assert errors == []
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(150,)]
