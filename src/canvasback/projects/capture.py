"""What every new run records so that it can be reproduced: its code and environment.

The package root registers :func:`capture_hook` as a run-create hook, so each run that
``start_run`` creates (not one it resumes) gets, unless switched off:

``git``
    ``canvasback.source.git.{commit,branch,remote,dirty,root}`` and MLflow's
    ``mlflow.source.git.{commit,branch,repoURL}``.
``diff``
    the diff of tracked files against HEAD when the tree is dirty, as the artifact
    ``source/diff.patch`` (at most ``CANVASBACK_CAPTURE_DIFF_LIMIT`` bytes, 512 KiB by
    default; ``canvasback.source.git.diff_truncated`` says when it was cut).
``source``
    ``canvasback.source.{kind,path,command,digest}`` (the file's sha256) and MLflow's
    ``mlflow.source.{name,type}``;
    a copy of the script (``source/<script>``) at the start, or of the notebook
    (``source/<notebook>.ipynb``) when the run ends.
``environment``
    ``canvasback.env.{python,python_implementation,executable,platform,hostname,user}``
    and ``canvasback.env.lib.<distribution>`` for each ML library in use.
``packages``
    ``name==version`` of every installed distribution, as the artifact
    ``environment/requirements.txt`` (``canvasback.env.packages`` names it).

``CANVASBACK_CAPTURE`` chooses the parts for a process: unset or ``all`` for every
part, ``none`` (or ``0``, ``off``) for none, a list such as ``git,environment``, or
``-diff,-packages`` for all but those; :func:`set_capture` overrides it, and
``start_run(capture=...)`` overrides both for one run.

The three files are the same for every run of a process (until the script, the
checkout or the packages change), so each is stored once per store, in its blobs
(``store/blobs.py``), and every run names it (``tracking/artifact_links.py``): its
artifact index has the file, and a ``canvasback.blob.<path>`` tag its digest. What does
not change within a process is computed once (the package list, a file's digest per
version of it; git's answer for a second, ``git.py``), and capture is done when
``start_run`` returns: nothing of it runs beside the run's own code (a notebook's copy
is taken by ``end_run``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from canvasback.projects import environment, git
from canvasback.tracking.artifacts import ArtifactStore
from canvasback.tracking.context import Slot, current_context
from canvasback.tracking.validation import MAX_TAG_VALUE_LENGTH, InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from canvasback.tracking.hooks import RunAttach
    from canvasback.tracking.run import Run

CAPTURE_ENV: Final = "CANVASBACK_CAPTURE"
PARTS: Final = ("git", "diff", "source", "environment", "packages")
SOURCE_PREFIX: Final = "canvasback.source."
ENV_PREFIX: Final = "canvasback.env."
DIFF_ARTIFACT: Final = "source/diff.patch"
PACKAGES_ARTIFACT: Final = "environment/requirements.txt"
SOURCE_COPY_LIMIT: Final = 4 * 1024 * 1024  # a script or notebook bigger than this is not copied
_ON: Final = frozenset({"", "1", "all", "true", "on", "yes"})
_OFF: Final = frozenset({"0", "none", "false", "off", "no"})

# set_capture's choice, the process's (None: CANVASBACK_CAPTURE decides).
_CHOSEN: Final[Slot[frozenset[str] | None]] = Slot("set_capture's parts", lambda _ctx: None)
# Scripts' and notebooks' contents and digests: per path, the version (mtime, size) held,
# its bytes and hex SHA-256; a new version replaces the old, so a file edited all day
# costs one.
_lock = threading.Lock()
_files: dict[str, tuple[tuple[int, int], bytes, str]] = {}


class CaptureWarning(UserWarning):
    """A run's code or environment could not be recorded; the run goes on without it."""


@dataclass(frozen=True)
class Source:
    """Where a run's code comes from."""

    kind: str
    """``script``, ``notebook``, ``project`` or ``console``."""
    path: str | None = None
    """The script, notebook or project folder."""
    command: str | None = None
    """The command line that started it."""
    entry_point: str | None = None

    @property
    def mlflow_type(self) -> str:
        """MLflow's ``mlflow.source.type``."""
        return {"notebook": "NOTEBOOK", "project": "PROJECT"}.get(self.kind, "LOCAL")


def parse_parts(value: object, *, what: str = "capture") -> frozenset[str]:
    """The parts a capture setting names; an error names the value and what is allowed."""
    if value is True:
        return frozenset(PARTS)
    if value is False:
        return frozenset()
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _ON:
            return frozenset(PARTS)
        if word in _OFF:
            return frozenset()
        items = [item.strip().lower() for item in word.split(",") if item.strip()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = [str(item).strip().lower() for item in value]
        if not items:
            return frozenset()
    else:
        msg = (
            f"Invalid {what} {value!r}: use True, False, 'all', 'none', or parts among "
            f"{', '.join(PARTS)} (a list, or a comma-separated string; '-diff' leaves one out)"
        )
        raise InvalidInputError(msg)
    unknown = [item for item in items if item.lstrip("-") not in PARTS]
    if unknown:
        msg = (
            f"Invalid {what} {value!r}: unknown part {unknown[0]!r}; the parts are "
            f"{', '.join(PARTS)} (or 'all', 'none'; '-diff' leaves one out)"
        )
        raise InvalidInputError(msg)
    excluded = {item[1:] for item in items if item.startswith("-")}
    included = {item for item in items if not item.startswith("-")}
    return frozenset((included or set(PARTS)) - excluded)


def set_capture(parts: object) -> frozenset[str]:
    """Choose what this process's new runs record (None: back to ``CANVASBACK_CAPTURE``)."""
    current_context().set(_CHOSEN, None if parts is None else parse_parts(parts))
    return current_parts()


def current_parts() -> frozenset[str]:
    """The parts new runs record now: :func:`set_capture`, else ``CANVASBACK_CAPTURE``."""
    chosen = current_context().get(_CHOSEN)
    if chosen is not None:
        return chosen
    return parse_parts(os.environ.get(CAPTURE_ENV, "all"), what=CAPTURE_ENV)


def capture_hook(capture: object) -> RunAttach | None:
    """The run-create hook: what to record of the run about to be created, if anything."""
    parts = current_parts() if capture is None else parse_parts(capture)
    if not parts:
        return None
    return functools.partial(capture_run, parts=parts)


def capture_run(
    run: Run,
    parts: Iterable[str] | None = None,
    *,
    source: Source | None = None,
    modules: Iterable[str] | None = None,
) -> None:
    """Record a run's code and environment (for runs made with ``Client.create_run``).

    ``source`` describes the code when it is not this process's own (a notebook or
    project being launched); ``modules`` are the modules that code imports, for the
    library versions (default: those imported in this process).
    """
    chosen = current_parts() if parts is None else frozenset(parts)
    try:
        _capture(run, chosen, source or process_source(), modules)
    except Exception as exc:  # noqa: BLE001  # recording is a help, never a reason to fail
        warnings.warn(
            f"canvasback could not record the code or environment of run {run.run_id}: {exc}",
            CaptureWarning,
            stacklevel=2,
        )


def _capture(
    run: Run, parts: frozenset[str], source: Source, modules: Iterable[str] | None
) -> None:
    tags: dict[str, str] = {}
    artifacts = ArtifactStore(run.store)
    if "source" in parts:
        tags.update(_source_tags(source))
    if "git" in parts or "diff" in parts:
        info = git.git_info(source.path or Path.cwd())
        if info is not None and "git" in parts:
            tags.update(_git_tags(info))
        if info is not None and info.dirty and "diff" in parts and info.diff:
            artifacts.log_shared_bytes(run, info.diff, DIFF_ARTIFACT, digest=info.diff_digest)
            tags[SOURCE_PREFIX + "git.diff"] = DIFF_ARTIFACT
            if info.diff_truncated:
                tags[SOURCE_PREFIX + "git.diff_truncated"] = "true"
    if "environment" in parts:
        tags.update({ENV_PREFIX + k: v for k, v in environment.basics().items()})
        libs = environment.library_versions(modules)
        tags.update({f"{ENV_PREFIX}lib.{name}": version for name, version in libs.items()})
    if "packages" in parts:
        text, digest = environment.requirements()
        artifacts.log_shared_bytes(run, text, PACKAGES_ARTIFACT, digest=digest)
        tags[ENV_PREFIX + "packages"] = PACKAGES_ARTIFACT
    if "source" in parts and source.path and source.kind in ("script", "notebook"):
        _copy_source(run, artifacts, source, tags)
    run.set_tags({key: value[:MAX_TAG_VALUE_LENGTH] for key, value in tags.items()})


def _source_tags(source: Source) -> dict[str, str]:
    tags = {SOURCE_PREFIX + "kind": source.kind, "mlflow.source.type": source.mlflow_type}
    if source.path:
        tags[SOURCE_PREFIX + "path"] = source.path
        tags["mlflow.source.name"] = source.path
    if source.command:
        tags[SOURCE_PREFIX + "command"] = source.command
    if source.entry_point:
        tags[SOURCE_PREFIX + "entry_point"] = source.entry_point
        tags["mlflow.project.entryPoint"] = source.entry_point
    return tags


def _git_tags(info: git.GitInfo) -> dict[str, str]:
    tags = {
        SOURCE_PREFIX + "git.root": info.root,
        SOURCE_PREFIX + "git.dirty": "true" if info.dirty else "false",
    }
    for name, value, mlflow_name in (
        ("commit", info.commit, "mlflow.source.git.commit"),
        ("branch", info.branch, "mlflow.source.git.branch"),
        ("remote", info.remote, "mlflow.source.git.repoURL"),
    ):
        if value:
            tags[f"{SOURCE_PREFIX}git.{name}"] = value
            tags[mlflow_name] = value
    return tags


def _copy_source(run: Run, artifacts: ArtifactStore, source: Source, tags: dict[str, str]) -> None:
    path = Path(source.path or "")
    name = f"source/{path.name}"
    kept = _kept_file(path)
    if kept is not None:
        tags[SOURCE_PREFIX + "digest"] = "sha256:" + kept[1]
    if source.kind == "script":
        if kept is not None:
            artifacts.log_shared_bytes(run, kept[0], name, digest=kept[1])
            tags[SOURCE_PREFIX + "copy"] = name
        return

    # A notebook changes while it runs: the copy is taken as it is saved when the run ends.
    def copy_at_end(ended: Run, _status: str) -> None:
        saved = _kept_file(path)
        if saved is not None:
            artifacts.log_shared_bytes(ended, saved[0], name, digest=saved[1], replace=True)

    if path.is_file():
        run.on_end(copy_at_end)
        tags[SOURCE_PREFIX + "copy"] = name


def _kept_file(path: Path) -> tuple[bytes, str] | None:
    """A script's or notebook's bytes and hex SHA-256, read once per version of the file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    if stat.st_size > SOURCE_COPY_LIMIT:
        return None
    version = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        held = _files.get(str(path))
    if held is None or held[0] != version:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        held = (version, data, hashlib.sha256(data).hexdigest())
        with _lock:
            _files[str(path)] = held
    return held[1], held[2]


@functools.cache
def process_source() -> Source:
    """The code of the process itself: the notebook of a kernel, the script, or a console."""
    if "ipykernel" in sys.modules:
        return Source("notebook", _kernel_notebook())
    main = sys.argv[0] if sys.argv else ""
    command = shlex.join([Path(sys.executable).name, *sys.argv]) if main else None
    if main and main not in ("-c", "-m") and Path(main).is_file():
        return Source("script", str(Path(main).absolute()), command)
    return Source("console", None, command)


def _kernel_notebook() -> str | None:
    """The notebook a kernel runs, as Jupyter Server (or VS Code) tells it."""
    main = sys.modules.get("__main__")
    candidates = [
        os.environ.get("JPY_SESSION_NAME", ""),
        str(getattr(main, "__vsc_ipynb_file__", "") or ""),
    ]
    for candidate in candidates:
        if not candidate:
            continue
        path = Path(candidate)
        for found in (path, Path.cwd() / path.name):
            if found.suffix == ".ipynb" and found.is_file():
                return str(found.absolute())
    return None
