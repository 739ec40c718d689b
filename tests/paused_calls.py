"""A store call run in a child process that stops right after a chosen write.

The race and kill tests of names (the registry's models, tracking's experiments) start
one call in a child, let it stop after its n-th write whose path holds a pattern, act
from another process, then resume the child or kill it with SIGKILL.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess as sp
    from collections.abc import Callable
    from pathlib import Path

CALL_SCRIPT = """
import json
import sys
import threading
import time
from pathlib import Path

import canvasback as cb
from canvasback.store.fs import LocalFileSystem

spec = json.loads(Path(sys.argv[1]).read_text())
folder = Path(spec["folder"])
pattern, stop_at = spec["pause"] or ("", 0)
writes = []


def stop_here():
    (folder / "paused").write_text(writes[-1])
    if spec["then"] == "kill":
        threading.Event().wait()  # until the test sends SIGKILL
    deadline = time.monotonic() + 120
    while not (folder / "resume").exists():
        if time.monotonic() > deadline:
            sys.exit("never resumed")
        time.sleep(0.002)


def watch(method):
    original = getattr(LocalFileSystem, method)

    def wrapped(self, rel, *args, **kwargs):
        result = original(self, rel, *args, **kwargs)
        if pattern in rel:
            writes.append(rel)
            if len(writes) == stop_at:
                stop_here()
        return result

    setattr(LocalFileSystem, method, wrapped)


for method in spec["watch"]:
    watch(method)
client = cb.MlflowClient(spec["store"])
try:
    result = getattr(client, spec["op"])(*spec["args"], **spec["kwargs"])
    if spec["flush"]:
        client.store.flush()
except Exception as exc:
    outcome = {"raised": type(exc).__name__, "message": str(exc)}
else:
    if spec["entity"]:  # a model or a version: its name or number
        result = getattr(result, "version", None) or getattr(result, "name", None)
    outcome = {"returned": result}
(folder / "outcome.json").write_text(json.dumps({**outcome, "writes": writes}))
"""


@dataclass
class Call:
    """A call running in a child process."""

    child: sp.Popen[str]
    folder: Path

    def stopped(self) -> bool:
        return (self.folder / "paused").exists()

    def finished(self) -> bool:
        return (self.folder / "outcome.json").exists() or self.child.poll() is not None


def starter(
    tmp_path: Path,
    spawn_python: Callable[..., sp.Popen[str]],
    wait: Callable[..., None],
    *,
    watch: tuple[str, ...],
    flush: bool,
    entity: bool,
) -> Callable[..., Call]:
    """``start(root, op, *args, pause=(pattern, n), then="resume" | "kill", **kwargs)``.

    ``watch`` names the file system's methods whose writes count; ``flush`` flushes
    after the call; ``entity`` reports a returned entity by its version or name.
    """
    counter = itertools.count()

    def start(
        root: Path,
        op: str,
        *args: object,
        pause: tuple[str, int] | None = None,
        then: str = "resume",
        **kwargs: object,
    ) -> Call:
        folder = tmp_path / f"call-{next(counter)}"
        folder.mkdir()
        spec = {
            "store": str(root),
            "folder": str(folder),
            "op": op,
            "args": args,
            "kwargs": kwargs,
            "pause": pause,
            "then": then,
            "watch": watch,
            "flush": flush,
            "entity": entity,
        }
        (folder / "spec.json").write_text(json.dumps(spec))
        call = Call(spawn_python(CALL_SCRIPT, folder / "spec.json"), folder)
        wait(lambda: call.stopped() or call.finished(), timeout=60, what=f"{op} to stop")
        return call

    return start


def resume(call: Call, wait: Callable[..., None]) -> dict[str, Any]:
    """Let a stopped call go on; its outcome (``returned`` or ``raised``)."""
    (call.folder / "resume").touch()
    wait(call.finished, timeout=60, what="the call to end")
    _out, err = call.child.communicate(timeout=60)
    assert call.child.returncode == 0, err
    outcome: dict[str, Any] = json.loads((call.folder / "outcome.json").read_text())
    return outcome


def kill(call: Call) -> None:
    os.kill(call.child.pid, signal.SIGKILL)
    call.child.communicate(timeout=60)
    assert call.child.returncode == -signal.SIGKILL
