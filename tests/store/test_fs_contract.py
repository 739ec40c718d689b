"""The file-system seam's contract: what every backend of ``canvasback.store.fs`` must do.

Each test runs against every backend in ``BACKENDS``: the local folder, and S3-compatible
object storage (a SeaweedFS server, ``conftest.py``; those tests are in the ``s3`` tier).
Races run in real processes, each opening the store the way its backend says.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from canvasback._config import S3Address
from canvasback.store.fs import NAME_MAX, FileSystem, LocalFileSystem, StorePathError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


@dataclass(frozen=True)
class Backend:
    """How a test makes a backend, reaches it from a child process, and breaks it."""

    name: str
    # A fresh, not yet existing store of a name, for a test (its request) and its folder.
    make: Callable[[pytest.FixtureRequest, Path, str], FileSystem]
    open_in_child: str  # Python that binds ``fs`` to the same store; its url is argv[1]
    remove_root: Callable[[pytest.FixtureRequest, FileSystem], None]  # deleted under a process


def _make_local(request, tmp: Path, name: str) -> FileSystem:
    del request
    return LocalFileSystem(tmp / name)


def _rmtree(request, fs: FileSystem) -> None:
    del request
    shutil.rmtree(fs.root)


def _make_s3(request, tmp: Path, name: str) -> FileSystem:
    """A store under the prefix ``name`` of the test's own bucket; the AWS variables set."""
    from canvasback.store.fs.s3 import S3FileSystem  # noqa: PLC0415  # the s3 extra

    request.getfixturevalue("s3_env")  # children read the same variables
    bucket = request.getfixturevalue("s3_bucket")
    del tmp  # the cache goes to XDG_CACHE_HOME, in the test's folder
    # The contract races creates itself; the probe before a store's first create is
    # test_s3_probe.py's.
    return S3FileSystem(S3Address(bucket, name), probe=False)


def _remove_bucket(request, fs: FileSystem) -> None:
    request.getfixturevalue("seaweedfs").delete_bucket(fs.address.bucket)


BACKENDS = [
    pytest.param(
        Backend(
            "local",
            _make_local,
            "from canvasback.store.fs import LocalFileSystem\nfs = LocalFileSystem(sys.argv[1])",
            _rmtree,
        ),
        id="local",
    ),
    pytest.param(
        Backend(
            "s3",
            _make_s3,
            "from canvasback.store.fs.s3 import S3FileSystem\n"
            "fs = S3FileSystem.from_url(sys.argv[1], probe=False)",
            _remove_bucket,
        ),
        id="s3",
        marks=pytest.mark.s3,
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request) -> Backend:
    return request.param


@pytest.fixture
def fs(backend, request, tmp_path) -> FileSystem:
    return backend.make(request, tmp_path, "store")


# -- writes and reads ----------------------------------------------------------------
def test_a_written_file_reads_back(fs):
    fs.write_bytes("a/b/c.bin", b"\x00\x01payload")
    fs.write_bytes("a/view.bin", memoryview(b"from a view"))
    assert fs.read_bytes("a/b/c.bin") == b"\x00\x01payload"
    assert fs.read_bytes("a/view.bin") == b"from a view"
    with open(fs.local_path("a/b/c.bin"), "rb") as fh:  # noqa: PTH123  # the reader's way in
        assert fh.read() == b"\x00\x01payload"


def test_a_rewrite_replaces_the_whole_content(fs):
    fs.write_bytes("f", b"x" * 1000)
    fs.write_bytes("f", b"short")
    assert fs.read_bytes("f") == b"short"


def test_missing_files_read_as_missing(fs):
    fs.write_bytes("there/file", b"1")
    with pytest.raises(FileNotFoundError):
        fs.read_bytes("there/nothing")
    with pytest.raises(FileNotFoundError):
        fs.read_bytes("nowhere/nothing")
    assert fs.stat("there/nothing") is None
    assert fs.stat_mtime_ns("there/nothing") is None
    assert not fs.exists("there/nothing")
    assert not fs.is_regular_file("there/nothing")
    assert fs.list("nowhere") == []
    assert fs.names("nowhere") == []
    assert fs.list_names("nowhere") == []
    assert list(fs.walk_files("nowhere")) == []


def test_stat_gives_size_and_kind(fs):
    fs.write_bytes("d/file", b"12345")
    file, folder = fs.stat("d/file"), fs.stat("d")
    assert file is not None
    assert (file.size, file.is_dir) == (5, False)
    assert file.mtime_ns == fs.stat_mtime_ns("d/file")
    assert folder is not None
    assert folder.is_dir
    assert fs.is_regular_file("d/file")
    assert not fs.is_regular_file("d")


def test_a_listing_shows_what_was_written(fs):
    fs.write_bytes("t/p1/a", b"1")
    fs.write_bytes("t/p1/b", b"22")
    fs.write_bytes("t/p2/c", b"333")
    assert sorted(fs.names("t")) == ["p1", "p2"]
    assert sorted(fs.list_names("t/p1")) == [("a", False, True), ("b", False, True)]
    assert sorted(fs.list_names("t")) == [("p1", True, False), ("p2", True, False)]
    entries = {e.name: e for e in fs.list("t/p1")}
    assert {n: (e.size, e.is_dir) for n, e in entries.items()} == {
        "a": (1, False),
        "b": (2, False),
    }
    assert sorted(fs.walk_files("t")) == ["t/p1/a", "t/p1/b", "t/p2/c"]
    assert sorted(fs.walk_files("")) == ["t/p1/a", "t/p1/b", "t/p2/c"]


def test_parquet_and_copies_arrive_whole(fs, tmp_path):
    table = pa.table({"run_id": ["r1", "r2"], "value": [1.5, 2.5]})
    size = fs.write_parquet("metrics/exp=1/seg.parquet", table)
    assert size == fs.stat("metrics/exp=1/seg.parquet").size
    assert pq.read_table(fs.local_path("metrics/exp=1/seg.parquet")).equals(table)
    source = tmp_path / "local.bin"
    source.write_bytes(b"y" * 3_000_000)
    assert fs.copy_in(source, "artifacts/r1/big.bin") == 3_000_000
    assert fs.read_bytes("artifacts/r1/big.bin") == source.read_bytes()


def test_parquet_files_keep_dictionaries_to_their_text_columns(fs):
    n = 50_000
    table = pa.table(
        {
            "run_id": ["r1"] * n,
            "key": ["acc", "loss"] * (n // 2),
            "step": list(range(n)),
            "value": [1.0 / (1 + i) for i in range(n)],
        }
    )
    fs.write_parquet("metrics/exp=1/seg.parquet", table)
    path = fs.local_path("metrics/exp=1/seg.parquet")
    assert pq.read_table(path).equals(table)
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 1  # 131,072 rows to a group
    group = meta.row_group(0)
    encodings = {
        group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)
    }
    assert group.column(0).compression == "ZSTD"
    for text in ("run_id", "key"):
        assert "RLE_DICTIONARY" in encodings[text], encodings
    for number in ("step", "value"):
        assert "RLE_DICTIONARY" not in encodings[number], encodings
    assert group.column(0).statistics.min == group.column(0).statistics.max == "r1"


# -- atomicity -----------------------------------------------------------------------
def test_a_failed_write_leaves_the_old_content_and_no_trace(fs):
    fs.write_bytes("f", b"old")

    def interrupted(rel: str, error: BaseException) -> None:
        with fs.atomic_write(rel) as tmp:
            tmp.write_bytes(b"half of the new")
            raise error

    with pytest.raises(KeyboardInterrupt):
        interrupted("f", KeyboardInterrupt())
    with pytest.raises(OSError, match="disk full"):
        interrupted("new", OSError("disk full"))
    assert fs.read_bytes("f") == b"old"
    assert fs.names("") == ["f"]  # no temp file, no "new"


def test_atomic_write_takes_a_path_writers_open(fs):
    with fs.atomic_write("d/out.parquet") as tmp:
        pq.write_table(pa.table({"x": [1, 2, 3]}), str(tmp))
        assert not fs.exists("d/out.parquet")  # not before the block ends
    assert pq.read_table(fs.local_path("d/out.parquet")).column("x").to_pylist() == [1, 2, 3]


def test_a_reader_sees_a_file_whole_or_not_at_all(fs, backend, spawn_python):
    size = 1 << 21
    contents = {b"a" * size, b"b" * size}
    writer = spawn_python(
        _child(
            backend,
            f"""
            fs.write_bytes("hot/file", b"b" * {size})
            print("ready", flush=True)
            sys.stdin.readline()
            for i in range(60):
                fs.write_bytes("hot/file", (b"a" if i % 2 == 0 else b"b") * {size})
            print("done", flush=True)
            """,
        ),
        fs.url,
        stdin=subprocess.PIPE,
    )
    assert writer.stdout.readline().strip() == "ready"
    writer.stdin.write("go\n")
    writer.stdin.flush()
    reads = 0
    while True:  # at least one read while the writer rewrites, then until it is done
        running = writer.poll() is None
        data = fs.read_bytes("hot/file")
        assert data in contents, f"a read saw {len(data)} bytes starting {data[:8]!r}"
        reads += 1
        if not running:
            break
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert out.strip() == "done"
    assert reads > 1


# -- exclusive create ----------------------------------------------------------------
def test_create_exclusive_never_replaces(fs):
    assert fs.create_exclusive("claims/ns/name", b"first")
    assert not fs.create_exclusive("claims/ns/name", b"second")
    assert fs.read_bytes("claims/ns/name") == b"first"
    assert fs.names("claims/ns") == ["name"]  # nothing left of the loser


def test_create_exclusive_has_one_winner_among_racing_processes(fs, backend, spawn_python):
    racers = 8
    children = [
        spawn_python(
            _child(
                backend,
                """
                print("ready", flush=True)
                sys.stdin.readline()  # all start together
                content = ("racer %s " % sys.argv[2]).encode() * 5000
                won = fs.create_exclusive("claims/race/the-name", content)
                print("won" if won else "lost", flush=True)
                """,
            ),
            fs.url,
            i,
            stdin=subprocess.PIPE,
        )
        for i in range(racers)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        results.append(out.strip())
    assert sorted(results) == ["lost"] * (racers - 1) + ["won"]
    winner = results.index("won")
    assert fs.read_bytes("claims/race/the-name") == f"racer {winner} ".encode() * 5000
    assert fs.names("claims/race") == ["the-name"]


# -- removal -------------------------------------------------------------------------
def test_delete_removes_a_file_and_a_missing_one_is_fine(fs):
    fs.write_bytes("d/a", b"1")
    fs.write_bytes("d/sub/b", b"2")
    fs.delete("d/a")
    fs.delete("d/a")
    fs.delete("nowhere/x")
    assert not fs.exists("d/a")
    fs.delete_tree("d")
    fs.delete_tree("d")
    assert not fs.exists("d")
    assert list(fs.walk_files("")) == []


def test_move_aside_keeps_the_content_elsewhere(fs):
    fs.write_bytes("t/p/bad.parquet", b"garbage")
    moved = fs.move_aside("t/p/bad.parquet", "_quarantine")
    assert moved is not None
    assert moved.startswith("_quarantine/")
    assert fs.read_bytes(moved) == b"garbage"
    assert not fs.exists("t/p/bad.parquet")
    assert fs.move_aside("t/p/bad.parquet", "_quarantine") is None


def test_a_store_gone_is_not_made_again(fs, backend, request):
    assert not fs.root_gone()
    fs.write_bytes("t/a", b"1")  # the first write makes a new store
    assert fs.root_exists()
    backend.remove_root(request, fs)
    assert fs.root_gone()
    assert not fs.root_exists()
    with pytest.raises(FileNotFoundError):
        fs.write_bytes("t/b", b"2")
    with pytest.raises(FileNotFoundError):
        fs.create_exclusive("claims/x/y", b"2")
    assert not fs.exists("")


# -- names ---------------------------------------------------------------------------
ODD_NAMES = [
    "with space",
    "quote's",
    'double"quote',
    "100%",
    "hash#tag",
    "what?",
    "k=v",
    "-leading-dash",
    "é-accent",
    "日本語",
    "emoji-🦆",
    "x" * NAME_MAX,
    "é" * (NAME_MAX // 2),  # 254 bytes in UTF-8
]


@pytest.mark.parametrize("name", ODD_NAMES, ids=range(len(ODD_NAMES)))
def test_odd_names_round_trip(fs, name):
    fs.write_bytes(f"artifacts/r1/{name}", b"content")
    assert fs.create_exclusive(f"claims/odd/{name}", b"claimed")
    assert fs.names("artifacts/r1") == [name]
    assert fs.read_bytes(f"artifacts/r1/{name}") == b"content"
    assert fs.read_bytes(f"claims/odd/{name}") == b"claimed"
    with open(fs.local_path(f"artifacts/r1/{name}"), "rb") as fh:  # noqa: PTH123
        assert fh.read() == b"content"
    fs.delete(f"artifacts/r1/{name}")
    assert fs.names("artifacts/r1") == []


# Each resolves inside the test's folder, so a backend that lets one through writes
# there (the test then fails), never anywhere else on the machine.
NOT_STORE_PATHS = [
    "../outside",
    "{tmp}/absolute",
    "a/../../outside",
    "a//b",
    "./a",
    "a/./b",
    "a\0b",
]


@pytest.mark.parametrize("rel", NOT_STORE_PATHS)
def test_paths_that_are_not_store_paths_are_refused(fs, rel, tmp_path):
    rel = rel.format(tmp=tmp_path.as_posix())
    fs.write_bytes("a/b", b"inside")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    operations: list[Callable[[], object]] = [
        lambda: fs.write_bytes(rel, b"x"),
        lambda: fs.write_parquet(rel, pa.table({"x": [1]})),
        lambda: fs.create_exclusive(rel, b"x"),
        lambda: fs.read_bytes(rel),
        lambda: fs.local_path(rel),
        lambda: fs.exists(rel),
        lambda: fs.stat(rel),
        lambda: fs.stat_mtime_ns(rel),
        lambda: fs.is_regular_file(rel),
        lambda: fs.names(rel),
        lambda: fs.list(rel),
        lambda: fs.list_names(rel),
        lambda: list(fs.walk_files(rel)),
        lambda: fs.delete(rel),
        lambda: fs.delete_tree(rel),
        lambda: fs.move_aside(rel, "_quarantine"),
        lambda: fs.move_aside("a/b", rel),
    ]
    for operation in operations:
        with pytest.raises(StorePathError, match="not a store path"):
            operation()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert fs.read_bytes("a/b") == b"inside"


def test_the_root_is_a_folder_not_a_file(fs):
    fs.write_bytes("a", b"1")
    for operation in (
        lambda: fs.write_bytes("", b"x"),
        lambda: fs.create_exclusive("", b"x"),
        lambda: fs.read_bytes(""),
        lambda: fs.delete(""),
        lambda: fs.delete_tree(""),
    ):
        with pytest.raises(StorePathError):
            operation()
    assert fs.names("") == ["a"]


# -- what an object store needs besides ---------------------------------------------
def test_create_exclusive_refuses_a_written_file_and_takes_a_removed_name(fs):
    fs.write_bytes("claims/ns/written", b"plain write")
    assert not fs.create_exclusive("claims/ns/written", b"claim")
    assert fs.read_bytes("claims/ns/written") == b"plain write"
    assert fs.create_exclusive("claims/ns/released", b"first holder")
    fs.delete("claims/ns/released")  # a released claim (a renamed experiment's old name)
    assert fs.create_exclusive("claims/ns/released", b"next holder")
    assert fs.read_bytes("claims/ns/released") == b"next holder"
    assert sorted(fs.names("claims/ns")) == ["released", "written"]


def test_create_exclusive_has_one_winner_among_racing_threads(fs):
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda i: fs.create_exclusive("claims/t/x", b"%d" % i), range(8)))
    assert won.count(True) == 1
    assert fs.read_bytes("claims/t/x") == b"%d" % won.index(True)


def test_listings_keep_to_their_folder_among_names_sharing_a_prefix(fs):
    for rel in ("p/a", "p/ab", "p/a-b/c", "p/a.b", "p/a0/d/e", "pq/x", "p-other/y"):
        fs.write_bytes(rel, rel.encode())
    assert sorted(fs.names("p")) == ["a", "a-b", "a.b", "a0", "ab"]
    assert sorted(fs.list_names("p")) == [
        ("a", False, True),
        ("a-b", True, False),
        ("a.b", False, True),
        ("a0", True, False),
        ("ab", False, True),
    ]
    assert sorted(fs.walk_files("p")) == ["p/a", "p/a-b/c", "p/a.b", "p/a0/d/e", "p/ab"]
    assert fs.names("p/a") == []  # a file lists nothing
    assert fs.names("p/a0") == ["d"]
    fs.delete_tree("p/a0")
    assert not fs.exists("p/a0")
    assert fs.read_bytes("p/ab") == b"p/ab"  # the tree's neighbours stay
    assert sorted(fs.walk_files("")) == ["p-other/y", "p/a", "p/a-b/c", "p/a.b", "p/ab", "pq/x"]


def test_a_listing_of_more_than_a_thousand_entries_is_whole(fs):
    # S3 answers a listing in pages of at most 1,000 keys.
    names = [f"seg-{i:05d}" for i in range(1050)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: fs.write_bytes(f"big/{n}", b"1"), names))
    assert sorted(fs.names("big")) == names
    assert len(fs.list("big")) == 1050
    assert sorted(fs.walk_files("big")) == [f"big/{n}" for n in names]
    fs.delete_tree("big")
    assert fs.names("big") == []


def test_a_missing_file_is_file_not_found_naming_it(fs):
    fs.write_bytes("there/file", b"1")
    for read in (fs.read_bytes, lambda rel: fs.local_path(rel) and fs.read_bytes(rel)):
        with pytest.raises(FileNotFoundError) as caught:
            read("there/nothing")
        assert caught.value.errno == errno.ENOENT
        assert "there/nothing" in str(caught.value)


def test_large_files_arrive_whole(fs, tmp_path):
    size = 12 * 1024 * 1024 + 7  # above S3's multipart threshold, not a multiple of a part
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    fs.write_bytes("large/bytes.bin", data)
    source = tmp_path / "large.bin"
    source.write_bytes(data[::-1])
    assert fs.copy_in(source, "large/copied.bin") == size
    with fs.atomic_write("large/atomic.bin") as tmp:
        tmp.write_bytes(data[1:])
    assert fs.read_bytes("large/bytes.bin") == data
    assert fs.read_bytes("large/copied.bin") == data[::-1]
    assert fs.read_bytes("large/atomic.bin") == data[1:]
    with open(fs.local_path("large/copied.bin"), "rb") as fh:  # noqa: PTH123
        assert fh.read() == data[::-1]
    assert {e.name: e.size for e in fs.list("large")} == {
        "bytes.bin": size,
        "copied.bin": size,
        "atomic.bin": size - 1,
    }


def test_a_rewritten_file_is_read_anew_through_its_local_path(fs):
    fs.write_bytes("d/f", b"first")
    with open(fs.local_path("d/f"), "rb") as fh:  # noqa: PTH123
        assert fh.read() == b"first"
    fs.write_bytes("d/f", b"second, longer")
    with open(fs.local_path("d/f"), "rb") as fh:  # noqa: PTH123
        assert fh.read() == b"second, longer"


def test_a_store_never_reaches_a_neighbour_whose_name_extends_its_own(
    fs, backend, request, tmp_path
):
    neighbour = backend.make(request, tmp_path, "store-b")
    neighbour.write_bytes("t/a", b"neighbour's")
    neighbour.write_bytes("x", b"neighbour's")
    fs.write_bytes("t/a", b"mine")
    fs.write_bytes("%2e%2e/x", b"a literal name")  # percent signs are not decoded
    assert fs.names("%2e%2e") == ["x"]
    assert sorted(fs.walk_files("")) == ["%2e%2e/x", "t/a"]
    fs.delete_tree("t")
    fs.delete("x")
    assert not fs.exists("x")
    assert neighbour.read_bytes("t/a") == b"neighbour's"
    assert neighbour.read_bytes("x") == b"neighbour's"
    assert sorted(neighbour.walk_files("")) == ["t/a", "x"]


def _child(backend: Backend, body: str) -> str:
    """A child's script: open the backend's store (root in argv[1]), then ``body``."""
    return f"import sys\n{backend.open_in_child}\n{textwrap.dedent(body)}"


def test_a_local_copy_holds_the_current_content_of_a_file_or_a_folder(fs):
    fs.write_bytes("artifacts/r1/model/MLmodel", b"flavors: {}")
    fs.write_bytes("artifacts/r1/model/data/weights.bin", b"\x00\x01")
    fs.write_bytes("artifacts/r1/notes.txt", b"first")
    folder = fs.local_copy("artifacts/r1/model")
    assert folder.name == "model"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "MLmodel",
        "data/weights.bin",
    ]
    assert (folder / "data" / "weights.bin").read_bytes() == b"\x00\x01"
    file = fs.local_copy("artifacts/r1/notes.txt")
    assert (file.name, file.read_bytes()) == ("notes.txt", b"first")
    fs.write_bytes("artifacts/r1/notes.txt", b"second")  # artifacts change: the copy follows
    assert fs.local_copy("artifacts/r1/notes.txt").read_bytes() == b"second"
    with pytest.raises(FileNotFoundError):
        fs.local_copy("artifacts/r1/none")
    with pytest.raises(StorePathError):
        fs.local_copy("artifacts/../x")
    with pytest.raises(StorePathError):
        fs.inside("artifacts/r1/../../x")
    assert fs.inside("artifacts/r1/notes.txt") == "artifacts/r1/notes.txt"


def test_local_paths_of_several_files_read_back(fs):
    for i in range(12):
        fs.write_bytes(f"t/p/f{i}", f"content {i}".encode())
    rels = [f"t/p/f{i}" for i in (3, 0, 11, 3)]
    paths = fs.local_paths(rels)
    assert len(paths) == len(rels)
    for rel, path in zip(rels, paths, strict=True):
        with open(path, "rb") as fh:  # noqa: PTH123
            assert fh.read() == f"content {rel.rsplit('f', 1)[1]}".encode()


def test_a_walk_keeps_to_the_entries_starting_so(fs):
    for rel in ("t/exp=0/a", "t/exp=1/b/c", "t/exp=1/d", "t/ex", "t/run1/x", "t/f", "u/exp=0/z"):
        fs.write_bytes(rel, b"1")
    assert sorted(fs.walk_files("t", starting="exp=")) == ["t/exp=0/a", "t/exp=1/b/c", "t/exp=1/d"]
    assert sorted(fs.walk_files("t")) == [
        "t/ex",
        "t/exp=0/a",
        "t/exp=1/b/c",
        "t/exp=1/d",
        "t/f",
        "t/run1/x",
    ]
