"""Nothing logged is lost silently: unwritable values, forked workers, refused stores.

Every test runs on a real store on disk (Parquet files, DuckDB, child processes). Where
a test needs a store the writer may not write to, or a file the reader may not open, a
child process drops its privileges to ``nobody`` when it runs as root (root ignores
file modes), else it takes them away with chmod.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import canvasback
from canvasback.store import layout, open_store
from canvasback.store.read.catalog import CorruptSegmentWarning
from canvasback.store.write import spill
from canvasback.store.write.arrow_rows import rows_to_table
from canvasback.store.write.lifecycle import EXIT_SPILLED

# A child process prelude: become a user without write access to root-owned files.
DROP_PRIVILEGES = """
import os
import pwd

def drop_privileges(read_only_tree=None):
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    elif read_only_tree is not None:  # not root: modes are enforced, take write away
        for folder, _dirs, _files in os.walk(read_only_tree):
            os.chmod(folder, 0o555)
"""


@pytest.fixture
def shared_dir():
    """A folder every user can enter (tmp_path is private to the test's user)."""
    folder = Path(tempfile.mkdtemp(prefix="canvasback-durability-"))
    folder.chmod(0o755)
    yield folder
    for path, _dirs, _files in os.walk(folder):
        Path(path).chmod(0o777)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def cache_dir(shared_dir, monkeypatch):
    """The user cache (spill folders go there), writable by the unprivileged child."""
    cache = shared_dir / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CANVASBACK_STORE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(script: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(),
    )


def _script(folder: Path, name: str, code: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(code))
    path.chmod(0o644)
    return path


def _metric_rows_on_disk(root: Path) -> list[tuple[str, int, float]]:
    """Every (key, step, value) of every live metrics file: duplicates show up twice."""
    out: list[tuple[str, int, float]] = []
    for path in sorted((root / "metrics").rglob("*.parquet")):
        if layout.is_data_file(path.name):
            t = pq.read_table(path)
            out += zip(
                t["key"].to_pylist(), t["step"].to_pylist(), t["value"].to_pylist(), strict=True
            )
    return sorted(out)


# -- A: one unwritable value --------------------------------------------------------------
def test_an_unwritable_row_is_set_aside_and_every_other_row_written(store, cache_dir):
    """Rows that passed no validation (written straight to the writer) and cannot be
    stored must not hold back the rows flushed with them, nor later flushes."""
    store = open_store(store)
    writer = store.writer
    writer.append("params", "0", ("run-a", "good", "1", 1))
    writer.append("params", "0", ("run-a", "bad", "\ud800", 2))
    writer.append("params", "0", ("run-a", "good2", "2", 3))
    writer.append("runs", "0", ("run-a", "name", 2**64, None, "me", "file:///x"))
    writer.append("metrics", "0", ("run-a", "m", 0, 1, 0.5))
    with pytest.warns(spill.SpilledRowsWarning) as record:
        store.flush()
    messages = " | ".join(str(w.message) for w in record)
    assert "1 row(s) of table 'params'" in messages
    assert "1 row(s) of table 'runs'" in messages
    assert str(cache_dir) in messages
    catalog = store.read()
    assert sorted(catalog.rows("SELECT key, value FROM params")) == [("good", "1"), ("good2", "2")]
    assert catalog.rows("SELECT count(*) FROM metrics") == [(1,)]
    assert writer.pending == 0
    # Later flushes of the same tables are not blocked.
    writer.append("params", "0", ("run-a", "later", "3", 4))
    store.flush()
    assert ("later", "3") in store.read().rows("SELECT key, value FROM params")
    # The set-aside rows are kept, losslessly, where the warning said.
    kept = sorted(cache_dir.rglob("*.jsonl"))
    assert len(kept) == 2
    params_file = next(p for p in kept if "/params/" in p.as_posix())
    assert "\\ud800" in params_file.read_text()
    report = spill.replay(store.fs, rows_to_table)
    assert report.remaining_rows == 2  # still unwritable: kept, not dropped
    assert params_file.exists()


def test_a_row_parquet_cannot_hold_does_not_lose_the_tables_other_rows(store, cache_dir):  # noqa: ARG001  # a fresh store
    """The API refuses such values; a row that slips past it is set aside, alone."""
    client = canvasback.Client()
    experiment_id = client.create_experiment("bounds")
    ok = client.create_run(experiment_id, run_name="fine")
    with pytest.raises(canvasback.InvalidInputError, match="start_time"):
        client.create_run(experiment_id, run_name="too-late", start_time=2**64)
    # Written below the API's checks, as a value those checks did not foresee would be.
    bad_row = ("0" * 32, "too-late", 2**64, None, "someone", "artifacts/" + "0" * 32)
    client.store.writer.append("runs", experiment_id, bad_row)
    client.log_metric(ok.info.run_id, "m", 1.0)
    client.log_param(ok.info.run_id, "p", "x")
    with pytest.warns(spill.SpilledRowsWarning, match="of table 'runs'"):
        canvasback.flush()
    rows = canvasback.sql("SELECT run_id FROM runs").fetchall()
    assert rows == [(ok.info.run_id,)]
    assert canvasback.get_metric_history(ok.info.run_id, "m")["value"].tolist() == [1.0]
    assert canvasback.sql("SELECT value FROM params").fetchall() == [("x",)]
    assert any("too-late" in p.read_text() for p in cache_dir.rglob("*.jsonl"))


# -- B: multiprocessing workers that leave through os._exit ---------------------------------
FORK_SCRIPT = """
import multiprocessing as mp
import sys

import canvasback as cb

root = sys.argv[1]
cb.set_store(root)
with cb.start_run(run_name="parent") as run:
    cb.log_metric("seed", 0.0)
run_id = run.run_id
cb.flush()


def resume_and_log():
    with cb.start_run(run_id=run_id):
        for step in range(1000):
            cb.log_metric("loss", float(step), step=step)


def one_point_in_run(i):
    cb.Client().log_metric(run_id, "pool", float(i), step=i)
    return i


ctx = mp.get_context("fork")
p = ctx.Process(target=resume_and_log)
p.start()
p.join()
print("process exit", p.exitcode)
with ctx.Pool(4) as pool:  # __exit__ terminates the workers
    print("results", len(pool.map(one_point_in_run, range(40))))
print("history", len(cb.get_metric_history(run_id, "loss")))
print("pool", len(cb.get_metric_history(run_id, "pool")))
"""


def test_fork_workers_keep_what_they_log(store, run_python):
    result = run_python(FORK_SCRIPT, store)
    lines = result.stdout.splitlines()
    assert "process exit 0" in lines
    assert "results 40" in lines
    assert "history 1000" in lines, result.stderr
    assert "pool 40" in lines, result.stderr
    steps = sorted(s for key, s, _v in _metric_rows_on_disk(store) if key == "pool")
    assert steps == list(range(40))  # each exactly once


# -- C: a store that refuses the last flush -----------------------------------------------
READ_ONLY_SCRIPT = (
    DROP_PRIVILEGES
    + """
import sys
import canvasback as cb

root = sys.argv[1]
cb.set_store(root)
run = cb.start_run(run_name="doomed")
cb.log_param("lr", "0.1")
cb.flush()
print(run.run_id, flush=True)
drop_privileges(read_only_tree=root)
for step in range(500):
    cb.log_metric("loss", float(step), step=step)
cb.end_run()
"""
)


@pytest.mark.slow
def test_a_read_only_store_keeps_the_rows_and_fails_the_script(shared_dir, cache_dir):
    root = shared_dir / "store"
    script = _script(shared_dir, "read_only.py", READ_ONLY_SCRIPT)
    result = _run(script, root)
    assert result.returncode == EXIT_SPILLED, result.stderr
    run_id = result.stdout.split()[0]
    assert "could not be written to the store" in result.stderr
    assert "502 row(s)" in result.stderr  # 500 metric rows, the status and end-time events
    assert str(cache_dir) in result.stderr
    assert _metric_rows_on_disk(root) == []
    for folder, _dirs, _files in os.walk(root):  # writable again (the non-root case)
        Path(folder).chmod(0o755)
    # The next process that opens the store writes the kept rows.
    check = _script(
        shared_dir,
        "check.py",
        """
        import sys
        import canvasback as cb
        cb.set_store(sys.argv[1])
        run = cb.get_run(sys.argv[2])
        print(run.info.status, len(cb.get_metric_history(run.info.run_id, "loss")))
        """,
    )
    after = _run(check, root, run_id)
    assert after.returncode == 0, after.stderr
    assert after.stdout.split() == ["FINISHED", "500"]
    assert sorted(s for _k, s, _v in _metric_rows_on_disk(root)) == list(range(500))
    assert not list(cache_dir.rglob("*.parquet"))  # replayed, then removed
    again = _run(check, root, run_id)  # a second opening writes nothing twice
    assert again.stdout.split() == ["FINISHED", "500"]


VANISH_SCRIPT = """
import shutil
import sys
from pathlib import Path
import canvasback as cb

root = Path(sys.argv[1])
cb.set_store(root)
run = cb.start_run(run_name="vanishing")
cb.flush()
print(run.run_id, flush=True)
for step in range(300):
    cb.log_metric("acc", step / 300, step=step)
shutil.rmtree(root)
root.write_text("not a folder any more")  # the store is gone; its path cannot be a folder
"""


@pytest.mark.slow
def test_a_vanished_store_keeps_the_rows_for_canvasback_recover(shared_dir, cache_dir):  # noqa: ARG001  # the spill goes there
    root = shared_dir / "store"
    result = _run(_script(shared_dir, "vanish.py", VANISH_SCRIPT), root)
    assert result.returncode == EXIT_SPILLED, result.stderr
    assert "canvasback recover" in result.stderr
    assert "302 row(s)" in result.stderr  # 300 metric rows; the run's end at exit: 2 events
    root.unlink()
    root.mkdir()  # the store folder is back (here: empty), and the user says to write them
    recover = subprocess.run(
        [sys.executable, "-m", "canvasback.cli", "recover", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(),
    )
    assert recover.returncode == 0, recover.stderr
    assert "wrote 302 row(s)" in recover.stdout
    assert sorted(s for _k, s, _v in _metric_rows_on_disk(root)) == list(range(300))
    assert not spill.pending(root)


# -- D: a segment that cannot be opened for a while -----------------------------------------
UNREADABLE_SCRIPT = (
    DROP_PRIVILEGES
    + """
import sys
import warnings
import pyarrow.parquet
from canvasback.store import open_store

root = sys.argv[1]
store = open_store(root)
store.catalog  # loads DuckDB now: the interpreter's own files may be root's only
drop_privileges()
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    print("first", store.read().rows("SELECT count(*) FROM metrics")[0][0])
    print("warned", [type(w.message).__name__ for w in caught])
sys.stdout.flush()
sys.stdin.readline()  # the test makes the file readable again
print("second", store.read().rows("SELECT count(*) FROM metrics")[0][0])
"""
)


@pytest.mark.slow
def test_an_unreadable_segment_is_skipped_and_read_later(shared_dir):
    root = shared_dir / "store"
    store = open_store(root)
    for step in range(10):
        store.writer.append("metrics", "0", ("run", "m", step, 1, float(step)))
        if step in (4, 9):
            store.flush()
    segments = sorted((root / "metrics" / "exp=0").glob("seg-*.parquet"))
    assert len(segments) == 2
    victim = segments[1]
    for folder, _dirs, _files in os.walk(root):
        Path(folder).chmod(0o777)  # so that moving it aside would succeed
    victim.chmod(0)
    child = subprocess.Popen(
        [sys.executable, str(_script(shared_dir, "reader.py", UNREADABLE_SCRIPT)), str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        first = child.stdout.readline().split()
        warned = child.stdout.readline()
        assert first == ["first", "5"], child.stderr.read() if child.stderr else ""
        assert "UnreadableSegmentWarning" in warned
        assert "CorruptSegmentWarning" not in warned
        assert victim.exists()  # left in place
        assert not (root / layout.QUARANTINE_DIR).exists()
        victim.chmod(0o644)
        child.stdin.write("go\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert out.split() == ["second", "10"], err


# -- E: a Parquet file of another schema ----------------------------------------------------
def test_a_segment_of_another_schema_is_quarantined(store):
    with canvasback.start_run() as run:
        canvasback.log_param("lr", "0.1")
        canvasback.log_metric("m", 1.0)
    canvasback.flush()
    partition = next((store / "params").iterdir())
    foreign = partition / layout.segment_name(time.time_ns(), "foreign", 0)
    pq.write_table(pa.table({"x": [1, 2]}), foreign)
    with pytest.warns(CorruptSegmentWarning, match="no column 'run_id'"):
        params = canvasback.get_run(run.info.run_id).data.params
    assert params == {"lr": "0.1"}
    assert not foreign.exists()
    quarantined = list((store / layout.QUARANTINE_DIR).iterdir())
    assert [p.name.endswith(foreign.name) for p in quarantined] == [True]
    assert canvasback.get_metric_history(run.info.run_id, "m")["value"].tolist() == [1.0]


# -- F: folders whose mtime does not change within a clock tick ---------------------------
def _coarse_mtimes(root: Path, table: str, second: int) -> None:
    """What a file system with a coarse clock shows: every change in one tick, one mtime."""
    for folder, _dirs, _files in os.walk(root / table):
        os.utime(folder, ns=(second * 10**9, second * 10**9))


def test_rows_written_in_the_same_clock_tick_as_a_refresh_are_seen(tmp_path):
    root = tmp_path / "store"
    writer_store = canvasback.store.Store(root)  # another process's writer, in effect
    reader = canvasback.store.Store(root)
    tick = int(time.time()) - 1  # a 2-second clock (FAT), or a server clock 1 s behind
    writer_store.writer.append("metrics", "0", ("run", "m", 0, 1, 0.0))
    writer_store.flush()
    _coarse_mtimes(root, "metrics", tick)
    assert reader.read().rows("SELECT count(*) FROM metrics") == [(1,)]
    for step in (1, 2):
        writer_store.writer.append("metrics", "0", ("run", "m", step, 1, float(step)))
        writer_store.flush()
        _coarse_mtimes(root, "metrics", tick)
        assert reader.read().rows("SELECT count(*) FROM metrics") == [(step + 1,)]
