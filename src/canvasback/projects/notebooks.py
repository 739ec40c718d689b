"""Notebooks run as tracked runs: parameters injected, executed in a fresh kernel.

papermill's convention: the cell tagged ``parameters`` declares the notebook's
parameters with their defaults; the values given are written into a new cell, tagged
``injected-parameters``, right after it. The notebook then runs top to bottom in a new
kernel (nbclient), told its run's id and store through the environment, so whatever it
logs itself goes into the same run. Every check (the notebook exists, each parameter is
declared, each value reads as its default's type) happens before anything runs.

The executed notebook is signed with the user's notebook notary, as ``jupyter trust``
does, so that JupyterLab opens it trusted, with its charts (it sanitizes an untrusted
notebook's HTML down to text and tables). Only outputs this run produced are vouched
for: a notebook is signed when every code cell with outputs ran in its kernel.
``CANVASBACK_SIGN_NOTEBOOKS=0`` (or ``off``, ``false``, ``no``) leaves it unsigned.
"""

from __future__ import annotations

import ast
import atexit
import copy
import dataclasses
import json
import logging
import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from canvasback.exceptions import ExecutionException
from canvasback.projects import capture, launch, trial_env
from canvasback.projects.params import ParamError, ParamSpec, param_text, resolve, type_of_default

if TYPE_CHECKING:
    from collections.abc import Mapping

    import nbformat

    from canvasback._config import S3Address
    from canvasback.tracking.client import Client
    from canvasback.tracking.run import Run

_LOG = logging.getLogger(__name__)

PARAMETERS_TAG: Final = "parameters"
INJECTED_TAG: Final = "injected-parameters"
EXECUTED_ARTIFACT: Final = "notebook"
ERROR_ARTIFACT: Final = "notebook/error.txt"
SIGN_ENV: Final = "CANVASBACK_SIGN_NOTEBOOKS"
_OFF: Final = frozenset({"0", "false", "no", "off"})
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Run in the kernel after the last cell: what it logged is on disk before it is shut down.
_FLUSH_CELL: Final = (
    "import sys as _canvasback_sys\n"
    "if 'canvasback' in _canvasback_sys.modules:\n"
    "    _canvasback_sys.modules['canvasback'].flush()\n"
)


class NotebookRunWarning(UserWarning):
    """A notebook run by ``run_notebook`` failed; its run is FAILED and says where."""


@dataclass(frozen=True)
class CellFailure:
    """The cell that stopped a notebook, and why."""

    cell_index: int
    ename: str
    evalue: str
    traceback: str

    def summary(self) -> str:
        """One line: the cell and the exception."""
        return f"cell {self.cell_index}: {self.ename}: {self.evalue}"


@dataclass(frozen=True)
class Execution:
    """A notebook as its kernel left it, the failure that stopped it, the cells it ran."""

    notebook: nbformat.NotebookNode
    failure: CellFailure | None
    ran: frozenset[int]
    """Indices of the code cells the kernel executed (not those nbclient skips)."""

    def outputs_are_its_own(self) -> bool:
        """Whether every output came from this execution (none kept from the file)."""
        return all(
            index in self.ran
            for index, cell in enumerate(self.notebook.cells)
            if cell.cell_type == "code" and cell.get("outputs")
        )


@dataclass(frozen=True)
class NotebookParameters:
    """A notebook's ``parameters`` cell: where it is, and what it declares."""

    cell_index: int | None
    specs: dict[str, ParamSpec]
    sources: dict[str, str]
    """Each default as written (a default that is not a literal is logged as its code)."""


def check_notebook(path: str | Path) -> Path:
    """The notebook's absolute path; an error names what is missing and what is there."""
    target = Path(path).expanduser().absolute()
    if target.is_file() and target.suffix == ".ipynb":
        return target
    folder = target.parent
    near = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
    there = f"; notebooks in {folder}: {', '.join(near)}" if near else ""
    what = "is not a notebook (.ipynb)" if target.exists() else "does not exist"
    msg = f"Notebook {str(target)!r} {what}{there}"
    raise FileNotFoundError(msg)


def _nbformat() -> Any:  # noqa: ANN401  # nbformat's functions are untyped
    """nbformat, loaded when a notebook is first read (not at ``import canvasback``)."""
    import nbformat  # noqa: PLC0415

    return nbformat


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook as nbformat reads it (version 4)."""
    node: nbformat.NotebookNode = _nbformat().read(path, as_version=4)
    return node


def parameters_of(nb: nbformat.NotebookNode) -> NotebookParameters:
    """The declarations of the first cell tagged ``parameters`` (none: no cell)."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            specs, sources = _declarations(_python(cell.source))
            return NotebookParameters(index, specs, sources)
    return NotebookParameters(None, {}, {})


def _python(source: str) -> str:
    # IPython magics and shell escapes are not Python; they declare nothing.
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def _declarations(source: str) -> tuple[dict[str, ParamSpec], dict[str, str]]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}, {}
    specs: dict[str, ParamSpec] = {}
    sources: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            value = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            targets, value = [node.target.id], node.value
        else:
            continue
        text = ast.get_source_segment(source, value) or ""
        try:
            default: Any = ast.literal_eval(value)
            kind = type_of_default(default)
        except ValueError:  # an expression: any literal may replace it
            default, kind = None, "literal"
        for name in targets:
            specs[name] = ParamSpec(name, kind, default, has_default=True)
            sources[name] = text
    return specs, sources


def resolve_params(
    path: Path, nb: nbformat.NotebookNode, params: Mapping[str, object] | None
) -> tuple[dict[str, object], dict[str, str]]:
    """(values to inject, every parameter as the run's param text); errors first."""
    declared = parameters_of(nb)
    where = f"notebook {path.name}"
    if params and declared.cell_index is None:
        msg = (
            f"Notebook {str(path)!r} has no cell tagged {PARAMETERS_TAG!r}, so it takes no "
            f"parameters (given: {', '.join(map(str, params))}). Tag the cell that sets "
            "its defaults 'parameters' (View > Cell Toolbar > Tags in Jupyter)."
        )
        raise ParamError(msg)
    values, _ = resolve(declared.specs, params, where=where, strict=True)
    given = {k: values[k] for k in params or {}}
    logged = {
        name: param_text(values[name])
        if name in given or declared.specs[name].type != "literal"
        else declared.sources[name]
        for name in declared.specs
    }
    return given, logged


def launch_values(nb: nbformat.NotebookNode, logged: Mapping[str, str]) -> dict[str, str]:
    """The params to give the notebook to run it the same way again (not code defaults)."""
    specs = parameters_of(nb)
    return {
        k: v
        for k, v in logged.items()
        if specs.specs[k].type != "literal" or v != specs.sources.get(k)
    }


def inject(nb: nbformat.NotebookNode, values: Mapping[str, object]) -> nbformat.NotebookNode:
    """A copy of the notebook with an ``injected-parameters`` cell after ``parameters``."""
    out = copy.deepcopy(nb)
    out.cells = [c for c in out.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    if not values:
        return out
    lines = ["# Parameters", *(f"{name} = {_literal(value)}" for name, value in values.items())]
    cell = _nbformat().v4.new_code_cell("\n".join(lines) + "\n")
    cell.metadata["tags"] = [INJECTED_TAG]
    index = parameters_of(out).cell_index
    out.cells.insert(0 if index is None else index + 1, cell)
    return out


def _literal(value: object) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


def imported_modules(nb: nbformat.NotebookNode) -> set[str]:
    """Top-level modules the notebook's code cells import (for library versions)."""
    found: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_python(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.partition(".")[0])
    return found


def run_notebook(
    path: str | Path,
    params: Mapping[str, object] | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    *,
    parent_run_id: str | None = None,
    store: str | Path | S3Address | None = None,
    kernel_name: str | None = None,
    timeout: float | None = None,
    capture_parts: object = None,
    tags: Mapping[str, object] | None = None,
    raise_on_error: bool = False,
    trial: Mapping[str, object] | None = None,
) -> Run:
    """Run a notebook as a tracked run: inject ``params``, execute it, log it; the run.

    The notebook runs in a fresh kernel with its folder as working directory. The run
    gets the params (every declared one, with its value), the executed notebook as the
    artifact ``notebook/<name>``, the code and environment capture, and whatever the
    notebook logs itself. A failing cell makes the run FAILED, with the cell's index
    and error in the tags ``canvasback.notebook.failed_cell`` / ``.error`` and its
    traceback in ``notebook/error.txt``; a :class:`NotebookRunWarning` says so (with
    ``raise_on_error=True``, a :class:`NotebookRunError` is raised instead). The executed
    notebook is signed with the user's notebook notary (see the module's docstring), so
    that JupyterLab opens it trusted; ``CANVASBACK_SIGN_NOTEBOOKS=0`` leaves it unsigned.

    ``trial``: the searching sweep's trial the run is (``trial_env.py``): a cell its
    pruner stops ends the run KILLED, tagged with the step, rather than FAILED.
    """
    from canvasback.tracking import current  # noqa: PLC0415  # fluent state, read at call time
    from canvasback.tracking.client import Client  # noqa: PLC0415

    notebook = check_notebook(path)
    nb = read_notebook(notebook)
    values, logged = resolve_params(notebook, nb, params)
    parts = capture.current_parts() if capture_parts is None else capture.parse_parts(capture_parts)
    c = Client(store) if store is not None else current.client()
    experiment_id = launch.experiment_id(c, experiment)
    run = c.create_run(
        experiment_id,
        run_name=run_name,
        parent_run_id=parent_run_id,
        tags={
            "canvasback.notebook.path": str(notebook),
            launch.PARAMS_TAG: json.dumps(launch_values(nb, logged)),
            **(tags or {}),
        },
        params=logged,
    )
    source = capture.Source("notebook", str(notebook))
    capture.capture_run(run, parts, source=source, modules=imported_modules(nb))
    return finish_notebook_run(
        c, run, notebook, inject(nb, values), kernel_name, timeout, raise_on_error, trial
    )


def finish_notebook_run(
    c: Client,
    run: Run,
    notebook: Path,
    nb: nbformat.NotebookNode,
    kernel_name: str | None,
    timeout: float | None,
    raise_on_error: bool,
    trial: Mapping[str, object] | None = None,
) -> Run:
    """Execute a prepared notebook for ``run``, log the outcome, end the run."""
    c.flush()  # the kernel resumes the run at once: its row must be on disk
    env = launch.run_environment(run, {"JPY_SESSION_NAME": str(notebook)}, trial)
    failure: CellFailure | None = None
    status = "FINISHED"
    signable = False
    try:
        execution = execute(nb, notebook.parent, env, kernel_name, timeout)
        executed, failure = execution.notebook, execution.failure
        signable = execution.outputs_are_its_own()
    except KeyboardInterrupt:
        run.end("KILLED")
        raise
    except Exception as exc:  # noqa: BLE001  # a kernel that died or never started: the run says why
        executed = nb
        detail = "\n\n".join([str(exc), *getattr(exc, "__notes__", ())])
        failure = CellFailure(-1, type(exc).__name__, str(exc), detail)
    text = _nbformat().writes(executed)
    if signable and signing_on():
        sign_notebook(text)
    run.log_text(text, f"{EXECUTED_ARTIFACT}/{notebook.name}")
    if failure is not None and trial and failure.ename == trial_env.PRUNED_ERROR:
        status = "KILLED"  # its trial's pruner stopped it (the kernel tagged the step)
        failure = None
    if failure is not None:
        status = "FAILED"
        failure = _as_written(nb, failure)
        run.set_tags(
            {
                "canvasback.notebook.failed_cell": str(failure.cell_index),
                "canvasback.notebook.error": f"{failure.ename}: {failure.evalue}"[:8000],
            }
        )
        run.log_text(_ANSI.sub("", failure.traceback), ERROR_ARTIFACT)
    run.end(status)
    c.flush()
    ended = c.get_run(run.run_id)
    if failure is not None:
        message = f"Notebook {notebook.name} failed in {failure.summary()} (run {run.run_id})"
        if raise_on_error:
            raise NotebookRunError(message, ended, failure)
        warnings.warn(message, NotebookRunWarning, stacklevel=3)
    return ended


def signing_on() -> bool:
    """Whether executed notebooks are signed: unless ``CANVASBACK_SIGN_NOTEBOOKS`` is off."""
    return os.environ.get(SIGN_ENV, "").strip().lower() not in _OFF


def sign_notebook(text: str) -> bool:
    """Trust the notebook ``text`` in this user's Jupyter, as ``jupyter trust`` does.

    The signature goes into the notary's database in the Jupyter data directory
    (``jupyter --data-dir``, or ``JUPYTER_DATA_DIR``), not into the notebook; JupyterLab
    checks it there when it opens a notebook with this content. False, and a logged
    warning, when it cannot be stored (the run goes on regardless).
    """
    from jupyter_core.paths import jupyter_data_dir  # noqa: PLC0415
    from nbformat.sign import NotebookNotary  # noqa: PLC0415

    try:
        data_dir = Path(jupyter_data_dir())
        data_dir.mkdir(parents=True, exist_ok=True)  # a machine where Jupyter never ran
        notary = NotebookNotary(data_dir=str(data_dir))  # type: ignore[no-untyped-call]
        try:
            notary.sign(_nbformat().reads(text, as_version=4))  # type: ignore[no-untyped-call]
        finally:
            notary.store.close()
    except Exception:  # noqa: BLE001  # an unwritable data directory must not fail the run
        _LOG.warning("canvasback: could not sign the executed notebook", exc_info=True)
        return False
    return True


def _as_written(nb: nbformat.NotebookNode, failure: CellFailure) -> CellFailure:
    """The failing cell's index in the notebook as written (without the injected cell)."""
    injected = [
        i for i, c in enumerate(nb.cells) if INJECTED_TAG in c.get("metadata", {}).get("tags", [])
    ]
    if injected and failure.cell_index > injected[0]:
        return dataclasses.replace(failure, cell_index=failure.cell_index - 1)
    return failure


class NotebookRunError(ExecutionException):
    """A notebook run with ``raise_on_error=True`` failed; ``run`` and ``failure`` say how."""

    def __init__(self, message: str, run: Run, failure: CellFailure) -> None:
        super().__init__(message)
        self.run = run
        self.failure = failure


def execute(
    nb: nbformat.NotebookNode,
    cwd: Path,
    env: dict[str, str],
    kernel_name: str | None,
    timeout: float | None,
) -> Execution:
    """Run every cell in a new kernel: the executed notebook, any failure, the cells run."""
    from nbclient import NotebookClient  # noqa: PLC0415
    from nbclient.util import run_sync  # noqa: PLC0415

    ran: set[int] = set()

    def executing(*, cell_index: int, **_: object) -> None:  # called just before a cell runs
        ran.add(cell_index)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name or "",
        resources={"metadata": {"path": str(cwd)}},
        on_cell_execute=executing,
    )
    # The kernel's own stderr is its log (a warning that it talks over TCP, an interrupt
    # caught at shutdown), never a cell's output (ipykernel sends that to the notebook):
    # kept out of the caller's terminal, and told only when the kernel died or never
    # started, where its last lines say why.
    with tempfile.TemporaryFile() as kernel_log:
        try:
            executed, failure = run_sync(_execute)(client, env, kernel_log)
        except Exception as exc:
            # nbclient cleans up a kernel that died starting, but leaves its exit hook
            # registered, which then fails at interpreter exit: nothing is left to clean.
            atexit.unregister(client._cleanup_kernel)  # noqa: SLF001
            said = _last_lines(kernel_log)
            if said:
                exc.add_note(f"The kernel's log ended with:\n{said}")
            raise
    return Execution(executed, failure, frozenset(ran))


def _last_lines(log: IO[bytes], limit: int = 4000) -> str:
    """The end of a kernel's log, as text."""
    log.seek(0, os.SEEK_END)
    log.seek(max(0, log.tell() - limit))
    return log.read().decode("utf-8", "replace").strip()


async def _execute(
    client: Any,  # noqa: ANN401  # an nbclient NotebookClient
    env: dict[str, str],
    kernel_log: IO[bytes],
) -> tuple[Any, CellFailure | None]:
    from nbclient.exceptions import CellExecutionError  # noqa: PLC0415
    from nbclient.util import ensure_async  # noqa: PLC0415

    failure: CellFailure | None = None
    async with client.async_setup_kernel(env=env, stderr=kernel_log):
        reply = await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
        if reply is not None and "language_info" in reply["content"]:
            client.nb.metadata["language_info"] = reply["content"]["language_info"]
        for index, cell in enumerate(client.nb.cells):
            try:
                await client.async_execute_cell(
                    cell, index, execution_count=client.code_cells_executed + 1
                )
            except CellExecutionError as exc:
                failure = CellFailure(index, exc.ename, exc.evalue, exc.traceback)
                break
        msg_id = await ensure_async(
            client.kc.execute(_FLUSH_CELL, silent=True, store_history=False)
        )
        await client.async_wait_for_reply(msg_id)
    return client.nb, failure
