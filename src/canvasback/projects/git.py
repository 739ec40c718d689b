"""The git state of the code a run comes from: commit, branch, remote, dirty, diff.

Asked of every new run, so it must cost microseconds, not the ~10 ms that a handful of
``git`` processes take: the answer is kept per repository root and process for
:data:`RECHECK_SECONDS`. After that the working tree is looked at again (``git status``,
and the diff when dirty), and the commit, branch and remote too if the repository's
HEAD, ref or index files changed. So a commit, a checkout or an edit shows in the runs
started a second later at most. git itself is the command-line tool: no library, no
repository parsing here.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

RECHECK_SECONDS: Final = 1.0
DIFF_LIMIT_ENV: Final = "CANVASBACK_CAPTURE_DIFF_LIMIT"
DEFAULT_DIFF_LIMIT: Final = 512 * 1024
_GIT_TIMEOUT: Final = 10.0


@dataclass(frozen=True)
class GitInfo:
    """What a run records of its repository (``diff`` only when the tree is dirty)."""

    root: str
    commit: str | None
    branch: str | None
    remote: str | None
    dirty: bool
    diff: bytes = field(default=b"", repr=False)
    diff_truncated: bool = False
    diff_digest: str | None = field(default=None, repr=False)
    """The diff's hex SHA-256, computed once with it (every run of a process names it)."""


@dataclass
class _Entry:
    fingerprint: tuple[int, ...]
    checked: float
    info: GitInfo


_lock = threading.Lock()
_cache: dict[str, _Entry] = {}
_roots: dict[str, str | None] = {}


def repo_root(path: str | os.PathLike[str]) -> str | None:
    """The working tree root holding ``path`` (a file or folder), or None; cached."""
    # Asked of every run: an absolute path asked before costs not even a stat.
    given = os.fspath(path)
    absolute = os.path.isabs(given)  # noqa: PTH117  # a test of the string, no Path made
    if absolute and given in _roots:
        return _roots[given]
    start = Path(path).absolute()
    folder = start if start.is_dir() else start.parent
    key = str(folder)
    if key in _roots:
        found = _roots[key]
    else:
        found = None
        for candidate in (folder, *folder.parents):
            if (candidate / ".git").exists():
                found = str(candidate)
                break
        _roots[key] = found
    if absolute:
        _roots[given] = found  # a file's path holds its folder's answer
    return found


def _git_dir(root: str) -> Path:
    dot_git = Path(root) / ".git"
    if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            target = Path(text.removeprefix("gitdir:").strip())
            return target if target.is_absolute() else (Path(root) / target).resolve()
    return dot_git


def _fingerprint(root: str) -> tuple[int, ...]:
    """Modification times of the files a commit, checkout or ``git add`` rewrites."""
    git_dir = _git_dir(root)
    names = [git_dir / "HEAD", git_dir / "index", git_dir / "packed-refs"]
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        head = ""
    if head.startswith("ref:"):
        names.append(git_dir / head.removeprefix("ref:").strip())
    stamps = []
    for name in names:
        try:
            stamps.append(name.stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return tuple(stamps)


def git_info(path: str | os.PathLike[str]) -> GitInfo | None:
    """The git state of the repository holding ``path``, or None outside one."""
    root = repo_root(path)
    if root is None or _git_program(os.environ.get("PATH")) is None:
        return None
    now = time.monotonic()
    with _lock:
        entry = _cache.get(root)
        if entry is not None and now - entry.checked < RECHECK_SECONDS:
            return entry.info
    fingerprint = _fingerprint(root)
    info = _ask_git(root, entry.info if entry and entry.fingerprint == fingerprint else None)
    with _lock:
        _cache[root] = _Entry(fingerprint, now, info)
    return info


@functools.lru_cache(maxsize=4)
def _git_program(search_path: str | None) -> str | None:
    """Where ``git`` is on a ``PATH`` (looked for once per value of it, not per run)."""
    return shutil.which("git", path=search_path)


def forget() -> None:
    """Drop what is known of every repository (the next run asks git again)."""
    with _lock:
        _cache.clear()
        _roots.clear()
    _git_program.cache_clear()


def _run(root: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603  # fixed arguments, no shell
        ["git", "-C", root, *args],  # noqa: S607  # git as found on PATH, as a user runs it
        capture_output=True,
        timeout=_GIT_TIMEOUT,
        check=False,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
    )


def _text(result: subprocess.CompletedProcess[bytes]) -> str | None:
    out = result.stdout.decode("utf-8", errors="replace").strip()
    return out if result.returncode == 0 and out else None


def _ask_git(root: str, known: GitInfo | None) -> GitInfo:
    """Ask git; ``known`` (same HEAD and index) spares the commit, branch and remote."""
    try:
        if known is None:
            commit = _text(_run(root, "rev-parse", "--verify", "-q", "HEAD"))
            branch = _text(_run(root, "symbolic-ref", "-q", "--short", "HEAD"))
            remote = _remote_url(root)
        else:
            commit, branch, remote = known.commit, known.branch, known.remote
        # Tracked files only (untracked ones are not part of any commit), as MLflow's.
        status = _run(root, "status", "--porcelain", "--untracked-files=no")
        dirty = status.returncode == 0 and bool(status.stdout.strip())
        diff, truncated = _diff(root, has_head=commit is not None) if dirty else (b"", False)
    except (OSError, subprocess.SubprocessError):
        return GitInfo(root, None, None, None, dirty=False)
    digest = hashlib.sha256(diff).hexdigest() if diff else None
    return GitInfo(root, commit, branch, remote, dirty, diff, truncated, digest)


def _remote_url(root: str) -> str | None:
    url = _text(_run(root, "config", "--get", "remote.origin.url"))
    if url is None:
        first = (_text(_run(root, "remote")) or "").splitlines()
        url = _text(_run(root, "config", "--get", f"remote.{first[0]}.url")) if first else None
    return url


def diff_limit() -> int:
    """The most bytes of diff a run keeps (``CANVASBACK_CAPTURE_DIFF_LIMIT``)."""
    raw = os.environ.get(DIFF_LIMIT_ENV, "")
    try:
        return max(0, int(raw)) if raw else DEFAULT_DIFF_LIMIT
    except ValueError:
        return DEFAULT_DIFF_LIMIT


def _diff(root: str, *, has_head: bool) -> tuple[bytes, bool]:
    """Staged and unstaged changes of tracked files against HEAD, cut at the limit."""
    args = ["diff", "--no-color", "--no-ext-diff", "--binary"]
    result = _run(root, *args, "HEAD") if has_head else _run(root, *args, "--cached")
    if result.returncode != 0:
        return b"", False
    limit = diff_limit()
    if len(result.stdout) <= limit:
        return result.stdout, False
    return result.stdout[:limit], True
