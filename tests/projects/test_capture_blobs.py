"""What capture records alike for many runs is stored once; every run still names its files.

The package list, the script and the diff are the same for every run of a process: the
store keeps one copy of each in ``blobs/sha256/``, and each run's artifacts (listings,
downloads, the run table's detail view, ``diff_runs``, ``reproduce``) show the files as
its own. Runs recorded before, with copies in their own folders, read as they did.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path

import pytest

import canvasback as cb
from canvasback.projects import capture, environment
from canvasback.store import layout

FAKE_METADATA = "Metadata-Version: 2.1\nName: fake-pkg\nVersion: 1.0\n\nA package of the test's.\n"


@pytest.fixture(autouse=True)
def _capture_on(monkeypatch):
    """Capture as it is by default (the suite's conftest switches it off elsewhere)."""
    monkeypatch.delenv("CANVASBACK_CAPTURE", raising=False)


@pytest.fixture
def script(tmp_path, monkeypatch):
    """The process's code is a script outside any git repository."""
    path = tmp_path / "code" / "train.py"
    path.parent.mkdir()
    path.write_text("print('training')\n")
    source = capture.Source("script", str(path), "python train.py")
    monkeypatch.setattr(capture, "process_source", lambda: source)
    return path


@pytest.fixture
def extra_package(tmp_path, monkeypatch):
    """Installs a distribution on the path when called, as ``pip install`` in a kernel does."""

    def install() -> None:
        site = tmp_path / "site"
        (site / "fake_pkg-1.0.dist-info").mkdir(parents=True)
        (site / "fake_pkg-1.0.dist-info" / "METADATA").write_text(FAKE_METADATA)
        monkeypatch.syspath_prepend(str(site))
        environment.forget()  # the documented remedy after installing packages

    yield install
    monkeypatch.undo()
    environment.forget()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _in_run_folders(store: Path) -> list[Path]:
    """Files in the runs' own artifact folders (not the artifacts table's segments)."""
    folder = store / layout.ARTIFACTS_DIR
    return [p for p in _files(folder) if not p.relative_to(folder).parts[0].startswith("exp=")]


def _blobs(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in _files(store / layout.BLOBS_DIR)}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_fifty_runs_of_one_process_leave_one_copy_of_each_captured_file(store, script, monkeypatch):
    listings = []
    real = importlib.metadata.distributions

    def counted(*args: object, **kwargs: object):  # the real listing, counted
        listings.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(importlib.metadata, "distributions", counted)
    environment.forget()
    ids = []
    for _ in range(50):
        with cb.start_run() as run:
            pass
        ids.append(run.run_id)
    cb.flush()

    assert len(listings) == 1  # the package list, once for the process
    packages, digest = environment.requirements()
    code = script.read_bytes()
    assert _blobs(store) == {digest: packages, _sha256(code): code}
    assert _in_run_folders(store) == []
    client = cb.client()
    for run_id in ids:
        tags = client.get_run(run_id).data.tags
        assert tags["canvasback.env.packages"] == capture.PACKAGES_ARTIFACT
        assert tags["canvasback.source.copy"] == "source/train.py"
        assert tags["canvasback.source.digest"] == f"sha256:{_sha256(code)}"
        assert tags["canvasback.blob.environment/requirements.txt"] == f"sha256:{digest}"
        assert tags["canvasback.blob.source/train.py"] == f"sha256:{_sha256(code)}"
    for run_id in (ids[0], ids[-1]):
        assert client.list_artifacts(run_id) == [
            cb.FileInfo("environment", is_dir=True, file_size=None),
            cb.FileInfo("source", is_dir=True, file_size=None),
        ]
        assert client.list_artifacts(run_id, "environment") == [
            cb.FileInfo(capture.PACKAGES_ARTIFACT, is_dir=False, file_size=len(packages))
        ]
        local = Path(client.download_artifacts(run_id, capture.PACKAGES_ARTIFACT))
        assert (local.name, local.read_bytes()) == ("requirements.txt", packages)
        assert Path(client.download_artifacts(run_id, "source/train.py")).read_bytes() == code
    indexed = cb.sql("SELECT count(DISTINCT run_id), count(*) FROM artifacts").fetchall()
    assert indexed == [(50, 100)]

    table = cb.runs(store=store)  # the run table's detail view
    try:
        reply, _ = table.handle_request("detail", {"run_id": ids[-1]})
    finally:
        table.close()
    assert reply["reply"]["artifacts"] == [
        {"path": capture.PACKAGES_ARTIFACT, "size": len(packages)},
        {"path": "source/train.py", "size": len(code)},
    ]


@pytest.mark.usefixtures("script")
def test_a_file_a_run_logs_at_a_captured_path_is_the_one_it_reads(store):
    with cb.start_run() as mine:
        cb.log_text("numpy==1.0\n", capture.PACKAGES_ARTIFACT)
    with cb.start_run() as other:
        pass
    client = cb.client()
    local = client.download_artifacts(mine.run_id, capture.PACKAGES_ARTIFACT)
    assert Path(local).read_text() == "numpy==1.0\n"
    assert client.list_artifacts(mine.run_id, "environment") == [
        cb.FileInfo(capture.PACKAGES_ARTIFACT, is_dir=False, file_size=11)
    ]
    packages, digest = environment.requirements()
    shared = client.download_artifacts(other.run_id, capture.PACKAGES_ARTIFACT)
    assert Path(shared).read_bytes() == packages
    assert _blobs(store)[digest] == packages


def test_a_download_is_a_copy_of_the_runs_files_shared_and_its_own(store, script, tmp_path):
    with cb.start_run() as run:
        cb.log_text("notes", "notes.txt")
        cb.log_text("extra", "source/extra.txt")
    client = cb.client()
    packages, digest = environment.requirements()
    expected = ["environment/requirements.txt", "notes.txt", "source/extra.txt", "source/train.py"]

    whole = Path(client.download_artifacts(run.run_id))
    assert whole.name == run.run_id
    assert [p.relative_to(whole).as_posix() for p in _files(whole)] == expected
    assert (whole / capture.PACKAGES_ARTIFACT).read_bytes() == packages
    (tmp_path / "dst").mkdir()
    copied = Path(client.download_artifacts(run.run_id, "source", str(tmp_path / "dst")))
    assert copied == tmp_path / "dst" / "source"
    assert [p.name for p in _files(copied)] == ["extra.txt", "train.py"]
    assert (copied / "train.py").read_bytes() == script.read_bytes()
    one = Path(client.download_artifacts(run.run_id, "source/train.py", str(tmp_path / "one")))
    assert one == tmp_path / "one" / "train.py"
    assert one.read_bytes() == script.read_bytes()

    # Writing to what a download gave changes no other read: the blob is never handed out.
    given = Path(client.download_artifacts(run.run_id, capture.PACKAGES_ARTIFACT))
    given.write_text("changed")
    (whole / capture.PACKAGES_ARTIFACT).write_text("changed too")
    again = client.download_artifacts(run.run_id, capture.PACKAGES_ARTIFACT)
    assert Path(again).read_bytes() == packages
    assert (store / layout.blob_path(digest)).read_bytes() == packages
    assert not (store / layout.ARTIFACTS_DIR / run.run_id / "environment").exists()
    with pytest.raises(FileNotFoundError, match="no artifact"):
        client.download_artifacts(run.run_id, "environment/other.txt")


def test_a_notebook_is_copied_as_saved_at_the_end_once_per_version(store, tmp_path):
    notebook = tmp_path / "train.ipynb"
    versions = [json.dumps({"cells": [], "n": n}).encode() for n in (1, 1, 2)]
    client = cb.client()
    ids = []
    for data in versions:
        notebook.write_bytes(data)
        run = client.create_run("0")
        capture.capture_run(run, ["source"], source=capture.Source("notebook", str(notebook)))
        run.log_text("not the notebook", "source/train.ipynb")  # the copy at the end replaces it
        run.end()
        ids.append(run.run_id)
    cb.flush()

    assert _blobs(store) == {_sha256(data): data for data in versions}  # two versions, two blobs
    assert _in_run_folders(store) == []
    for run_id, data in zip(ids, versions, strict=True):
        tags = client.get_run(run_id).data.tags
        assert tags["canvasback.source.copy"] == "source/train.ipynb"
        assert tags["canvasback.source.digest"] == f"sha256:{_sha256(data)}"
        local = client.download_artifacts(run_id, "source/train.ipynb")
        assert Path(local).read_bytes() == data


@pytest.mark.usefixtures("script")
def test_diff_runs_reads_shared_package_lists_and_runs_own_copies(store, extra_package):
    with cb.start_run(capture=False) as earlier:  # recorded as an earlier version did
        cb.log_text("numpy==1.0\nzzz-gone==2.0\n", capture.PACKAGES_ARTIFACT)
        cb.set_tag("canvasback.env.packages", capture.PACKAGES_ARTIFACT)
    with cb.start_run() as before:
        pass
    extra_package()
    with cb.start_run() as after:
        pass

    changed = cb.diff_runs(before.run_id, after.run_id).section("environment")
    assert [(d.key, d.original, d.reproduced) for d in changed] == [
        ("package fake-pkg", None, "1.0")
    ]
    against_earlier = {
        d.key: (d.original, d.reproduced)
        for d in cb.diff_runs(earlier.run_id, before.run_id).section("environment")
    }
    assert against_earlier["package zzz-gone"] == ("2.0", None)
    numpy = environment.installed_versions()["numpy"]
    assert against_earlier["package numpy"] == ("1.0", numpy)
    shared = [data for data in _blobs(store).values() if b"==" in data]
    assert len(shared) == 2  # one package list per environment, not per run
    assert b"fake-pkg==1.0\n" in max(shared, key=len)


@pytest.mark.slow  # the project's entry point runs in a child process
def test_reproduce_reads_both_runs_shared_package_lists(store, mlproject, extra_package):
    first = cb.run_project(mlproject, "main", {"alpha": 0.5, "epochs": 2})
    extra_package()
    comparison = cb.reproduce(first.run_id)
    packages = [
        (d.key, d.original, d.reproduced)
        for d in comparison.section("environment")
        if d.key.startswith("package ")
    ]
    assert packages == [("package fake-pkg", None, "1.0")]
    assert _in_run_folders(store) != []  # the project's output log is each run's own
    assert not any("requirements" in p.name for p in _in_run_folders(store))
    assert len([data for data in _blobs(store).values() if b"==" in data]) == 2


def test_the_package_list_is_read_from_each_distributions_metadata_header(tmp_path):
    # What importlib.metadata's parse of the whole file gives, field for field.
    for dist in importlib.metadata.distributions():
        expected = (dist.metadata["Name"] or "", dist.version or "")
        assert environment.name_and_version(dist) == expected, dist
    # A header of its own: lower-case field names, CRLF, a folded field, and a body that
    # mentions fields of its own.
    folder = tmp_path / "odd_pkg-2.0.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_bytes(
        b"Metadata-Version: 2.1\r\nname:  odd-pkg\r\nSummary: one\r\n  and two\r\n"
        b"version: 2.0\r\nVersion: 3.0\r\n\r\nName: not-this\r\nVersion: 9\r\n"
    )
    (dist,) = importlib.metadata.distributions(path=[str(tmp_path)])
    assert environment.name_and_version(dist) == ("odd-pkg", "2.0")
    assert (dist.metadata["Name"], dist.version) == ("odd-pkg", "2.0")
