"""Every new run records its code version and environment; each part can be switched off.

A real git repository in a temp folder, clean and then dirty; scripts run in child
processes so that the run's source is a real script file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.git_commands import run_git

import canvasback as cb
from canvasback.projects import capture, environment, git


@pytest.fixture(autouse=True)
def _capture_on(monkeypatch):
    """Capture as it is by default (the suite's conftest switches it off elsewhere)."""
    monkeypatch.delenv("CANVASBACK_CAPTURE", raising=False)


@pytest.fixture
def repo(tmp_path):
    """A git repository with one commit, a branch and a remote."""
    root = tmp_path / "repo"
    root.mkdir()
    run_git(root, "init", "-q", "-b", "trunk")
    run_git(root, "config", "user.email", "dev@example.com")
    run_git(root, "config", "user.name", "Dev")
    run_git(root, "remote", "add", "origin", "https://example.com/team/model.git")
    (root / "train.py").write_text(
        "import sys\nimport pandas\nimport canvasback as cb\ncb.set_store(sys.argv[1])\n"
        "with cb.start_run() as run:\n    cb.log_metric('m', 1.0)\nprint(run.run_id)\n"
    )
    run_git(root, "add", "train.py")
    run_git(root, "commit", "-q", "-m", "first")
    git.forget()
    yield root
    git.forget()


def _run_script(repo: Path, store: Path, *extra_env: tuple[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVASBACK_")}
    env.update(dict(extra_env))
    out = subprocess.run(
        [sys.executable, str(repo / "train.py"), str(store), "--flag"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=repo,
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.slow  # the script runs in a child process
def test_a_script_run_records_commit_branch_remote_environment_and_packages(repo, store):
    run_id = _run_script(repo, store)
    run = cb.get_run(run_id)
    tags = run.data.tags
    commit = run_git(repo, "rev-parse", "HEAD")
    assert tags["canvasback.source.git.commit"] == commit
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["canvasback.source.git.branch"] == "trunk"
    assert tags["mlflow.source.git.branch"] == "trunk"
    assert tags["canvasback.source.git.remote"] == "https://example.com/team/model.git"
    assert tags["mlflow.source.git.repoURL"] == "https://example.com/team/model.git"
    assert tags["canvasback.source.git.dirty"] == "false"
    assert "canvasback.source.git.diff" not in tags
    assert tags["canvasback.source.kind"] == "script"
    assert tags["canvasback.source.path"] == str(repo / "train.py")
    assert tags["mlflow.source.name"] == str(repo / "train.py")
    assert tags["canvasback.source.command"].endswith("train.py " + str(store) + " --flag")
    assert tags["canvasback.env.python"] == ".".join(map(str, sys.version_info[:3]))
    assert tags["canvasback.env.hostname"]
    assert tags["canvasback.env.user"] == tags["mlflow.user"]
    # The libraries the script loaded, and only those.
    libs = {k.removeprefix("canvasback.env.lib."): v for k, v in tags.items() if ".lib." in k}
    assert libs["pandas"] == environment.installed_versions()["pandas"]
    assert "torch" not in libs
    digest = hashlib.sha256((repo / "train.py").read_bytes()).hexdigest()
    assert tags["canvasback.source.digest"] == f"sha256:{digest}"
    files = {f.path for f in cb.client().list_artifacts(run_id, "source")}
    assert files == {"source/train.py"}
    script = Path(cb.client().download_artifacts(run_id, "source/train.py")).read_text()
    assert script == (repo / "train.py").read_text()
    packages = Path(cb.client().download_artifacts(run_id, capture.PACKAGES_ARTIFACT))
    lines = packages.read_text().splitlines()
    assert f"duckdb=={environment.installed_versions()['duckdb']}" in lines
    assert [line.partition("==")[0] for line in lines] == sorted(environment.installed_versions())


@pytest.mark.slow  # the script runs in a child process
def test_a_dirty_tree_is_recorded_with_the_diff_of_tracked_files(repo, store):
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# tuned\n")
    (repo / "untracked.txt").write_text("not part of any commit\n")
    run_id = _run_script(repo, store)
    tags = cb.get_run(run_id).data.tags
    assert tags["canvasback.source.git.dirty"] == "true"
    assert tags["canvasback.source.git.diff"] == capture.DIFF_ARTIFACT
    diff = Path(cb.client().download_artifacts(run_id, capture.DIFF_ARTIFACT)).read_text()
    assert "+# tuned" in diff
    assert "untracked" not in diff
    assert "canvasback.source.git.diff_truncated" not in tags


@pytest.mark.slow  # the script runs in a child process
def test_the_runs_of_a_script_share_one_copy_of_its_diff_script_and_packages(repo, store):
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# tuned\n")
    (repo / "many.py").write_text(
        "import sys\nimport canvasback as cb\ncb.set_store(sys.argv[1])\nfor _ in range(20):\n"
        "    with cb.start_run() as run:\n        pass\n    print(run.run_id)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVASBACK_")}
    out = subprocess.run(
        [sys.executable, str(repo / "many.py"), str(store)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=repo,
    )
    ids = out.stdout.split()
    assert len(ids) == 20
    blobs = {p.name: p.read_bytes() for p in (store / "blobs" / "sha256").iterdir()}
    (diff,) = [data for data in blobs.values() if data.startswith(b"diff --git")]
    assert b"+# tuned" in diff
    script = (repo / "many.py").read_bytes()
    assert blobs[hashlib.sha256(script).hexdigest()] == script
    assert len(blobs) == 3  # the diff, the script and the package list: once each
    run_folders = [p for p in (store / "artifacts").iterdir() if not p.name.startswith("exp=")]
    assert run_folders == []
    for run_id in (ids[0], ids[-1]):
        tags = cb.get_run(run_id).data.tags
        assert tags["canvasback.source.git.diff"] == capture.DIFF_ARTIFACT
        local = cb.client().download_artifacts(run_id, capture.DIFF_ARTIFACT)
        assert Path(local).read_bytes() == diff
        assert Path(cb.client().download_artifacts(run_id, "source/many.py")).read_bytes() == script
        files = {f.path for f in cb.client().list_artifacts(run_id)}
        assert files == {"environment", "source"}


@pytest.mark.slow  # the script runs in a child process
def test_the_diff_is_capped_and_says_so(repo, store):
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# x\n" * 5000)
    run_id = _run_script(repo, store, ("CANVASBACK_CAPTURE_DIFF_LIMIT", "1000"))
    tags = cb.get_run(run_id).data.tags
    diff = Path(cb.client().download_artifacts(run_id, capture.DIFF_ARTIFACT)).read_bytes()
    assert len(diff) == 1000
    assert tags["canvasback.source.git.diff_truncated"] == "true"


@pytest.mark.slow  # the script runs in a child process
def test_capture_switched_off_by_environment_records_nothing(repo, store):
    run_id = _run_script(repo, store, ("CANVASBACK_CAPTURE", "none"))
    tags = cb.get_run(run_id).data.tags
    assert not [k for k in tags if k.startswith(("canvasback.source.", "canvasback.env."))]
    assert cb.client().list_artifacts(run_id) == []


@pytest.mark.slow  # the script runs in a child process
def test_parts_can_be_left_out_by_environment(repo, store):
    run_id = _run_script(repo, store, ("CANVASBACK_CAPTURE", "-packages,-source"))
    tags = cb.get_run(run_id).data.tags
    assert "canvasback.source.git.commit" in tags
    assert "canvasback.env.python" in tags
    assert "canvasback.env.packages" not in tags
    assert "canvasback.source.path" not in tags
    assert cb.client().list_artifacts(run_id) == []


@pytest.mark.usefixtures("store")
def test_start_run_capture_argument_overrides_the_setting(monkeypatch):
    monkeypatch.setenv("CANVASBACK_CAPTURE", "none")
    with cb.start_run(capture=["environment"]) as run:
        pass
    with cb.start_run() as off:
        pass
    with cb.start_run(capture=True) as everything:
        pass
    cb.flush()
    assert "canvasback.env.python" in cb.get_run(run.run_id).data.tags
    assert "canvasback.env.packages" not in cb.get_run(run.run_id).data.tags
    assert "canvasback.env.python" not in cb.get_run(off.run_id).data.tags
    assert "canvasback.env.packages" in cb.get_run(everything.run_id).data.tags


@pytest.mark.usefixtures("store")
def test_set_capture_chooses_for_the_process():
    try:
        assert cb.set_capture("git") == frozenset({"git"})
        with cb.start_run() as run:
            pass
    finally:
        cb.set_capture(None)
    cb.flush()
    tags = cb.get_run(run.run_id).data.tags
    assert "canvasback.env.python" not in tags
    assert capture.current_parts() == frozenset(capture.PARTS)


@pytest.mark.parametrize("bad", ["everything", ["git", "gpu"], 3])
@pytest.mark.usefixtures("store")
def test_a_bad_capture_setting_is_refused_before_the_run_exists(bad):
    before = len(cb.search_runs())
    with pytest.raises(cb.InvalidInputError, match=r"capture .*(allowed|parts)"):
        cb.start_run(capture=bad)
    assert cb.active_run() is None
    assert len(cb.search_runs()) == before


@pytest.mark.usefixtures("store")
def test_library_versions_in_use_are_tags():
    import numpy as np  # noqa: F401, PLC0415  # imported: in use

    with cb.start_run() as run:
        pass
    cb.flush()
    tags = cb.get_run(run.run_id).data.tags
    assert tags["canvasback.env.lib.numpy"] == environment.installed_versions()["numpy"]


@pytest.mark.usefixtures("store")
def test_resumed_runs_are_not_captured_again():
    with cb.start_run(capture=False) as run:
        pass
    with cb.start_run(run_id=run.run_id):
        pass
    cb.flush()
    assert "canvasback.env.python" not in cb.get_run(run.run_id).data.tags


def test_git_state_is_cached_until_the_repository_changes(repo, monkeypatch):
    first = git.git_info(repo / "train.py")
    assert first is not None
    assert first.commit == run_git(repo, "rev-parse", "HEAD")
    git_processes: list[tuple[str, ...]] = []
    real_run = git._run

    def counted_run(root: str, *args: str) -> subprocess.CompletedProcess[bytes]:
        git_processes.append(args)
        return real_run(root, *args)

    monkeypatch.setattr(git, "_run", counted_run)
    for _ in range(200):
        assert git.git_info(repo / "train.py") is first
    # an unchanged repository is looked at again at most once a recheck interval, and
    # then only its fingerprint: no git process for any of the 200 runs
    assert git_processes == []
    (repo / "other.py").write_text("x = 1\n")
    run_git(repo, "add", "other.py")
    run_git(repo, "commit", "-q", "-m", "second")
    head = run_git(repo, "rev-parse", "HEAD")
    deadline = time.monotonic() + git.RECHECK_SECONDS + 5
    while (after := git.git_info(repo)) is not None and after.commit != head:
        assert time.monotonic() < deadline, "the new commit never showed"
    assert after is not None
    assert after.commit == head != first.commit


def test_an_edit_shows_as_dirty_within_the_recheck_interval(repo):
    assert git.git_info(repo) is not None
    (repo / "train.py").write_text("changed = True\n")
    deadline = time.monotonic() + git.RECHECK_SECONDS + 5
    while time.monotonic() < deadline:
        info = git.git_info(repo)
        if info is not None and info.dirty:
            break
    else:
        pytest.fail("an edited tracked file never showed as dirty")
    assert b"+changed = True" in info.diff


@pytest.mark.usefixtures("store")
def test_outside_a_repository_there_are_no_git_tags(tmp_path):
    assert git.git_info(tmp_path) is None
    assert git.repo_root(tmp_path) is None or not (tmp_path / ".git").exists()
