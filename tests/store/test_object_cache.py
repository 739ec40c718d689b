"""The machine's cache of a store's objects: keyed by name and ETag, bounded, shared.

The cache's own rules on a real folder; what it saves on a real server (a repeated
query downloads nothing) is in ``test_s3_cache.py``.
"""

from __future__ import annotations

import os
import time

import pytest

from canvasback.store.fs.object_cache import (
    BUDGET_ENV,
    DEFAULT_BUDGET,
    HOLD_SECONDS,
    CacheSettingError,
    ObjectCache,
    budget_from_env,
    etag_key,
    etag_of,
)


def _age(path, seconds: float) -> None:
    """Make a copy look last used ``seconds`` ago (as an hour-old reader would leave it)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_copy_is_keyed_by_name_and_etag(tmp_path):
    cache = ObjectCache(tmp_path)
    first = cache.put_bytes("metrics/exp=0/seg-1.parquet", '"abc"', b"one")
    second = cache.put_bytes("metrics/exp=0/seg-1.parquet", '"def"', b"two")
    assert first != second
    assert first.suffix == ".parquet"  # DuckDB and pyarrow see the kind of file
    assert cache.get("metrics/exp=0/seg-1.parquet", '"abc"').read_bytes() == b"one"
    assert cache.get("metrics/exp=0/seg-1.parquet", "abc").read_bytes() == b"one"  # quotes
    assert cache.get("metrics/exp=0/seg-1.parquet", '"xyz"') is None
    assert cache.get("metrics/exp=0/seg-2.parquet", '"abc"') is None
    _age(first, 100)
    assert cache.newest("metrics/exp=0/seg-1.parquet") == ('"def"', second)
    assert etag_of(etag_key('"9b2cf535f27731c974343645a3985328-3"')) == (
        '"9b2cf535f27731c974343645a3985328-3"'
    )


def test_a_copy_appears_whole_and_a_failed_one_leaves_nothing(tmp_path):
    cache = ObjectCache(tmp_path)

    def chunks():
        yield b"half"
        msg = "the download was cut"
        raise ConnectionResetError(msg)

    with pytest.raises(ConnectionResetError):
        cache.put_chunks("t/p/seg.parquet", '"e1"', chunks())
    assert cache.get("t/p/seg.parquet", '"e1"') is None
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_budget_removes_the_least_recently_used_copies_first(tmp_path):
    cache = ObjectCache(tmp_path, budget=1000)
    paths = [cache.put_bytes(f"t/p/seg-{i}.parquet", f'"e{i}"', b"x" * 300) for i in range(3)]
    for i, path in enumerate(paths):  # all unused for hours; seg-0 the longest
        _age(path, 3 * HOLD_SECONDS - i * 60)
    assert cache.sweep() == 0  # 900 bytes: within budget, nothing goes
    # 1,200 bytes: the write sweeps down to 900 (a tenth free), least recently used first.
    fourth = cache.put_bytes("t/p/seg-3.parquet", '"e3"', b"x" * 300)
    assert [p.exists() for p in (*paths, fourth)] == [False, True, True, True]
    assert not (tmp_path / "objects" / "t" / "p" / "seg-0.parquet").exists()  # its folder
    _age(fourth, 3 * HOLD_SECONDS - 600)  # used after the others: seg-1 is the least recent
    cache.put_bytes("t/p/seg-4.parquet", '"e4"', b"x" * 300)
    assert [p.exists() for p in (*paths, fourth)] == [False, False, True, True]


def test_a_copy_used_within_the_hour_stays_even_over_budget(tmp_path):
    cache = ObjectCache(tmp_path, budget=500)
    held = cache.put_bytes("t/p/seg-0.parquet", '"e0"', b"x" * 400)
    old = cache.put_bytes("t/p/seg-1.parquet", '"e1"', b"x" * 400)
    _age(held, HOLD_SECONDS * 2)
    _age(old, HOLD_SECONDS * 2)
    assert cache.get("t/p/seg-0.parquet", '"e0"') == held  # a reader marks it used
    cache.sweep()
    assert held.exists()
    assert not old.exists()


def test_a_sweep_starts_once_an_eighth_of_the_budget_was_added(tmp_path):
    cache = ObjectCache(tmp_path, budget=8000)
    old = cache.put_bytes("t/p/old.parquet", '"e"', b"x" * 7900)
    _age(old, HOLD_SECONDS * 2)
    cache.put_bytes("t/p/a.parquet", '"e"', b"x" * 900)  # over budget, but a sweep waits
    assert old.exists()
    cache.put_bytes("t/p/b.parquet", '"e"', b"x" * 200)  # past an eighth added: a sweep
    assert not old.exists()


def test_leftover_temp_files_of_killed_processes_go_once_old(tmp_path):
    cache = ObjectCache(tmp_path, budget=10)
    kept = cache.put_bytes("t/p/a.parquet", '"e"', b"1")
    leftover = kept.with_name(".4242-deadbeef.tmp")
    leftover.write_bytes(b"half a download")
    fresh = kept.with_name(".4243-cafe.tmp")
    fresh.write_bytes(b"being written")
    _age(leftover, 2 * 3600)
    cache.sweep()
    assert not leftover.exists()
    assert fresh.exists()  # another process may be writing it now


def test_the_budget_is_set_in_bytes_or_with_a_unit(monkeypatch):
    monkeypatch.delenv(BUDGET_ENV, raising=False)
    assert budget_from_env() == DEFAULT_BUDGET
    for value, expected in (("1000", 1000), ("500M", 500 << 20), ("8g", 8 << 30)):
        monkeypatch.setenv(BUDGET_ENV, value)
        assert budget_from_env() == expected
    for value in ("lots", "-1G", "0"):
        monkeypatch.setenv(BUDGET_ENV, value)
        with pytest.raises(CacheSettingError, match=rf"{BUDGET_ENV}={value!r}.*8G"):
            budget_from_env()
