"""MLflow's ``mlflow.run`` / ``mlflow.projects.run``, for code written against MLflow.

``import canvasback as mlflow; mlflow.projects.run(".", parameters={...})`` runs the
entry point with :func:`~canvasback.projects.runner.run_project` and returns a
``SubmittedRun`` as MLflow's local backend does once the run has ended (a failed run
raises ``ExecutionException``). Only what runs here is accepted: a local folder, the
local backend, the current environment, synchronously; anything else is refused before
anything runs, naming the argument.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from canvasback.exceptions import ExecutionException
from canvasback.projects import runner
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.tracking.run import Run


class SubmittedRun:
    """A project run that has ended (MLflow's ``SubmittedRun``): its id and status."""

    def __init__(self, run: Run) -> None:
        self.run_id = run.run_id
        self._status = run.info.status

    def wait(self) -> bool:
        """Whether the run FINISHED (it has already ended)."""
        return self._status == "FINISHED"

    def get_status(self) -> str:
        """The run's final status."""
        return self._status

    def cancel(self) -> None:
        """Nothing to cancel: the run has ended."""

    def __repr__(self) -> str:
        return f"<SubmittedRun {self.run_id} ({self._status})>"


def _refuse(name: str, value: object, allowed: str) -> None:
    msg = f"Invalid {name} {value!r}: canvasback runs projects {allowed}"
    raise InvalidInputError(msg)


def run(
    uri: str,
    entry_point: str = "main",
    version: str | None = None,
    parameters: Mapping[str, object] | None = None,
    docker_args: Mapping[str, object] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    backend: str = "local",
    backend_config: object = None,
    storage_dir: str | None = None,
    synchronous: bool = True,
    run_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
) -> SubmittedRun:
    """Run a project's entry point as MLflow's ``mlflow.projects.run`` does, locally."""
    scheme = urlparse(str(uri)).scheme
    if scheme not in ("", "file") and len(scheme) > 1:
        _refuse("uri", uri, "from a local folder (clone a git repository first)")
    for name, value in (("version", version), ("docker_args", docker_args), ("run_id", run_id)):
        if value:
            _refuse(name, value, "from the folder as it is, in a new run, without docker")
    if backend != "local":
        _refuse("backend", backend, "on the local backend (sweep(executor=) for a cluster)")
    if env_manager not in (None, "local"):
        _refuse("env_manager", env_manager, "in the current environment (env_manager='local')")
    if not synchronous:
        _refuse("synchronous", synchronous, "synchronously (sweep() runs several at once)")
    del backend_config, storage_dir  # nothing to configure for the local backend
    experiment = experiment_name
    if experiment is None and experiment_id is not None:
        experiment = runner._client(None).get_experiment(str(experiment_id)).name  # noqa: SLF001
    path = urlparse(str(uri)).path if scheme == "file" else str(uri)
    try:
        ended = runner.run_project(
            path, entry_point, parameters, experiment, run_name, echo=True, raise_on_error=True
        )
    except runner.ProjectRunError as exc:
        msg = f"Run (ID '{exc.run.run_id}') failed: {exc}"
        raise ExecutionException(msg) from exc
    return SubmittedRun(ended)
