"""A run's files whose content is stored once for many runs: the run names them by tags.

What many runs record alike (the package list, the script, the diff of the checkout
that capture records) is a blob of the store (``store/blobs.py``, written once). Each
run still has the file: an index row at its path, like any artifact's (so the run
table's detail view and ``sql()``'s ``artifacts`` view show it), and the tag
``canvasback.blob.<path>`` = ``sha256:<hex digest>``, which the reads of the run's
artifacts follow (``ArtifactStore.list``, ``download``). Nothing is in the run's folder
at that path; a file that is (logged there later) is the one read.

A tag whose key or value is not of this shape is an ordinary tag, and a path it names
stays inside the run's artifacts as every artifact path does; the digest names a file
of the store's blobs folder and nothing else.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

from canvasback.store.blobs import HEX_DIGEST
from canvasback.tracking import validation
from canvasback.tracking.entities import FileInfo

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.store import Store

BLOB_TAG_PREFIX: Final = "canvasback.blob."
DIGEST_PREFIX: Final = "sha256:"

_temp_lock = threading.Lock()
_temp: dict[str, Path] = {}  # the process's folder of copies, made on first need


def blob_tag(path: str) -> str | None:
    """The tag that names the content of the artifact ``path``; None if no key spells it."""
    key = BLOB_TAG_PREFIX + path
    try:
        return validation.validate_key("tag", key)
    except validation.InvalidInputError:
        return None


def linked_files(tags: Mapping[str, str]) -> dict[str, str]:
    """``{artifact path: hex digest}`` of the files a run's tags name as blobs."""
    out: dict[str, str] = {}
    for key, value in tags.items():
        if not key.startswith(BLOB_TAG_PREFIX) or not value.startswith(DIGEST_PREFIX):
            continue
        path, digest = key.removeprefix(BLOB_TAG_PREFIX), value.removeprefix(DIGEST_PREFIX)
        try:
            if validation.artifact_path(path) != path:
                continue
        except validation.InvalidInputError:
            continue
        if path and HEX_DIGEST.fullmatch(digest):
            out[path] = digest
    return out


def below(links: Mapping[str, str], path: str) -> dict[str, str]:
    """The links at or below ``path``, keyed by their path relative to it (``""``: itself)."""
    if not path:
        return dict(links)
    prefix = path + "/"
    out = {p.removeprefix(prefix): d for p, d in links.items() if p.startswith(prefix)}
    if path in links:
        out[""] = links[path]
    return out


def listed(
    store: Store, folder: str, own: list[FileInfo], links: Mapping[str, str]
) -> list[FileInfo]:
    """``own`` (the folder's entries on disk) with the linked files and folders beside them."""
    prefix = f"{folder}/" if folder else ""
    shown = {f.path for f in own}
    out = list(own)
    for sub, digest in sorted(below(links, folder).items()):
        head, deeper, _ = sub.partition("/")
        entry = prefix + head
        if not head or entry in shown:  # the run's own file or folder of that name wins
            continue
        if deeper:
            out.append(FileInfo(entry, is_dir=True, file_size=None))
        else:
            size = store.blobs.size(digest)
            if size is None:  # a tag naming content the store does not hold: no file
                continue
            out.append(FileInfo(entry, is_dir=False, file_size=size))
        shown.add(entry)
    return out


def materialise(
    store: Store, own: Path | None, name: str, links: Mapping[str, str], dst_path: str | None
) -> str:
    """A local file or folder ``name`` of a run's own files (``own``) and linked ones.

    ``links`` are keyed by their path below it (``""``: ``name`` is a linked file).
    Written below ``dst_path``, else below a folder of this process's (removed at its
    exit): never the store's blob itself, which other runs share.
    """
    if "" in links and own is None:
        digest = links[""]
        if dst_path is None:
            return str(_kept_copy(store, digest, name))
        target = Path(dst_path) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_blob(store, digest, name), target)
        return str(target)
    # A fresh folder of the process's: links to the run's own files, as reading them in
    # the store itself; the caller's folder: copies, to change without touching the store.
    if dst_path is None:
        target = Path(tempfile.mkdtemp(dir=_temp_root())) / name
    else:
        target = Path(dst_path) / name
    target.mkdir(parents=True, exist_ok=True)
    own_files: set[str] = set()
    if own is not None:
        place = _link_or_copy if dst_path is None else shutil.copy2
        shutil.copytree(own, target, dirs_exist_ok=True, copy_function=place)
        own_files = {p.relative_to(own).as_posix() for p in own.rglob("*")}
    for sub, digest in sorted(links.items()):
        if not sub or sub in own_files:  # the run's own file at that path wins
            continue
        dest = target / sub
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_blob(store, digest, sub), dest)
    return str(target)


def _blob(store: Store, digest: str, name: str) -> Path:
    try:
        return store.blobs.local_copy(digest)
    except FileNotFoundError:
        msg = (
            f"The artifact {name!r} is the content {DIGEST_PREFIX}{digest}, which the "
            f"store {store.url!r} does not hold (its blobs folder lacks it)"
        )
        raise FileNotFoundError(msg) from None


def _kept_copy(store: Store, digest: str, name: str) -> Path:
    """A copy of a blob under ``name``, made once per process and checked when reused."""
    target = _temp_root() / digest / name
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
        return target  # not written to since it was made
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{threading.get_ident()}.part")  # short, whatever the name
    shutil.copyfile(_blob(store, digest, name), part)
    part.replace(target)
    return target


def _link_or_copy(source: str, target: str) -> None:
    """A hard link to a run's own file (as reading it in the store itself), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _temp_root() -> Path:
    """The process's folder of copies, removed when the process exits."""
    pid = str(os.getpid())  # a forked child makes its own, and leaves its parent's alone
    with _temp_lock:
        root = _temp.get(pid)
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="canvasback-artifacts-"))
            _temp.clear()
            _temp[pid] = root
            atexit.register(_remove, root, pid)
        return root


def _remove(root: Path, pid: str) -> None:
    if str(os.getpid()) == pid:
        shutil.rmtree(root, ignore_errors=True)
