"""``run_project``: an entry point of a project folder run as a tracked run.

A notebook entry point runs as ``run_notebook`` does. A command runs as MLflow's local
backend runs one: its parameters formatted into the command (shell-quoted), parameters
it does not declare appended as ``--key value`` (in a ``canvasback.toml``, so are the
declared ones its command does not name), through ``bash -c`` with the project
folder as working directory, in the current environment (``python`` is this
interpreter), told its run's id, experiment and store (see :mod:`launch`). Exit status
0 ends the run FINISHED, anything else FAILED; the output is kept as the artifact
``project/output.log``.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Final

from canvasback.exceptions import ExecutionException
from canvasback.projects import capture, launch, notebooks, trial_env
from canvasback.projects.params import ParamSpec, param_text, resolve
from canvasback.projects.project_file import EntryPoint, Project, ProjectError, load_project

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback._config import S3Address
    from canvasback.tracking.client import Client
    from canvasback.tracking.run import Run

OUTPUT_ARTIFACT: Final = "project/output.log"
OUTPUT_LIMIT: Final = 8 * 1024 * 1024  # the last 8 MiB of a command's output are kept
_PLACEHOLDER: Final = re.compile(r"\{(\w+)\}")


class ProjectRunWarning(UserWarning):
    """A project's command failed; its run is FAILED with the exit status and output."""


class ProjectRunError(ExecutionException):
    """A project run with ``raise_on_error=True`` failed; ``run`` is the FAILED run."""

    def __init__(self, message: str, run: Run) -> None:
        super().__init__(message)
        self.run = run


def _client(store: str | Path | S3Address | None) -> Client:
    from canvasback.tracking import current  # noqa: PLC0415
    from canvasback.tracking.client import Client  # noqa: PLC0415

    return Client(store) if store is not None else current.client()


def run_project(
    path: str | Path = ".",
    entry_point: str | None = None,
    params: Mapping[str, object] | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    *,
    parent_run_id: str | None = None,
    store: str | Path | S3Address | None = None,
    capture_parts: object = None,
    echo: bool = False,
    timeout: float | None = None,
    raise_on_error: bool = False,
    tags: Mapping[str, str] | None = None,
    trial: Mapping[str, object] | None = None,
) -> Run:
    """Run an entry point (default ``main``) of a ``canvasback.toml`` / ``MLproject`` folder.

    Every check (the folder, the entry point, each parameter and its type) happens
    before anything runs; the run is returned once it has ended. ``echo`` also prints
    a command's output as it comes; ``tags`` are set on the run when it starts.
    ``trial``: the searching sweep's trial the run is (``trial_env.py``): a command its
    pruner stops ends the run KILLED, tagged with the step, rather than FAILED.
    """
    project = load_project(path)
    entry = project.entry_point(entry_point)
    where = f"entry point {entry.name!r} of {project.file or project.root}"
    project_tags = {
        "canvasback.project.path": str(project.root),
        "canvasback.project.entry_point": entry.name,
        "mlflow.project.entryPoint": entry.name,
        "mlflow.project.backend": "local",
        "mlflow.project.env": "local",
        **(tags or {}),
    }
    if entry.notebook is not None:
        return notebooks.run_notebook(
            entry.notebook,
            notebook_values(entry, params, where=where),
            experiment,
            run_name,
            parent_run_id=parent_run_id,
            store=store,
            timeout=timeout,
            capture_parts=capture_parts,
            tags=project_tags,
            raise_on_error=raise_on_error,
            trial=trial,
        )
    values, extra = resolve(entry.params, params, where=where, strict=entry.strict)
    command = command_line(entry, values, extra, where=where)
    parts = capture.current_parts() if capture_parts is None else capture.parse_parts(capture_parts)
    logged = {
        **{k: param_text(v) for k, v in values.items()},
        **{k: str(v) for k, v in extra.items()},
    }
    c = _client(store)
    run = c.create_run(
        launch.experiment_id(c, experiment),
        run_name=run_name,
        parent_run_id=parent_run_id,
        tags={
            **project_tags,
            "canvasback.project.command": command,
            launch.PARAMS_TAG: json.dumps(logged),
        },
        params=logged,
    )
    source = capture.Source("project", str(project.root), command, entry.name)
    capture.capture_run(run, parts, source=source, modules=_script_modules(project, command))
    return _execute(
        c,
        run,
        project,
        command,
        echo=echo,
        timeout=timeout,
        raise_on_error=raise_on_error,
        trial=trial,
    )


def notebook_values(
    entry: EntryPoint, params: Mapping[str, object] | None, *, where: str
) -> dict[str, object]:
    """A notebook entry point's values: its typed parameters, then any the notebook declares."""
    values, _ = resolve(entry.params, params, where=where, strict=False)
    rest = {k: v for k, v in (params or {}).items() if k not in entry.params}
    return {**{k: v for k, v in values.items() if v is not None}, **rest}


def command_line(
    entry: EntryPoint, values: Mapping[str, object], extra: Mapping[str, object], *, where: str
) -> str:
    """The shell command of an entry point for these parameter values (MLflow's rule)."""
    assert entry.command is not None  # noqa: S101  # a notebook entry point has no command
    named = set(_PLACEHOLDER.findall(entry.command))
    unknown = sorted(named - set(values))
    if unknown:
        msg = (
            f"The command of {where} names {{{unknown[0]}}}, which is not one of its "
            f"parameters ({', '.join(sorted(values)) or 'none'})"
        )
        raise ProjectError(msg)
    quoted = {k: shlex.quote(param_text(v)) for k, v in values.items()}
    command = _PLACEHOLDER.sub(lambda m: quoted[m.group(1)], entry.command)
    appended = {k: param_text(v) for k, v in extra.items()}
    if not entry.strict and not entry.params:  # a bare script: every parameter is a flag
        appended = {**{k: param_text(v) for k, v in values.items()}, **appended}
    elif entry.strict:  # canvasback.toml: a declared parameter the command does not name
        appended = {k: param_text(v) for k, v in values.items() if k not in named}
    flags = [f"--{key} {shlex.quote(value)}" for key, value in appended.items()]
    return " ".join([command, *flags])


def _script_modules(project: Project, command: str) -> set[str] | None:
    """What ``python <script>.py`` imports, read from the script (None: not a script)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if len(words) < 2 or Path(words[0]).name not in ("python", "python3"):  # noqa: PLR2004
        return None
    script = project.root / words[1]
    if script.suffix != ".py" or not script.is_file():
        return None
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return None
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.partition(".")[0])
    return found


def _execute(
    c: Client,
    run: Run,
    project: Project,
    command: str,
    *,
    echo: bool,
    timeout: float | None,
    raise_on_error: bool,
    trial: Mapping[str, object] | None = None,
) -> Run:
    c.flush()  # the command resumes the run at once: its row must be on disk
    shell = shutil.which("bash") or "/bin/sh"
    output = bytearray()
    try:
        with subprocess.Popen(  # noqa: S603  # the project's own command, as MLflow runs it
            [shell, "-c", command],
            cwd=project.root,
            env=launch.run_environment(run, trial=trial),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ) as proc:
            assert proc.stdout is not None  # noqa: S101  # stdout=PIPE
            for line in proc.stdout:
                output += line
                if len(output) > OUTPUT_LIMIT:
                    del output[: len(output) - OUTPUT_LIMIT]
                if echo:
                    sys.stdout.write(line.decode(errors="replace"))
                    sys.stdout.flush()
            code = proc.wait(timeout=timeout)
    except KeyboardInterrupt:
        run.end("KILLED")
        raise
    run.log_text(output.decode(errors="replace"), OUTPUT_ARTIFACT)
    run.set_tag("canvasback.project.exit_code", str(code))
    if code != 0 and trial and trial_env.PRUNED_TAG in c.get_run(run.run_id).data.tags:
        run.end("KILLED")  # its trial's pruner stopped it (the command tagged the step)
        c.flush()
        return c.get_run(run.run_id)
    if code != 0:
        tail = output.decode(errors="replace").strip().splitlines()[-1:] or [""]
        run.set_tag("canvasback.project.error", f"exit status {code}: {tail[0]}"[:8000])
    run.end("FINISHED" if code == 0 else "FAILED")
    c.flush()
    ended = c.get_run(run.run_id)
    if code != 0:
        message = (
            f"Command {command!r} of {project.name} exited with status {code} (run {run.run_id})"
        )
        if raise_on_error:
            raise ProjectRunError(message, ended)
        warnings.warn(message, ProjectRunWarning, stacklevel=3)
    return ended


def run_target(
    target: str | Path,
    entry_point: str | None = None,
    params: Mapping[str, object] | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    **options: object,
) -> Run:
    """A notebook (``.ipynb``) through ``run_notebook``, anything else ``run_project``."""
    if str(target).endswith(".ipynb"):
        if entry_point is not None:
            msg = f"A notebook ({target}) has no entry points; -e {entry_point!r} names one"
            raise ProjectError(msg)
        return notebooks.run_notebook(target, params, experiment, run_name, **options)  # type: ignore[arg-type]
    return run_project(target, entry_point, params, experiment, run_name, **options)  # type: ignore[arg-type]


def check_target(
    target: str | Path, entry_point: str | None, params: Mapping[str, object] | None
) -> dict[str, ParamSpec]:
    """Check a launch without running it; the declared parameters (for sweeps)."""
    if str(target).endswith(".ipynb"):
        notebook = notebooks.check_notebook(target)
        nb = notebooks.read_notebook(notebook)
        notebooks.resolve_params(notebook, nb, params)
        return notebooks.parameters_of(nb).specs
    project = load_project(target)
    entry = project.entry_point(entry_point)
    where = f"entry point {entry.name!r} of {project.file or project.root}"
    if entry.notebook is not None:
        notebook = notebooks.check_notebook(entry.notebook)
        nb = notebooks.read_notebook(notebook)
        notebooks.resolve_params(notebook, nb, notebook_values(entry, params, where=where))
        return {**notebooks.parameters_of(nb).specs, **entry.params}
    values, extra = resolve(entry.params, params, where=where, strict=entry.strict)
    command_line(entry, values, extra, where=where)
    return dict(entry.params)
