"""Rows kept in the spill folder: a store folder deleted mid-run, a corrupt spilled segment.

Real processes log to a real store; the spill folder is the real one, under a cache
folder of the test's own (``XDG_CACHE_HOME``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from canvasback.store import layout, schema
from canvasback.store.fs import LocalFileSystem
from canvasback.store.write import spill
from canvasback.store.write.lifecycle import EXIT_SPILLED

DELETED_MID_RUN = """
import sys
import canvasback as cb

cb.set_store(sys.argv[1])
run = cb.start_run(run_name="deleted under it")
for step in range(100):
    cb.log_metric("loss", 1 / (step + 1), step=step)
cb.flush()
print(run.info.run_id, flush=True)
sys.stdin.readline()  # the test deletes the store folder now
for step in range(100, 300):
    cb.log_metric("loss", 1 / (step + 1), step=step)
cb.end_run()
print("ended", flush=True)
"""

NEW_STORE_THERE = """
import sys
import canvasback as cb

cb.set_store(sys.argv[1])
with cb.start_run(run_name="a new store"):
    cb.log_metric("acc", 1.0)
"""

CHECK = """
import sys
import canvasback as cb

cb.set_store(sys.argv[1])
run = cb.get_run(sys.argv[2])
print(run.info.status, len(cb.Client().get_metric_history(run.info.run_id, "loss")))
"""


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """The user cache the spill folders go to (children inherit it)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("CANVASBACK_HEARTBEAT_SECONDS", "3600")  # no heartbeat row to count
    return cache


def _keys_on_disk(root) -> set[str]:
    keys: set[str] = set()
    for path in (root / "metrics").rglob("*.parquet"):
        if layout.is_data_file(path.name):
            keys.update(pq.read_table(path, columns=["key"])["key"].to_pylist())
    return keys


def _recover(root) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canvasback.cli", "recover", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_store_folder_deleted_mid_run_is_not_made_again(
    tmp_path, cache_dir, spawn_python, run_python
):
    root, backup = tmp_path / "store", tmp_path / "backup"
    child = spawn_python(DELETED_MID_RUN, root, stdin=subprocess.PIPE)
    run_id = child.stdout.readline().strip()
    assert run_id, child.stderr.read()
    shutil.copytree(root, backup)  # the store as it was: brought back later
    shutil.rmtree(root)
    out, err = child.communicate("go on\n", timeout=120)

    # Loud: a warning naming where the rows are, and the exit status; no store made.
    assert child.returncode == EXIT_SPILLED, err
    assert out.split() == ["ended"]
    assert f"the store folder '{root}' is gone" in err
    assert str(cache_dir) in err
    assert f"canvasback recover '{root}'" in err
    assert not root.exists()

    # A new store made at that path later is not handed the rows of another.
    later = run_python(NEW_STORE_THERE, root)
    assert "were kept while the store folder" in later.stderr
    assert _keys_on_disk(root) == {"acc"}
    assert spill.pending(root)

    # The store is back: recover writes the kept rows, once.
    shutil.rmtree(root)
    shutil.copytree(backup, root)
    recovered = _recover(root)
    assert recovered.returncode == 0, recovered.stderr
    assert "wrote 202 row(s)" in recovered.stdout  # 200 points, the status, the end time
    assert not spill.pending(root)
    check = run_python(CHECK, root, run_id)
    assert check.stdout.split() == ["FINISHED", "300"]


def test_recover_waits_for_a_store_folder_that_is_not_back(tmp_path, cache_dir, spawn_python):
    root = tmp_path / "store"
    child = spawn_python(DELETED_MID_RUN, root, stdin=subprocess.PIPE)
    assert child.stdout.readline().strip()
    shutil.rmtree(root)
    _out, err = child.communicate("go on\n", timeout=120)
    assert child.returncode == EXIT_SPILLED, err
    recovered = _recover(root)
    assert recovered.returncode == 1
    assert "does not exist now" in recovered.stderr
    assert not root.exists()
    assert spill.pending(root)
    assert list(cache_dir.rglob("seg-*.parquet"))


OPEN_AND_READ = """
import sys
import warnings
from canvasback.store import open_store

warnings.simplefilter("always")
print(open_store(sys.argv[1]).read().rows("SELECT count(*) FROM metrics")[0][0])
"""


def _segment(run_id: str, steps: range) -> pa.Table:
    rows = [(run_id, "loss", s, 1_000 + s, s / 10) for s in steps]
    return pa.Table.from_pylist(
        [dict(zip(schema.METRICS.arrow_schema().names, r, strict=True)) for r in rows],
        schema=schema.METRICS.arrow_schema(),
    )


@pytest.mark.usefixtures("cache_dir")
def test_a_corrupt_spilled_segment_is_set_aside_once_and_never_copied_in(tmp_path, run_python):
    root = tmp_path / "store"
    root.mkdir()
    good = f"metrics/exp=0/{layout.segment_name(1, 'w', 0)}"
    bad = f"metrics/exp=0/{layout.segment_name(2, 'w', 1)}"
    folder = spill.keep_segments(
        root, [(good, _segment("r", range(5))), (bad, _segment("r", range(5, 9)))]
    )
    data = (folder / bad).read_bytes()
    (folder / bad).write_bytes(data[: len(data) // 2])  # a spilled file cut short

    first = run_python(OPEN_AND_READ, root)
    assert first.stdout.split() == ["5"]
    assert not (root / layout.QUARANTINE_DIR).exists()  # never copied in, so never moved
    assert not (root / bad).exists()
    assert (root / good).exists()
    set_aside = [p for p in folder.rglob(f"*{bad.rsplit('/', 1)[1]}") if p != folder / bad]
    assert len(set_aside) == 1
    assert not (folder / bad).exists()
    assert "is corrupt" in first.stderr
    assert str(set_aside[0]) in first.stderr

    # Every later replay (a process opening the store, recover) leaves it where it is.
    second = run_python(OPEN_AND_READ, root)
    assert second.stdout.split() == ["5"]
    assert "corrupt" not in second.stderr
    recovered = _recover(root)
    assert "wrote 0 row(s)" in recovered.stdout
    assert [p for p in folder.rglob("*.parquet") if p != folder / good] == set_aside
    assert not (root / layout.QUARANTINE_DIR).exists()
    assert not (root / bad).exists()


def test_no_write_makes_a_vanished_store_folder_again(tmp_path):
    root = tmp_path / "store"
    fs = LocalFileSystem(root)
    assert fs.create_exclusive("claims/experiments/first", b"0")  # a new store: made now
    shutil.rmtree(root)
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    with pytest.raises(FileNotFoundError, match="store folder is gone"):
        fs.create_exclusive("claims/experiments/second", b"1")
    with pytest.raises(FileNotFoundError, match="store folder is gone"):
        fs.copy_in(source, "artifacts/run/model.bin")
    with pytest.raises(FileNotFoundError, match="store folder is gone"):
        fs.write_parquet(f"metrics/exp=0/{layout.segment_name(1, 'w', 0)}", _segment("r", range(2)))
    assert not root.exists()
